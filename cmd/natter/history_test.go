package main

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/edge/wsclient"
)

type page struct {
	Room     string
	Messages []wsclient.Event
	HasMore  bool `json:"has_more"`
}

// History pages over HTTP match what was delivered live, and walking with
// before/after covers the room without gap or overlap.
func TestHistoryMatchesLive(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Rate, m.Burst = 10000, 10000 })
	ctx := ctxFor(t, 30*time.Second)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")
	alice.join(ctx, "hist", -1, "")
	bob.join(ctx, "hist", -1, "")
	alice.join(ctx, "other", -1, "") // interleaved traffic makes seqs non-contiguous
	const n = 137
	for i := 0; i < n; i++ {
		alice.send(ctx, "hist", cid("h", i), fmt.Sprint("history ", i))
		if i%3 == 0 {
			alice.send(ctx, "other", cid("o", i), "noise")
		}
	}
	live := bob.messages(ctx, "hist", n)

	var all page
	waitFor(t, ctx, func() bool {
		s.getJSON(ctx, "bob", fmt.Sprintf("/api/rooms/hist/messages?after=0&limit=200"), &all)
		return len(all.Messages) == n
	})

	// Backwards from the end in pages of 20, then forwards from the start.
	var back []wsclient.Event
	before := uint64(1 << 62)
	for {
		var p page
		if code := s.getJSON(ctx, "bob", fmt.Sprintf("/api/rooms/hist/messages?before=%d&limit=20", before), &p); code != 200 {
			t.Fatalf("status %d", code)
		}
		back = append(slices.Clone(p.Messages), back...)
		if !p.HasMore {
			break
		}
		before = p.Messages[0].Seq
	}
	var fwd []wsclient.Event
	after := uint64(0)
	for {
		var p page
		s.getJSON(ctx, "bob", fmt.Sprintf("/api/rooms/hist/messages?after=%d&limit=20", after), &p)
		fwd = append(fwd, p.Messages...)
		if !p.HasMore {
			break
		}
		after = p.Messages[len(p.Messages)-1].Seq
	}
	for name, got := range map[string][]wsclient.Event{"backwards": back, "forwards": fwd} {
		if len(got) != n {
			t.Fatalf("%s walk found %d messages, want %d", name, len(got), n)
		}
		for i := range live {
			g, l := got[i], live[i]
			if g.Seq != l.Seq || g.Prev != l.Prev || g.Text != l.Text || g.From != l.From || g.CID != l.CID || !g.TS.Equal(l.TS) {
				t.Fatalf("%s walk, message %d: history %+v, live %+v", name, i, g, l)
			}
		}
	}
}

// Private rooms and DMs: non-members can neither join nor read history; a
// DM is visible to exactly its two users.
func TestAuthorization(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 20*time.Second)
	alice, bob, carol := s.connect(ctx, "alice"), s.connect(ctx, "bob"), s.connect(ctx, "carol")

	alice.request(ctx, map[string]any{"op": "create", "room": "secret", "kind": "private"})
	alice.join(ctx, "secret", -1, "")
	alice.send(ctx, "secret", "s1", "for members only")
	if _, err := bob.Join(ctx, "secret", -1, ""); wsclient.ErrorCode(err) != natter.EFORBIDDEN {
		t.Fatalf("non-member join of private room: %v, want forbidden", err)
	}
	if _, err := bob.Request(ctx, map[string]any{"op": "add", "room": "secret", "user": "carol"}); wsclient.ErrorCode(err) != natter.EFORBIDDEN {
		t.Fatalf("non-owner add: %v, want forbidden", err)
	}
	alice.request(ctx, map[string]any{"op": "add", "room": "secret", "user": "bob"})
	bob.join(ctx, "secret", 0, "")
	if got := bob.messages(ctx, "secret", 1); got[0].Text != "for members only" {
		t.Fatalf("bob after being added got %+v", got[0])
	}

	dm := alice.request(ctx, map[string]any{"op": "dm", "user": "bob"})
	if dm.Room != string(natter.DMRoom("alice", "bob")) {
		t.Fatalf("dm room %q, want %q", dm.Room, natter.DMRoom("alice", "bob"))
	}
	alice.join(ctx, dm.Room, -1, "")
	bob.join(ctx, dm.Room, -1, "")
	alice.send(ctx, dm.Room, "d1", "just us")
	if got := bob.messages(ctx, dm.Room, 1); got[0].Text != "just us" {
		t.Fatalf("bob's DM: %+v", got[0])
	}
	if _, err := carol.Join(ctx, dm.Room, -1, ""); wsclient.ErrorCode(err) != natter.EFORBIDDEN {
		t.Fatalf("carol joining the DM: %v, want forbidden", err)
	}

	for _, room := range []string{"secret", dm.Room} {
		if code := s.getJSON(ctx, "carol", "/api/rooms/"+room+"/messages", nil); code != http.StatusForbidden {
			t.Errorf("carol reading %s history: %d, want 403", room, code)
		}
		if code := s.getJSON(ctx, "", "/api/rooms/"+room+"/messages", nil); code != http.StatusUnauthorized {
			t.Errorf("anonymous reading %s history: %d, want 401", room, code)
		}
	}
	rooms := func(user string) []string {
		var r struct{ Rooms []struct{ ID string } }
		s.getJSON(ctx, user, "/api/rooms", &r)
		var ids []string
		for _, x := range r.Rooms {
			ids = append(ids, x.ID)
		}
		return ids
	}
	for user, want := range map[string]bool{"alice": true, "bob": true, "carol": false} {
		if got := slices.Contains(rooms(user), dm.Room); got != want {
			t.Errorf("%s's room list contains the DM: %v, want %v", user, got, want)
		}
	}
	// Removing bob ends his access and his subscription.
	alice.request(ctx, map[string]any{"op": "remove", "room": "secret", "user": "bob"})
	if _, err := bob.Expect(ctx, "left"); err != nil {
		t.Fatalf("bob was not unsubscribed after removal: %v", err)
	}
	if code := s.getJSON(ctx, "bob", "/api/rooms/secret/messages", nil); code != http.StatusForbidden {
		t.Errorf("removed member reading history: %d, want 403", code)
	}
}

// Unread counts in the rooms list follow the read cursor, and a read
// receipt reaches the other members.
func TestUnreadAndReceipts(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 20*time.Second)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")
	alice.join(ctx, "u", -1, "")
	bob.join(ctx, "u", -1, "")
	var seqs []uint64
	for i := 0; i < 5; i++ {
		seqs = append(seqs, alice.send(ctx, "u", cid("u", i), "hi").Seq)
	}
	unread := func() (n, read uint64) {
		var r struct {
			Rooms []struct {
				ID     string
				Unread uint64
				Read   uint64
			}
		}
		s.getJSON(ctx, "bob", "/api/rooms", &r)
		for _, x := range r.Rooms {
			if x.ID == "u" {
				return x.Unread, x.Read
			}
		}
		t.Fatal("room u missing from bob's rooms")
		return 0, 0
	}
	waitFor(t, ctx, func() bool { n, _ := unread(); return n == 5 })
	bob.request(ctx, map[string]any{"op": "read", "room": "u", "seq": seqs[2]})
	if n, read := unread(); n != 2 || read != seqs[2] {
		t.Fatalf("after reading 3: unread %d read %d, want 2 and %d", n, read, seqs[2])
	}
	r, err := alice.Expect(ctx, "receipt")
	if err != nil || r.User != "bob" || r.Seq != seqs[2] {
		t.Fatalf("alice's receipt: %+v %v", r, err)
	}
	// Cursors never go back.
	bob.request(ctx, map[string]any{"op": "read", "room": "u", "seq": seqs[0]})
	if n, _ := unread(); n != 2 {
		t.Fatalf("read cursor moved back: unread %d", n)
	}
}
