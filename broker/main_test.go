package broker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

// Leak checking. go.uber.org/goleak is in go.sum but not required by go.mod,
// and these tests may not edit go.mod, so this file carries the small part of
// goleak they need: a snapshot of goroutine ids before a test and, after its
// cleanups, a wait (goroutines wind down asynchronously after Shutdown) until
// no goroutine remains that was not in the snapshot. Tests are sequential so
// the snapshot is per test; TestMain checks again after the whole run.
//
// Nothing needs ignoring: with Broker.Close and Embedded.Shutdown, neither
// nats.go nor nats-server leaves a goroutine behind.

func TestMain(m *testing.M) {
	before := goroutineIDs()
	code := m.Run()
	if code == 0 {
		if leaked := waitForLeaks(before, 5*time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked by the test run:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// checkLeaks fails t if goroutines started during t outlive its cleanups.
// Call it before anything registers a cleanup, so that it runs last.
func checkLeaks(t testing.TB) {
	t.Helper()
	before := goroutineIDs()
	t.Cleanup(func() {
		if leaked := waitForLeaks(before, 5*time.Second); leaked != "" {
			t.Errorf("goroutines leaked:\n%s", leaked)
		}
	})
}

func waitForLeaks(before map[int]bool, wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		var leaked []string
		for id, stack := range goroutines() {
			if !before[id] {
				leaked = append(leaked, stack)
			}
		}
		if len(leaked) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			sort.Strings(leaked)
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func goroutineIDs() map[int]bool {
	ids := map[int]bool{}
	for id := range goroutines() {
		ids[id] = true
	}
	return ids
}

// goroutines returns every goroutine's stack by id, except the caller's.
func goroutines() map[int]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	all := map[int]string{}
	for i, g := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue // the caller
		}
		s := string(g)
		rest, ok := strings.CutPrefix(s, "goroutine ")
		if !ok {
			continue
		}
		id, err := strconv.Atoi(rest[:strings.IndexByte(rest, ' ')])
		if err != nil {
			continue
		}
		all[id] = s
	}
	return all
}

// testBroker is a broker on its own embedded server.
type testBroker struct {
	*Broker
	emb   *Embedded
	close func()
}

// newBroker starts an embedded server in dir (a fresh temp dir if empty),
// opens a broker on it and closes both when the test ends, or earlier through
// close (idempotent).
func newBroker(t testing.TB, dir string) *testBroker {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	emb, err := StartEmbedded(EmbeddedConfig{DataDir: dir})
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Open(ctx, Config{
		Embedded: emb,
		Name:     t.Name(),
		Replicas: 1,
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		emb.Shutdown()
		t.Fatalf("Open: %v", err)
	}
	var once sync.Once
	tb := &testBroker{Broker: b, emb: emb}
	tb.close = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := b.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
			emb.Shutdown()
		})
	}
	t.Cleanup(tb.close)
	return tb
}

// start is the usual beginning of a test: leak check, then a broker.
func start(t *testing.T) *testBroker {
	t.Helper()
	checkLeaks(t)
	return newBroker(t, "")
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pubResult is the outcome of one Publish as seen by its done callback.
type pubResult struct {
	ack   Ack
	err   error
	calls int
}

// publisher publishes drafts and records every call of their done callbacks.
type publisher struct {
	t  testing.TB
	b  *Broker
	mu sync.Mutex
	wg sync.WaitGroup
	// results by index of the Publish call.
	results []pubResult
}

func newPublisher(t testing.TB, b *Broker) *publisher { return &publisher{t: t, b: b} }

// send publishes d without waiting and returns the index of its result.
func (p *publisher) send(d Draft) int {
	p.t.Helper()
	p.mu.Lock()
	i := len(p.results)
	p.results = append(p.results, pubResult{})
	p.mu.Unlock()
	p.wg.Add(1)
	err := p.b.Publish(context.Background(), d, func(a Ack, err error) {
		p.mu.Lock()
		r := &p.results[i]
		r.calls++
		if r.calls == 1 {
			r.ack, r.err = a, err
			defer p.wg.Done()
		}
		p.mu.Unlock()
	})
	if err != nil {
		p.wg.Done()
		p.t.Fatalf("Publish(%+v): %v", d, err)
	}
	return i
}

// wait waits for every done callback and returns the results so far; it
// fails the test on any publish error.
func (p *publisher) wait() []pubResult {
	p.t.Helper()
	ch := make(chan struct{})
	go func() { p.wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		p.t.Fatal("publish acks did not arrive")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := append([]pubResult(nil), p.results...)
	for i, r := range out {
		if r.err != nil {
			p.t.Fatalf("publish %d: %v", i, r.err)
		}
	}
	return out
}

// publish stores one draft and returns its ack.
func publish(t testing.TB, b *Broker, d Draft) Ack {
	t.Helper()
	p := newPublisher(t, b)
	i := p.send(d)
	return p.wait()[i].ack
}

// say publishes text from user u in room r with a unique client id.
func say(t testing.TB, b *Broker, r natter.RoomID, text string) Ack {
	t.Helper()
	return publish(t, b, Draft{Room: r, From: "u", ClientID: fmt.Sprintf("%s-%s", r, text), Text: text})
}

// readAll reads room after `after` (up to upTo) and returns the messages.
func readAll(t testing.TB, b *Broker, r natter.RoomID, after, upTo uint64) ([]natter.Message, uint64) {
	t.Helper()
	var got []natter.Message
	last, err := b.ReadRoom(testCtx(t), r, after, upTo, func(m natter.Message) error {
		got = append(got, m)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadRoom(%s, %d, %d): %v", r, after, upTo, err)
	}
	return got, last
}

// checkChain fails t unless msgs are room r's messages with the given texts,
// in increasing sequence, with Prev starting at after and contiguous.
func checkChain(t testing.TB, msgs []natter.Message, r natter.RoomID, after uint64, texts []string) {
	t.Helper()
	if len(msgs) != len(texts) {
		t.Fatalf("got %d messages %v, want %d %v", len(msgs), abbrev(textsOf(msgs)), len(texts), abbrev(texts))
	}
	prev := after
	for i, m := range msgs {
		if m.Room != r || m.Text != texts[i] {
			t.Fatalf("message %d is %s/%q, want %s/%q", i, m.Room, m.Text, r, texts[i])
		}
		if m.Prev != prev {
			t.Fatalf("message %d (seq %d) has Prev %d, want %d", i, m.Seq, m.Prev, prev)
		}
		if m.Seq <= prev {
			t.Fatalf("message %d has seq %d, not after %d", i, m.Seq, prev)
		}
		prev = m.Seq
	}
}

// abbrev shortens long lists in failure messages.
func abbrev(s []string) []string {
	if len(s) <= 12 {
		return s
	}
	return append(append(append([]string(nil), s[:5]...), "…"), s[len(s)-5:]...)
}

func textsOf(msgs []natter.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// bug skips a test that fails because of a known bug in the package, unless
// NATTER_TEST_BUGS=1 asks to see the failure.
