package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/natter-chat/natter/edge"
	"github.com/natter-chat/natter/edge/wsclient"
)

// A client that stops reading is disconnected as a slow consumer (4009);
// a fast client in the same room keeps receiving everything meanwhile.
func TestSlowConsumerDoesNotHoldOthers(t *testing.T) {
	s := startServer(t, "", func(m *Main) {
		m.Rate, m.Burst = 100000, 100000
		m.QueueLen = 32
		m.MaxText = 32 << 10
	})
	ctx := ctxFor(t, 60*time.Second)
	sender, fast := s.connect(ctx, "sender"), s.connect(ctx, "fast")
	sc, err := wsclient.DialOptions(ctx, s.wsURL(), wsclient.Options{ReadBuffer: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	slow := &tclient{Client: sc, t: t, user: "slow"}
	if _, err := slow.Auth(ctx, s.token("slow")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*tclient{sender, fast, slow} {
		c.join(ctx, "firehose", -1, "")
	}
	slow.Pause()

	// Far more than the kernel buffers between server and the paused client
	// can hold (~MBs): the server's queue for it must fill.
	const n = 400
	text := strings.Repeat("x", 30<<10)
	var last uint64
	for i := 0; i < n; i++ {
		last = sender.send(ctx, "firehose", cid("f", i), fmt.Sprint(i, text)).Seq
	}
	got := fast.messages(ctx, "firehose", n)
	checkChain(t, "fast", got, 0)
	if got[n-1].Seq != last {
		t.Fatalf("fast client's last seq %d, want %d", got[n-1].Seq, last)
	}
	slow.Resume()
	cl, err := slow.Wait(ctx)
	if err != nil {
		t.Fatalf("slow client was not disconnected: %v", err)
	}
	// The close frame may be lost when the socket is cut, but the count is not.
	if cl.Code != 0 && cl.Code != int(edge.CloseSlowConsumer) {
		t.Fatalf("slow client closed with %d, want %d", cl.Code, edge.CloseSlowConsumer)
	}
	if v := metricValue(t, s, "natter_slow_consumer_disconnects_total"); v < 1 {
		t.Fatalf("slow consumer disconnects = %v", v)
	}
}
