package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter/edge/wsclient"
)

// Ten concurrent senders put 1,000 messages into one room: every member
// receives all 1,000, in the identical order, the order of the acked seqs.
func TestConcurrentSendersSameOrder(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Rate, m.Burst = 10000, 10000 })
	ctx := ctxFor(t, 60*time.Second)
	const senders, each = 10, 100
	var members []*tclient
	for i := 0; i < 3; i++ {
		c := s.connect(ctx, fmt.Sprintf("reader%d", i))
		c.join(ctx, "busy", -1, "")
		members = append(members, c)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked = map[uint64]string{}
	)
	var sending []*tclient
	for i := 0; i < senders; i++ {
		c := s.connect(ctx, fmt.Sprintf("sender%d", i))
		c.join(ctx, "busy", -1, "")
		members = append(members, c)
		sending = append(sending, c)
	}
	for _, c := range sending {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				text := fmt.Sprintf("%s #%d", c.user, j)
				ack, err := c.SendText(ctx, "busy", cid(c.user, j), text)
				if err != nil {
					t.Errorf("%s send %d: %v", c.user, j, err)
					return
				}
				mu.Lock()
				if prev, dup := acked[ack.Seq]; dup {
					t.Errorf("seq %d acked twice (%q and %q)", ack.Seq, prev, text)
				}
				acked[ack.Seq] = text
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(acked) != senders*each {
		t.Fatalf("%d distinct acks, want %d", len(acked), senders*each)
	}
	var first []wsclient.Event
	for _, c := range members {
		got := c.messages(ctx, "busy", senders*each)
		checkChain(t, c.user, got, 0)
		for _, ev := range got {
			if acked[ev.Seq] != ev.Text {
				t.Fatalf("%s: seq %d carries %q, ack said %q", c.user, ev.Seq, ev.Text, acked[ev.Seq])
			}
		}
		if first == nil {
			first = got
			continue
		}
		for i := range got {
			if got[i].Seq != first[i].Seq {
				t.Fatalf("%s and %s differ at %d: seq %d vs %d", c.user, members[0].user, i, got[i].Seq, first[i].Seq)
			}
		}
	}
}

// checkChain asserts that msgs are strictly increasing and each one's prev
// is the seq before it (the first one's prev is start, unless start is 0).
func checkChain(t *testing.T, who string, msgs []wsclient.Event, start uint64) {
	t.Helper()
	last := start
	for i, ev := range msgs {
		if ev.Seq <= last && i > 0 || (i == 0 && ev.Seq <= start) {
			t.Fatalf("%s: message %d seq %d not after %d", who, i, ev.Seq, last)
		}
		if (i > 0 || start > 0) && ev.Prev != last {
			t.Fatalf("%s: message %d (seq %d) has prev %d, want %d (gap or reorder)", who, i, ev.Seq, ev.Prev, last)
		}
		last = ev.Seq
	}
}

// A member disconnects, 100 messages are sent, it reconnects with its
// position: it receives exactly those 100 in order, then live ones, none twice.
func TestResumeAfterDisconnect(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Rate, m.Burst = 10000, 10000 })
	ctx := ctxFor(t, 30*time.Second)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")
	alice.join(ctx, "room", -1, "")
	bob.join(ctx, "room", -1, "")
	seen := alice.send(ctx, "room", "before", "before the gap")
	bobSaw := bob.messages(ctx, "room", 1)[0]
	if bobSaw.Seq != seen.Seq {
		t.Fatalf("bob saw %d, want %d", bobSaw.Seq, seen.Seq)
	}
	epoch := bobSaw.Epoch
	bob.Close()

	var missed []uint64
	for i := 0; i < 100; i++ {
		missed = append(missed, alice.send(ctx, "room", cid("gap", i), fmt.Sprint("missed ", i)).Seq)
	}
	bob2 := s.connect(ctx, "bob")
	j := bob2.join(ctx, "room", int64(bobSaw.Seq), epoch)
	if j.Reset || j.After != bobSaw.Seq || j.Last != missed[len(missed)-1] {
		t.Fatalf("joined = %+v, want after %d last %d no reset", j, bobSaw.Seq, missed[len(missed)-1])
	}
	// Live messages race with the replay: send them while it runs.
	var live []uint64
	for i := 0; i < 20; i++ {
		live = append(live, alice.send(ctx, "room", cid("live", i), fmt.Sprint("live ", i)).Seq)
	}
	got := bob2.messages(ctx, "room", 120)
	checkChain(t, "bob", got, bobSaw.Seq)
	want := append(missed, live...)
	for i := range want {
		if got[i].Seq != want[i] {
			t.Fatalf("message %d: seq %d, want %d", i, got[i].Seq, want[i])
		}
	}
	// Nothing more may arrive: one more live message must be the next one.
	next := alice.send(ctx, "room", "after", "after all")
	if ev := bob2.messages(ctx, "room", 1)[0]; ev.Seq != next.Seq || ev.Prev != want[len(want)-1] {
		t.Fatalf("after catch-up got seq %d prev %d, want %d prev %d", ev.Seq, ev.Prev, next.Seq, want[len(want)-1])
	}
}

// A client that does not know its position (new device) joins without
// "after" and gets what it has not acknowledged as delivered.
func TestJoinFromDeliveredCursor(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 20*time.Second)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")
	alice.join(ctx, "r", -1, "")
	bob.join(ctx, "r", -1, "")
	m1 := alice.send(ctx, "r", "1", "one")
	bob.messages(ctx, "r", 1)
	bob.request(ctx, map[string]any{"op": "delivered", "room": "r", "seq": m1.Seq})
	bob.Close()
	m2 := alice.send(ctx, "r", "2", "two")
	m3 := alice.send(ctx, "r", "3", "three")

	phone := s.connect(ctx, "bob")
	j := phone.join(ctx, "r", -1, "")
	if j.After != m1.Seq {
		t.Fatalf("join without position started after %d, want delivered cursor %d", j.After, m1.Seq)
	}
	got := phone.messages(ctx, "r", 2)
	if got[0].Seq != m2.Seq || got[1].Seq != m3.Seq {
		t.Fatalf("got seqs %d,%d want %d,%d", got[0].Seq, got[1].Seq, m2.Seq, m3.Seq)
	}
	// A user with no cursor starts live: no backlog.
	carol := s.connect(ctx, "carol")
	if j := carol.join(ctx, "r", -1, ""); j.After != m3.Seq {
		t.Fatalf("fresh user starts after %d, want %d (live only)", j.After, m3.Seq)
	}
}

// Resending a client message id yields one stored message and the same seq.
func TestResendSameCID(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 20*time.Second)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")
	alice.join(ctx, "r", -1, "")
	bob.join(ctx, "r", -1, "")
	first := alice.send(ctx, "r", "same", "hello")
	again := alice.send(ctx, "r", "same", "hello")
	if first.Dup || !again.Dup || again.Seq != first.Seq {
		t.Fatalf("first %+v, resend %+v: want same seq, dup only on resend", first, again)
	}
	// The same cid from another user is another message.
	other := bob.send(ctx, "r", "same", "hello")
	if other.Dup || other.Seq == first.Seq {
		t.Fatalf("bob's cid collided with alice's: %+v", other)
	}
	got := bob.messages(ctx, "r", 2)
	if got[0].Seq != first.Seq || got[1].Seq != other.Seq {
		t.Fatalf("delivered %d,%d want %d,%d (the resend must not be delivered)", got[0].Seq, got[1].Seq, first.Seq, other.Seq)
	}
	var page struct{ Messages []wsclient.Event }
	waitFor(t, ctx, func() bool {
		s.getJSON(ctx, "alice", "/api/rooms/r/messages?after=0", &page)
		return len(page.Messages) >= 2
	})
	if len(page.Messages) != 2 {
		t.Fatalf("history holds %d messages, want 2", len(page.Messages))
	}
}

// Members of a room coming back together after missing messages each get
// exactly what they missed, and share the stream reads through the edge's
// room cache instead of making one each.
func TestResumeTogetherSharesStreamReads(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Rate, m.Burst = 10000, 10000 })
	ctx := ctxFor(t, 60*time.Second)
	const members, missed = 20, 50
	alice := s.connect(ctx, "alice")
	j := alice.join(ctx, "storm", -1, "")
	first := alice.send(ctx, "storm", "first", "before")
	for i := range members {
		c := s.connect(ctx, fmt.Sprint("u", i))
		c.join(ctx, "storm", int64(first.Seq), j.Epoch)
		c.Close()
	}
	var want []uint64
	for i := range missed {
		want = append(want, alice.send(ctx, "storm", cid("m", i), fmt.Sprint("missed ", i)).Seq)
	}
	// Nobody is left in the room on this edge: it is no longer followed,
	// and its messages are read from the stream again.
	if ev := alice.request(ctx, map[string]any{"op": "leave", "room": "storm"}); ev.Type != "left" {
		t.Fatalf("leave: %+v", ev)
	}
	reads := metricValue(t, s, "natter_replay_stream_reads_total")

	var back []*tclient
	for i := range members {
		back = append(back, s.connect(ctx, fmt.Sprint("u", i)))
	}
	errs := make(chan error, members)
	for i, c := range back {
		go func() {
			defer c.Close()
			if _, err := c.Join(ctx, "storm", int64(first.Seq), j.Epoch); err != nil {
				errs <- err
				return
			}
			got, err := c.Messages(ctx, "storm", missed)
			if err != nil {
				errs <- err
				return
			}
			for k := range got {
				if got[k].Seq != want[k] || (k > 0 && got[k].Prev != want[k-1]) {
					errs <- fmt.Errorf("u%d message %d: seq %d prev %d, want seq %d", i, k, got[k].Seq, got[k].Prev, want[k])
					return
				}
			}
			errs <- nil
		}()
	}
	for range members {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := metricValue(t, s, "natter_replay_stream_reads_total") - reads; n < 1 || n > 2 {
		t.Errorf("%d members resuming together made %v stream reads, want 1 (at most 2)", members, n)
	}
}
