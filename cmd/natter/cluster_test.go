package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// Two processes' worth of Natter on one NATS: a serve node exposing its
// embedded server and an edge node connected to it. Users on different
// edges chat with the same sequences, see each other's presence and typing,
// and the presence of an edge that vanished without a word expires.
func TestTwoEdgesShareRooms(t *testing.T) {
	const interval = 200 * time.Millisecond
	s1 := startServer(t, "", func(m *Main) { m.NATSListen = "127.0.0.1:-1"; m.Presence = interval })
	s2 := startEdge(t, s1, func(m *Main) { m.Presence = interval })
	ctx := ctxFor(t, 30*time.Second)

	alice, bob := s1.connect(ctx, "alice"), s2.connect(ctx, "bob")
	alice.join(ctx, "x", -1, "")
	waitPresence(t, ctx, alice, "bob", "online", func() { bob.join(ctx, "x", -1, "") })

	a := alice.send(ctx, "x", "a1", "from edge 1")
	b := bob.send(ctx, "x", "b1", "from edge 2")
	for _, c := range []*tclient{alice, bob} {
		got := c.messages(ctx, "x", 2)
		if got[0].Seq != a.Seq || got[1].Seq != b.Seq || got[1].Prev != a.Seq {
			t.Fatalf("%s saw %d,%d (prev %d); acks were %d,%d", c.user, got[0].Seq, got[1].Seq, got[1].Prev, a.Seq, b.Seq)
		}
	}
	if err := bob.Send(map[string]any{"op": "typing", "room": "x"}); err != nil {
		t.Fatal(err)
	}
	if ev, err := alice.Expect(ctx, "typing"); err != nil || ev.User != "bob" {
		t.Fatalf("typing across edges: %+v %v", ev, err)
	}
	// A late joiner on edge 2 gets edge 1's users in its snapshot.
	carol := s2.connect(ctx, "carol")
	waitFor(t, ctx, func() bool {
		j := carol.join(ctx, "x", -1, "")
		return len(j.Online) == 3
	})

	// An edge that dies says nothing: announce a user from an edge that
	// then falls silent, and watch it expire.
	ghost, _ := json.Marshal(map[string]any{"type": "presence_sync", "room": "x", "edge": "ghost-edge", "users": []string{"ghost"}})
	waitPresence(t, ctx, alice, "ghost", "online", func() {
		if err := s1.m.broker.PublishEvent("x", ghost); err != nil {
			t.Fatal(err)
		}
	})
	waitPresence(t, ctx, alice, "ghost", "offline", func() {})
}

// waitPresence runs act, then waits until c sees user's presence become status.
func waitPresence(t *testing.T, ctx context.Context, c *tclient, user, status string, act func()) {
	t.Helper()
	act()
	for {
		ev, err := c.Expect(ctx, "presence")
		if err != nil {
			t.Fatalf("%s waiting for %s %s: %v", c.user, user, status, err)
		}
		if ev.User == user && ev.Status == status {
			return
		}
	}
}
