package main

import (
	"testing"
	"time"
)

// A sender's ack and its own copy of the message do not wait for the
// write-coalescing interval (issue #15: with the copy written first, the
// ack waited for the rest of the 20 ms window).
func TestAckSkipsCoalescing(t *testing.T) {
	const interval = time.Second // long, so that a loaded machine cannot blur it
	s := startServer(t, "", func(m *Main) { m.Coalesce = interval })
	ctx := ctxFor(t, time.Minute)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")
	alice.join(ctx, "quick", -1, "")
	bob.join(ctx, "quick", -1, "")
	for i := range 5 {
		start := time.Now()
		alice.send(ctx, "quick", cid("q", i), "hello")
		acked := time.Since(start)
		alice.messages(ctx, "quick", 1)
		own := time.Since(start)
		t.Logf("send %d: ack after %v, own copy after %v", i, acked.Round(time.Millisecond), own.Round(time.Millisecond))
		if own > interval/2 || acked > interval/2 {
			t.Fatalf("send %d: ack after %v, own copy after %v: waited for the %v coalescing interval", i, acked, own, interval)
		}
	}
	bob.messages(ctx, "quick", 5) // the other member's, coalesced
}
