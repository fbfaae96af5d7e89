package main

import (
	"testing"
	"time"
)

// Two users chat in a room; both see both messages with the same sequences.
func TestTwoUsersChat(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 20*time.Second)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")
	alice.join(ctx, "lobby", -1, "")
	bob.join(ctx, "lobby", -1, "")

	a1 := alice.send(ctx, "lobby", "a1", "hello bob")
	b1 := bob.send(ctx, "lobby", "b1", "hi alice")
	if a1.Seq == 0 || b1.Seq <= a1.Seq {
		t.Fatalf("acks out of order: %d then %d", a1.Seq, b1.Seq)
	}
	am, bm := alice.messages(ctx, "lobby", 2), bob.messages(ctx, "lobby", 2)
	want := []struct {
		seq        uint64
		from, text string
	}{{a1.Seq, "alice", "hello bob"}, {b1.Seq, "bob", "hi alice"}}
	for i, w := range want {
		for who, got := range map[string]uint64{"alice": am[i].Seq, "bob": bm[i].Seq} {
			if got != w.seq {
				t.Errorf("%s saw message %d with seq %d, want %d", who, i, got, w.seq)
			}
		}
		if am[i].From != w.from || am[i].Text != w.text || bm[i].From != w.from || bm[i].Text != w.text {
			t.Errorf("message %d: alice saw %+v, bob saw %+v", i, am[i], bm[i])
		}
	}
	if bm[1].Prev != a1.Seq {
		t.Errorf("second message prev = %d, want %d", bm[1].Prev, a1.Seq)
	}
}
