package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

// outboxLog collects what an Outbox hands over; fn fails the first
// failFirst attempts of every record.
type outboxLog struct {
	mu        sync.Mutex
	failFirst int
	tries     map[uint64]int
	got       []natter.Message
}

func (l *outboxLog) fn(_ context.Context, d OutboxDelivery) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tries[d.Msg.Seq]++
	if l.tries[d.Msg.Seq] <= l.failFirst {
		return errors.New("refused")
	}
	l.got = append(l.got, d.Msg)
	return nil
}

func (l *outboxLog) snapshot() []natter.Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]natter.Message(nil), l.got...)
}

// Every record stored after the consumer was made is handed over once it
// succeeds, in stream order, each retried until then; one deleted by hand
// is made again and carries on with what is stored next.
func TestOutbox(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	say(t, b.Broker, "a", "before the outbox") // not delivered: the consumer is new
	ob, err := b.Outbox(ctx, "hook")
	if err != nil {
		t.Fatal(err)
	}
	log := &outboxLog{failFirst: 2, tries: map[uint64]int{}}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); ob.Run(runCtx, 20*time.Millisecond, log.fn) }()
	t.Cleanup(func() { stop(); <-done })
	var want []uint64
	for i := range 6 {
		want = append(want, say(t, b.Broker, natter.RoomID([]string{"a", "b"}[i%2]), fmt.Sprint("m", i)).Seq)
	}
	waitFor(t, "six deliveries", func() bool { return len(log.snapshot()) >= 6 })
	got := log.snapshot()
	for i, m := range got {
		if m.Seq != want[i] || m.Text != fmt.Sprint("m", i) {
			t.Fatalf("delivery %d: seq %d %q, want seq %d m%d", i, m.Seq, m.Text, want[i], i)
		}
		if n := log.tries[m.Seq]; n != 3 {
			t.Fatalf("seq %d tried %d times, want 3", m.Seq, n)
		}
	}
	if err := b.js.DeleteConsumer(ctx, StreamName, "hook"); err != nil {
		t.Fatal(err)
	}
	// Records stored before it is made again are not delivered (a new
	// consumer starts at what comes next): probe until one is, bounded.
	for i := 0; len(log.snapshot()) == 6; i++ {
		if i == 200 {
			t.Fatal("no delivery after the consumer was deleted")
		}
		say(t, b.Broker, "a", fmt.Sprint("after deletion ", i))
		waitForUpTo(100*time.Millisecond, func() bool { return len(log.snapshot()) > 6 })
	}
}

// waitForUpTo polls cond for at most d; whether it held.
func waitForUpTo(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
