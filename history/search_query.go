package history

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/natter-chat/natter"
)

// Search query syntax (docs/HTTP-API.md, "GET /api/search"):
//
//	word        the word, case-insensitively (a whole word; in CJK text,
//	            where words are not separated, anywhere)
//	word*       a word that starts with word
//	"a phrase"  the words in this order, one space apart
//	from:user   messages sent by user
//	in:room     messages in room
//
// Every term must match (AND). Terms of one or two characters (common in
// Chinese, Japanese and Korean) match too: the trigram index needs three,
// so such terms are looked for in a bounded scan (search.go).

// Limits on a query, so that parsing and matching cost little whatever a
// client sends.
const (
	MaxQueryBytes = 512
	MaxQueryTerms = 16
)

// Term is one text condition of a query, folded to lower case.
type Term struct {
	Text   string // at least one rune; a phrase's words joined by one space
	Prefix bool   // word*: the match may end inside a word
}

// ParsedQuery is a search query's conditions.
type ParsedQuery struct {
	Terms []Term
	From  natter.UserID // "" for anyone
	In    natter.RoomID // "" for every room searched
}

// ParseQuery parses the q of GET /api/search. Errors are EINVALID.
func ParseQuery(q string) (ParsedQuery, error) {
	var p ParsedQuery
	if len(q) > MaxQueryBytes {
		return p, natter.Errorf(natter.EINVALID, "query longer than %d bytes", MaxQueryBytes)
	}
	if !utf8.ValidString(q) {
		return p, natter.Errorf(natter.EINVALID, "query is not valid UTF-8")
	}
	if strings.ContainsFunc(q, func(r rune) bool { return unicode.IsControl(r) && !unicode.IsSpace(r) }) {
		return p, natter.Errorf(natter.EINVALID, "query has control characters")
	}
	for rest := q; ; {
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		if rest == "" {
			break
		}
		var tok string
		quoted := rest[0] == '"'
		if quoted {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return p, natter.Errorf(natter.EINVALID, "unterminated phrase")
			}
			tok, rest = rest[1:1+end], rest[2+end:]
		} else {
			end := strings.IndexFunc(rest, unicode.IsSpace)
			if end < 0 {
				end = len(rest)
			}
			tok, rest = rest[:end], rest[end:]
		}
		if !quoted {
			if v, ok := strings.CutPrefix(tok, "from:"); ok {
				if err := setOnce(&p.From, natter.UserID(v), "from:", natter.UserID(v).Validate); err != nil {
					return p, err
				}
				continue
			}
			if v, ok := strings.CutPrefix(tok, "in:"); ok {
				if err := setOnce(&p.In, natter.RoomID(v), "in:", natter.RoomID(v).Validate); err != nil {
					return p, err
				}
				continue
			}
		}
		t := Term{Text: fold(strings.Join(strings.Fields(tok), " "))}
		if !quoted {
			t.Text, t.Prefix = strings.CutSuffix(t.Text, "*")
		}
		if strings.TrimFunc(t.Text, isPunct) == "" {
			if quoted || t.Prefix {
				return p, natter.Errorf(natter.EINVALID, "empty search term")
			}
			continue // stray punctuation: nothing to look for
		}
		if len(p.Terms) == MaxQueryTerms {
			return p, natter.Errorf(natter.EINVALID, "more than %d search terms", MaxQueryTerms)
		}
		p.Terms = append(p.Terms, t)
	}
	return p, nil
}

// setOnce sets *dst to v, which must be valid, unless already set to
// something else.
func setOnce[T ~string](dst *T, v T, what string, validate func() error) error {
	if err := validate(); err != nil {
		return natter.Errorf(natter.EINVALID, "%s%s: %v", what, v, natter.ErrorMessage(err))
	}
	if *dst != "" && *dst != v {
		return natter.Errorf(natter.EINVALID, "%s given twice", what)
	}
	*dst = v
	return nil
}

func isPunct(r rune) bool { return !isWord(r) && !unicode.IsSymbol(r) }

// fold lower-cases s rune by rune, so that rune positions in the folded
// text are those of the original.
func fold(s string) string {
	return strings.Map(unicode.ToLower, s)
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

// isCJK says whether r belongs to a script written without spaces between
// words, where a term matches anywhere.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// match returns the rune ranges [start, end) of text (already folded, as
// runes) where t matches, at most max of them.
func (t Term) match(text []rune, max int) [][2]int {
	term := []rune(t.Text)
	var out [][2]int
	for i := 0; i < len(text) && len(out) < max; i++ {
		j, ok := matchAt(text, i, term)
		if !ok {
			continue
		}
		startOK := i == 0 || !isWord(text[i-1]) || isCJK(text[i-1]) || isCJK(term[0]) || !isWord(term[0])
		endOK := t.Prefix || j == len(text) || !isWord(text[j]) || isCJK(text[j]) ||
			isCJK(term[len(term)-1]) || !isWord(term[len(term)-1])
		if startOK && endOK {
			out = append(out, [2]int{i, j})
			i = j - 1
		}
	}
	return out
}

// matchAt says whether term occurs in text at i, and where it ends there.
func matchAt(text []rune, i int, term []rune) (int, bool) {
	if i+len(term) > len(text) {
		return 0, false
	}
	for k, r := range term {
		if text[i+k] != r {
			return 0, false
		}
	}
	return i + len(term), true
}

// indexTerm is what the trigram index can look for of t: the term itself
// (a phrase as one string) if it has three characters or more.
func (t Term) indexTerm() (string, bool) {
	return t.Text, utf8.RuneCountInString(t.Text) >= 3
}
