package broker

import (
	"strings"
	"testing"

	"github.com/natter-chat/natter"
)

// Room ids reach NATS subjects verbatim; validation is what keeps each one a
// single literal token.
func TestSubjectsOfValidRooms(t *testing.T) {
	for _, r := range []natter.RoomID{"a", "general", "A-b_9", natter.DMRoom("alice", "bob"), natter.RoomID(strings.Repeat("x", natter.MaxIDLen))} {
		if err := r.Validate(); err != nil {
			t.Fatalf("%q: %v", r, err)
		}
		subj := roomSubject(r)
		tokens := strings.Split(subj, ".")
		if len(tokens) != 3 || tokens[2] != string(r) {
			t.Errorf("roomSubject(%q) = %q: %d tokens", r, subj, len(tokens))
		}
		for _, tok := range tokens {
			if tok == "*" || tok == ">" || tok == "" {
				t.Errorf("roomSubject(%q) = %q has a wildcard or empty token", r, subj)
			}
		}
		if got := roomFromSubject(subj); got != r {
			t.Errorf("roomFromSubject(%q) = %q, want %q", subj, got, r)
		}
		if ev := eventSubject(r); len(strings.Split(ev, ".")) != 4 || !strings.HasSuffix(ev, eventSuffix) {
			t.Errorf("eventSubject(%q) = %q", r, ev)
		}
		// The live subscription covers messages and events of r only.
		if live := liveSubject(r); live != livePrefix+string(r)+".*" {
			t.Errorf("liveSubject(%q) = %q", r, live)
		}
	}
}

func TestInvalidRoomIDs(t *testing.T) {
	for _, r := range []natter.RoomID{"", "a.b", "*", ">", "a*", "a>", "a b", "a\tb", "a/b", "ü", natter.RoomID(strings.Repeat("x", natter.MaxIDLen+1))} {
		if err := r.Validate(); natter.ErrorCode(err) != natter.EINVALID {
			t.Errorf("RoomID(%q).Validate() = %v, want %s", r, err, natter.EINVALID)
		}
	}
}

func TestRoomFromSubject(t *testing.T) {
	for subj, want := range map[string]natter.RoomID{
		"natter.room.general": "general",
		"natter.room.":        "",
		"natter":              "",
		"":                    "",
	} {
		if got := roomFromSubject(subj); got != want {
			t.Errorf("roomFromSubject(%q) = %q, want %q", subj, got, want)
		}
	}
}
