package edge

import (
	"unicode"
	"unicode/utf8"

	"github.com/natter-chat/natter"
)

// mentions returns the users text mentions, in order of first mention,
// distinct, at most natter.MaxMentions: "@name" where name is a valid user
// id, with the '@' at the start of the text or after a character that is
// not a letter, digit or '_' (so "bob@example" mentions no one), and the
// name not running on into a letter or digit outside the id alphabet
// ("@bobé" mentions no one). "@room" stands for the whole room: it becomes
// natter.RoomMention only when roomOK (the sender may notify everyone);
// otherwise it stays plain text, so no user can be mentioned as "room".
//
// It reads text once, left to right, and allocates only its result: the
// text is a client's, up to max_text bytes.
func mentions(text string, roomOK bool) []natter.UserID {
	var out []natter.UserID
	for i := 0; i < len(text) && len(out) < natter.MaxMentions; i++ {
		if text[i] != '@' {
			continue
		}
		if i > 0 {
			if r, _ := utf8.DecodeLastRuneInString(text[:i]); isWord(r) {
				continue
			}
		}
		j := i + 1
		for j < len(text) && isIDByte(text[j]) {
			j++
		}
		name := text[i+1 : j]
		if j < len(text) {
			if r, _ := utf8.DecodeRuneInString(text[j:]); isWord(r) {
				i = j - 1
				continue
			}
		}
		i = j - 1
		var u natter.UserID
		switch {
		case name == "room":
			if !roomOK {
				continue
			}
			u = natter.RoomMention
		case natter.UserID(name).Validate() == nil:
			u = natter.UserID(name)
		default:
			continue
		}
		if !containsUser(out, u) {
			out = append(out, u)
		}
	}
	return out
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// isIDByte is the user id alphabet (natter.UserID.Validate).
func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func containsUser(us []natter.UserID, u natter.UserID) bool {
	for _, v := range us {
		if v == u {
			return true
		}
	}
	return false
}
