package natter

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// RoomID names a room. It is used verbatim as one token of a NATS subject
// (natter.room.<id>), so validation is what keeps a client from injecting
// subject tokens or wildcards: only [A-Za-z0-9_-], 1 to 64 bytes.
type RoomID string

// UserID names a user; same alphabet and length as RoomID, for the same
// reason (it appears in KV keys and message-id prefixes).
type UserID string

// MaxIDLen is the longest room or user id accepted.
const MaxIDLen = 64

// dmPrefix starts every direct-message room id; ordinary rooms may not use it,
// so nobody can create a room that collides with a DM.
const dmPrefix = "dm-"

func validID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// Validate reports whether r is a well-formed room id.
func (r RoomID) Validate() error {
	if !validID(string(r)) {
		return Errorf(EINVALID, "room id must be 1-64 characters of A-Z a-z 0-9 _ -")
	}
	return nil
}

// IsDM reports whether r is a direct-message room id.
func (r RoomID) IsDM() bool { return strings.HasPrefix(string(r), dmPrefix) }

// Validate reports whether u is a well-formed user id.
func (u UserID) Validate() error {
	if !validID(string(u)) {
		return Errorf(EINVALID, "user id must be 1-64 characters of A-Z a-z 0-9 _ -")
	}
	return nil
}

// DMRoom returns the canonical room id of the direct conversation between a
// and b: the same for (a, b) and (b, a). The ids are hashed rather than
// concatenated because '_' and '-' may occur in user ids, which would make a
// plain join ambiguous ("a_b"+"c" vs "a"+"b_c").
func DMRoom(a, b UserID) RoomID {
	if b < a {
		a, b = b, a
	}
	sum := sha256.Sum256([]byte(string(a) + "\x00" + string(b)))
	return RoomID(dmPrefix + hex.EncodeToString(sum[:16]))
}
