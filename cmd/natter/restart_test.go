package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/natter-chat/natter/edge"
)

// Restart the whole server on the same data dir: history, membership and
// cursors survive, clients are told to go away (1001) and resume without loss.
func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, func(m *Main) { m.Rate, m.Burst = 10000, 10000 })
	ctx := ctxFor(t, 60*time.Second)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")
	alice.request(ctx, map[string]any{"op": "create", "room": "club", "kind": "private"})
	alice.request(ctx, map[string]any{"op": "add", "room": "club", "user": "bob"})
	alice.join(ctx, "club", -1, "")
	bob.join(ctx, "club", -1, "")
	var acked []uint64
	for i := 0; i < 30; i++ {
		acked = append(acked, alice.send(ctx, "club", cid("pre", i), fmt.Sprint("pre ", i)).Seq)
	}
	got := bob.messages(ctx, "club", 30)
	bob.request(ctx, map[string]any{"op": "read", "room": "club", "seq": got[9].Seq})
	epoch := got[0].Epoch
	lastSeen := got[len(got)-1].Seq

	s.stop()
	for name, c := range map[string]*tclient{"alice": alice, "bob": bob} {
		cl, err := c.Wait(ctx)
		if err != nil || cl.Code != int(edge.CloseGoingAway) {
			t.Fatalf("%s: close %+v %v, want 1001", name, cl, err)
		}
	}

	s2 := startServer(t, dir, func(m *Main) { m.Rate, m.Burst = 10000, 10000 })
	alice2, bob2 := s2.connect(ctx, "alice"), s2.connect(ctx, "bob")
	// Membership survived: bob may still join the private room; the epoch
	// is unchanged, so his position is valid.
	j := bob2.join(ctx, "club", int64(lastSeen), epoch)
	if j.Reset || j.Epoch != epoch {
		t.Fatalf("after restart joined %+v, want epoch %s without reset", j, epoch)
	}
	alice2.join(ctx, "club", -1, "")
	post := alice2.send(ctx, "club", "post", "after restart")
	if m := bob2.messages(ctx, "club", 1)[0]; m.Seq != post.Seq || m.Prev != lastSeen {
		t.Fatalf("bob resumed with seq %d prev %d, want %d prev %d", m.Seq, m.Prev, post.Seq, lastSeen)
	}
	// A resend of a pre-restart cid is still recognised.
	if again := alice2.send(ctx, "club", cid("pre", 29), "pre 29"); !again.Dup || again.Seq != acked[29] {
		t.Fatalf("resend after restart: %+v, want dup of %d", again, acked[29])
	}
	// History and cursors survived.
	var p page
	waitFor(t, ctx, func() bool {
		s2.getJSON(ctx, "bob", "/api/rooms/club/messages?after=0&limit=100", &p)
		return len(p.Messages) == 31
	})
	for i, seq := range acked {
		if p.Messages[i].Seq != seq {
			t.Fatalf("history message %d has seq %d, want %d", i, p.Messages[i].Seq, seq)
		}
	}
	var r struct {
		Rooms []struct {
			ID     string
			Read   uint64
			Unread int
		}
	}
	if code := s2.getJSON(ctx, "bob", "/api/rooms", &r); code != http.StatusOK || len(r.Rooms) != 1 {
		t.Fatalf("bob's rooms after restart: %d %+v", code, r)
	}
	if r.Rooms[0].Read != got[9].Seq || r.Rooms[0].Unread != 21 {
		t.Fatalf("bob's cursor after restart: %+v, want read %d unread 21", r.Rooms[0], got[9].Seq)
	}
}
