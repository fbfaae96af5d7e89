package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/natter-chat/natter/edge/wsclient"
)

// The per-user send rate is cluster-wide (docs/SECURITY.md#quotas): one
// user on connections to two edges, all sending flat out, gets about the
// rate in total, not the rate on each edge; a user on one edge still gets
// the full rate and burst, as before the edges shared it.
func TestQuotaUserRateAcrossEdges(t *testing.T) {
	const (
		rate, burst = 20, 10
		interval    = 200 * time.Millisecond
		perEdge     = 3
	)
	quota := func(m *Main) {
		m.Quota.UserRate, m.Quota.UserBurst, m.Quota.UserRateInterval = rate, burst, interval
	}
	s1 := startServer(t, "", generousRate, quota, func(m *Main) { m.NATSListen = "127.0.0.1:-1" })
	s2 := startEdge(t, s1, generousRate, quota)
	ctx := ctxFor(t, 90*time.Second)

	// One edge: the full rate and burst, whatever the other edge hears.
	solo := []*wsclient.Client{login(t, ctx, s1, "solo", "flood"), login(t, ctx, s1, "solo", "flood")}
	acked, limited, window := flood(t, ctx, solo, 3*time.Second)
	t.Logf("one edge: %d acked, %d refused in %.2fs", acked, limited, window)
	// The bucket alone allows rate×window+burst; a shared limit that
	// charged this edge's own sends twice would allow about half the rate.
	if low := burst + 0.75*rate*window; float64(acked) < low || limited == 0 {
		t.Fatalf("one edge: %d acked, %d refused in %.2fs; want at least %.0f acked (rate %d/s, burst %d) and some refused",
			acked, limited, window, low, rate, burst)
	}

	// Two edges: without sharing, each would allow rate×window+burst.
	var both []*wsclient.Client
	for range perEdge {
		both = append(both, login(t, ctx, s1, "flooder", "flood"), login(t, ctx, s2, "flooder", "flood"))
	}
	before := refusals(t, s1) // s2 has refused nothing yet: not exported
	acked, limited, window = flood(t, ctx, both, 4*time.Second)
	t.Logf("two edges: %d acked, %d refused in %.2fs", acked, limited, window)
	// The bound (edge/userrate.go): rate×T + burst + (edges−1)×(burst +
	// rate×lag), the lag being one interval plus delivery; the margin
	// covers a late tick on a busy machine.
	lag := interval.Seconds() * 1.5
	high := rate*window + 2*burst + rate*lag + 5
	if float64(acked) > high || float64(acked) < 0.75*rate*window {
		t.Fatalf("two edges: %d acked, %d refused in %.2fs; want %.0f to %.0f (rate %d/s, burst %d, interval %s, cluster-wide)",
			acked, limited, window, 0.75*rate*window, high, rate, burst, interval)
	}
	if n := refusals(t, s1) - before + refusals(t, s2); n != float64(limited) {
		t.Errorf("user_rate refusals counted on the two edges: %v, want %d", n, limited)
	}
	for _, c := range both {
		if _, err := c.Request(ctx, map[string]any{"op": "ping"}); err != nil {
			t.Fatalf("connection closed for sending too fast: %v", err)
		}
	}
}

// A user flooding on one edge who opens a first connection on another
// does not bring a fresh burst there: the new bucket is charged with what
// the other edge reported lately. Without that, the burst sent at once on
// the new connection would all be acked.
func TestQuotaUserRateNewEdgeNoFreshBurst(t *testing.T) {
	const (
		rate, burst = 50, 10 // one interval's worth at the rate is a burst
		interval    = 200 * time.Millisecond
	)
	quota := func(m *Main) {
		m.Quota.UserRate, m.Quota.UserBurst, m.Quota.UserRateInterval = rate, burst, interval
	}
	s1 := startServer(t, "", generousRate, quota, func(m *Main) { m.NATSListen = "127.0.0.1:-1" })
	s2 := startEdge(t, s1, generousRate, quota)
	ctx := ctxFor(t, 60*time.Second)

	stop := make(chan time.Time)
	flooded := make(chan *sendTally)
	cs := []*wsclient.Client{login(t, ctx, s1, "flooder", "flood"), login(t, ctx, s1, "flooder", "flood")}
	go func() { flooded <- floodUntil(t, ctx, cs, stop) }()
	// Flat out: refused on s1, so reporting a bucket's worth an interval.
	waitFor(t, ctx, func() bool {
		_, refused := metricLookup(t, http.DefaultClient, s1.m.URL, `natter_quota_refusals_total{quota="user_rate"}`)
		return refused
	})

	// A report may land between auth and the sends and charge the new
	// bucket anyway; three tries make that luck unlikely to hide a bug.
	// Replies come at once (acks skip the coalescing interval), so s1 may
	// refuse before its first report is out: tries go on, for up to 5 s,
	// until one is charged.
	var got []int
	tried := time.Now()
	for try := 0; try < 50 && (try < 3 || (slices.Min(got) > burst/2 && time.Since(tried) < 5*time.Second)); try++ {
		c := login(t, ctx, s2, "flooder", "flood")
		for j := range burst {
			if err := c.Send(map[string]any{"op": "send", "room": "flood", "cid": cid(fmt.Sprint("new", try), j), "text": "x"}); err != nil {
				t.Fatal(err)
			}
		}
		var tally sendTally
		for range burst {
			if !tally.expect(t, ctx, c) {
				t.FailNow()
			}
		}
		got = append(got, tally.acked)
		c.Close()
		// Its bucket goes with the user's last connection on s2.
		waitFor(t, ctx, func() bool { return metricValue(t, s2, "natter_connections") == 0 })
	}
	close(stop)
	<-flooded
	if slices.Min(got) > burst/2 {
		t.Fatalf("a burst of %d on a new edge while flooding another got %v acked; want at most %d in some try", burst, got, burst/2)
	}
	t.Logf("acked on the new edge: %v of %d each", got, burst)
}

func refusals(t *testing.T, s *server) float64 {
	return metricValue(t, s, `natter_quota_refusals_total{quota="user_rate"}`)
}

// flood has every client send to room "flood" as fast as its replies come
// back (a few ms apart, at most 2000 sends each) for d, and counts the
// acks and rate_limited refusals; window is the time from the first send
// to the last reply.
func flood(t *testing.T, ctx context.Context, cs []*wsclient.Client, d time.Duration) (acked, limited int, window float64) {
	t.Helper()
	start := time.Now()
	tally := floodUntil(t, ctx, cs, time.After(d))
	if t.Failed() {
		t.FailNow()
	}
	return tally.acked, tally.limited, time.Since(start).Seconds()
}

// floodUntil is flood until done is closed or fires; it may run outside
// the test's goroutine (failures are t.Error).
func floodUntil(t *testing.T, ctx context.Context, cs []*wsclient.Client, done <-chan time.Time) *sendTally {
	var tally sendTally
	var wg sync.WaitGroup
	var over atomic.Bool
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
		}
		over.Store(true)
	}()
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Bounded in time by done; the count only guards against a
			// runaway loop (replies come at once since acks skip the
			// coalescing interval, so 2,000 lasted only some 7 s).
			for j := 0; j < 100000 && !over.Load(); j++ {
				if j > 0 {
					time.Sleep(3 * time.Millisecond) // pacing
				}
				if err := c.Send(map[string]any{"op": "send", "room": "flood", "cid": cid(fmt.Sprintf("%p-%d", c, i), j), "text": "x"}); err != nil {
					t.Error(err)
					return
				}
				if !tally.expect(t, ctx, c) {
					return
				}
			}
		}()
	}
	wg.Wait()
	return &tally
}

// sendTally counts the replies to sends from many connections: acks and
// rate_limited refusals (with their cid).
type sendTally struct {
	mu             sync.Mutex
	acked, limited int
}

// expect reads c's reply to a send and counts it; false if it failed t.
func (s *sendTally) expect(t *testing.T, ctx context.Context, c *wsclient.Client) bool {
	ev, err := c.Expect(ctx, "ack", "error")
	if err != nil {
		t.Error(err)
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case ev.Type == "ack":
		s.acked++
	case ev.Code == "rate_limited" && ev.CID != "":
		s.limited++
	default:
		t.Errorf("unexpected reply %+v", ev)
		return false
	}
	return true
}
