package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/natter-chat/natter/edge/wsclient"
)

// The attack of issue 9 finding 4: the removed user re-joins and sends on
// many connections while the owner removes them, round after round. After
// the owner's remove is answered nothing may reach the removed user and
// nothing they send may be stored: every send is refused with forbidden.
//
// Each round, after the removal is acked, the owner sends a marker; the
// next round begins (with the user added again) only after the owner sends
// another. Between the two, the user must receive nothing and have nothing
// stored, whatever their connections were doing when the removal came.
func TestRemovedMemberCannotStay(t *testing.T) {
	s := startServer(t, "", generousRate, manyConns)
	ctx := ctxFor(t, 90*time.Second)
	alice := s.connect(ctx, "alice")
	bobs := make([]*tclient, 30)
	for i := range bobs {
		bobs[i] = s.connect(ctx, "bob")
	}
	raceRemovals(t, ctx, alice, bobs, 12, 20*time.Second, nil)
}

// The same attack with the removed user's connections on another edge
// than the owner's: the owner's edge waits for that edge to apply the
// removal before it answers.
func TestRemovedMemberCannotStayAcrossEdges(t *testing.T) {
	s1 := startServer(t, "", generousRate, manyConns, func(m *Main) { m.NATSListen = "127.0.0.1:-1" })
	s2 := startEdge(t, s1, generousRate, manyConns)
	ctx := ctxFor(t, 90*time.Second)
	alice := s1.connect(ctx, "alice")
	bobs := make([]*tclient, 20)
	for i := range bobs {
		bobs[i] = s2.connect(ctx, "bob")
	}
	// The owner's edge learns who is where from presence: a removal waits
	// for the edges it knows of. Each round, remove only once it knows.
	watcher := s1.connect(ctx, "alice")
	presence := func(status string) {
		for {
			ev, err := watcher.Expect(ctx, "presence")
			if err != nil {
				t.Fatalf("no presence %s of bob: %v", status, err)
			}
			if ev.User == "bob" && ev.Status == status {
				return
			}
		}
	}
	raceRemovals(t, ctx, alice, bobs, 10, 20*time.Second, func(phase string) {
		switch phase {
		case "created":
			watcher.join(ctx, "vault", -1, "")
		case "joined":
			presence("online")
		case "stopped":
			presence("offline")
		}
	})
}

// manyConns lifts the per-user connection quota (20 per edge) for the
// attack's 30 connections of one user.
func manyConns(m *Main) { m.Quota.ConnsPerUser = 100 }

// raceRemovals runs rounds of: the owner (alice) adds bob; bob's
// connections join and send in a loop; alice removes bob, sends markers,
// and bob's loops stop once each connection was refused a join. Then it
// checks that nothing reached bob, and nothing of his was stored, between
// each removal's marker and the next re-add. hook, if set, is called at
// "created" (the room exists), "joined" (bob's sends are going through,
// before the removal) and "stopped" (bob's loops ended).
func raceRemovals(t *testing.T, ctx context.Context, alice *tclient, bobs []*tclient, rounds int, budget time.Duration, hook func(phase string)) {
	t.Helper()
	if hook == nil {
		hook = func(string) {}
	}
	conns := len(bobs)
	deadline := time.Now().Add(budget)
	alice.request(ctx, map[string]any{"op": "create", "room": "vault", "kind": "private"})
	alice.join(ctx, "vault", -1, "")
	hook("created")

	type window struct{ from, to uint64 } // [marker after removal, marker before re-add)
	var (
		windows   []window
		forbidden atomic.Int64 // sends refused after a removal
		joinsDown atomic.Int64 // joins refused after a removal
		accepted  atomic.Int64 // sends acked, all rounds
		mu        sync.Mutex
		acks      []uint64 // seqs of bob's acked sends
	)
	say := func(text string) uint64 {
		return alice.send(ctx, "vault", fmt.Sprintf("%s-%d", text, time.Now().UnixNano()), text).Seq
	}
	var removedAfter uint64 // the marker of the last removal, 0 while bob is a member
	n := 0
	for ; n < rounds && time.Now().Before(deadline); n++ {
		alice.request(ctx, map[string]any{"op": "add", "room": "vault", "user": "bob"})
		if removedAfter > 0 {
			windows = append(windows, window{removedAfter, say("re-added")})
		}
		var (
			stop    atomic.Bool
			removed atomic.Bool
			wg      sync.WaitGroup
			after   = make([]atomic.Int64, conns) // refused joins since the removal, per connection
		)
		for i, c := range bobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; !stop.Load(); k++ {
					wasRemoved := removed.Load()
					if _, err := c.Join(ctx, "vault", -1, ""); err != nil && wasRemoved {
						joinsDown.Add(1)
						after[i].Add(1)
					}
					for j := range 3 {
						wasRemoved := removed.Load()
						ev, err := c.SendText(ctx, "vault", fmt.Sprintf("r%d-c%d-%d-%d", n, i, k, j), "still here?")
						switch {
						case err == nil:
							accepted.Add(1)
							mu.Lock()
							acks = append(acks, ev.Seq)
							mu.Unlock()
						case wasRemoved && wsclient.ErrorCode(err) == "forbidden":
							forbidden.Add(1)
						case wsclient.ErrorCode(err) != "forbidden":
							t.Errorf("bob's send: %v", err)
							return
						}
					}
				}
			}()
		}
		// Remove while the joins and sends are under way.
		before := accepted.Load()
		waitFor(t, ctx, func() bool { return accepted.Load() >= before+int64(conns) })
		hook("joined")
		alice.request(ctx, map[string]any{"op": "remove", "room": "vault", "user": "bob"})
		removed.Store(true)
		removedAfter = say("removed")
		for range 3 {
			say("bob must not see this")
		}
		// Let every connection try again after the removal before stopping.
		waitFor(t, ctx, func() bool {
			for i := range after {
				if after[i].Load() == 0 {
					return false
				}
			}
			return true
		})
		stop.Store(true)
		wg.Wait()
		hook("stopped")
	}
	if n < 3 {
		t.Fatalf("only %d rounds in %v", n, budget)
	}
	// A last marker that bob, still removed, must not see either; once
	// alice has it, everything stored before it has reached every edge
	// subscription, bob's included.
	end := say("the end")
	windows = append(windows, window{removedAfter, end + 1})
	in := func(seq uint64) bool {
		for _, w := range windows {
			if seq >= w.from && seq < w.to {
				return true
			}
		}
		return false
	}
	for _, seq := range acks {
		if in(seq) {
			t.Errorf("bob's send stored at %d, after a removal was acked", seq)
		}
	}
	// What was stored, as the owner received it (acks can be lost with
	// their connection; the stream cannot).
	for {
		ev, err := alice.Next(ctx)
		if err != nil {
			t.Fatalf("alice: %v", err)
		}
		if ev.Type != "msg" {
			continue
		}
		if ev.From == "bob" && in(ev.Seq) {
			t.Errorf("bob's message stored at %d, after a removal was acked", ev.Seq)
		}
		if ev.Seq == end {
			break
		}
	}
	// A ping's pong is queued behind every frame queued before it.
	for _, c := range bobs {
		c.request(ctx, map[string]any{"op": "ping"})
	}
	leaked := 0
	for _, c := range bobs {
		for _, ev := range pending(c.Client) {
			if ev.Type == "msg" && in(ev.Seq) {
				leaked++
				if leaked <= 5 {
					t.Errorf("bob received %q (seq %d) after a removal was acked", ev.Text, ev.Seq)
				}
			}
		}
	}
	if leaked > 0 {
		t.Errorf("%d messages reached bob after removals", leaked)
	}
	t.Logf("%d rounds, %d sends acked, %d refused and %d joins refused after removals", n, accepted.Load(), forbidden.Load(), joinsDown.Load())
	if forbidden.Load() == 0 || joinsDown.Load() == 0 {
		t.Errorf("the race was not exercised: %d sends and %d joins refused after removals", forbidden.Load(), joinsDown.Load())
	}
}

// A removal takes effect without its member event: the membership is
// deleted in the directory directly (as if the event were lost) and the
// removed user's connections are unsubscribed and refused all the same.
func TestRemovalWithoutEvent(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 30*time.Second)
	alice := s.connect(ctx, "alice")
	alice.request(ctx, map[string]any{"op": "create", "room": "vault", "kind": "private"})
	alice.request(ctx, map[string]any{"op": "add", "room": "vault", "user": "bob"})
	alice.join(ctx, "vault", -1, "")
	bobs := []*tclient{s.connect(ctx, "bob"), s.connect(ctx, "bob")}
	for _, b := range bobs {
		b.join(ctx, "vault", -1, "")
	}
	if err := s.m.broker.RemoveMember(ctx, "vault", "bob"); err != nil {
		t.Fatal(err)
	}
	for _, b := range bobs {
		if _, err := b.Expect(ctx, "left"); err != nil {
			t.Fatalf("bob not unsubscribed: %v", err)
		}
		if _, err := b.SendText(ctx, "vault", "after", "still here?"); wsclient.ErrorCode(err) != "forbidden" {
			t.Errorf("send after removal: %v, want forbidden", err)
		}
		if _, err := b.Request(ctx, map[string]any{"op": "typing", "room": "vault"}); wsclient.ErrorCode(err) != "forbidden" {
			t.Errorf("typing after removal: %v, want forbidden", err)
		}
	}
	seq := alice.send(ctx, "vault", "a1", "bob is gone").Seq
	alice.messages(ctx, "vault", 1)
	for _, b := range bobs {
		for _, ev := range pending(b.Client) {
			if ev.Type == "msg" && ev.Seq >= seq {
				t.Errorf("bob received %q after the removal", ev.Text)
			}
		}
	}
}

// A removal on one edge unsubscribes the removed user on another, through
// that edge's own directory watch, and a ban there refuses their sends.
func TestRemovalReachesOtherEdges(t *testing.T) {
	s1 := startServer(t, "", func(m *Main) { m.NATSListen = "127.0.0.1:-1" })
	s2 := startEdge(t, s1)
	ctx := ctxFor(t, 30*time.Second)
	alice := s1.connect(ctx, "alice")
	alice.request(ctx, map[string]any{"op": "create", "room": "vault", "kind": "private"})
	alice.request(ctx, map[string]any{"op": "add", "room": "vault", "user": "bob"})
	alice.join(ctx, "vault", -1, "")
	bob := s2.connect(ctx, "bob")
	bob.join(ctx, "vault", -1, "")
	alice.request(ctx, map[string]any{"op": "remove", "room": "vault", "user": "bob"})
	if _, err := bob.Expect(ctx, "left"); err != nil {
		t.Fatalf("bob not unsubscribed on the other edge: %v", err)
	}
	if _, err := bob.SendText(ctx, "vault", "b1", "still here?"); wsclient.ErrorCode(err) != "forbidden" {
		t.Errorf("send after removal on the other edge: %v, want forbidden", err)
	}

	// A public room: a ban keeps bob out there too.
	alice.request(ctx, map[string]any{"op": "create", "room": "town"})
	alice.join(ctx, "town", -1, "")
	bob.join(ctx, "town", -1, "")
	alice.request(ctx, map[string]any{"op": "ban", "room": "town", "user": "bob"})
	if _, err := bob.Expect(ctx, "left"); err != nil {
		t.Fatalf("banned bob not unsubscribed on the other edge: %v", err)
	}
	waitFor(t, ctx, func() bool {
		_, err := bob.SendText(ctx, "town", cid("b", int(time.Now().UnixNano())), "let me in")
		return wsclient.ErrorCode(err) == "banned"
	})
	if _, err := bob.Join(ctx, "town", -1, ""); wsclient.ErrorCode(err) != "banned" {
		t.Errorf("banned join on the other edge: %v, want banned", err)
	}
}
