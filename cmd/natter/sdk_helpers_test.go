package main

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/client"
)

// sdkTokens is a TokenSource minting tokens of user for the server; gate,
// if set, is waited on before each token after the first (a test holds a
// reconnect there).
type sdkTokens struct {
	s    *server
	user string
	life time.Duration

	mu    sync.Mutex
	calls int
	gate  chan struct{}
}

func (k *sdkTokens) source(ctx context.Context) (string, error) {
	k.mu.Lock()
	k.calls++
	n, gate, srv := k.calls, k.gate, k.s
	k.mu.Unlock()
	if n > 1 && gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return srv.keys.Issue(natter.UserID(k.user), k.life)
}

func (k *sdkTokens) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls
}

// checkSDKLeaks fails the test if a goroutine of the client package is
// left once the test's clients are closed (Close waits for them all).
// Call it first: cleanups run last-in first-out.
func checkSDKLeaks(t *testing.T) {
	t.Cleanup(func() {
		if leaked := clientGoroutines(); leaked != "" {
			t.Errorf("client goroutines left after Close:\n%s", leaked)
		}
	})
}

// dialSDK connects through the client package and closes it at cleanup.
func (s *server) dialSDK(ctx context.Context, t *testing.T, cfg client.Config) *client.Client {
	t.Helper()
	cfg.URL = s.wsURL()
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	}
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("client.Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// clientGoroutines returns the stacks of goroutines running code of the
// client package (its timers included), "" if none.
func clientGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "natter-chat/natter/client.") || strings.Contains(g, "natter/client/internal") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// nextEvent returns the next event of c of type T, skipping others.
func sdkEvent[T client.Event](t *testing.T, ctx context.Context, c *client.Client) T {
	t.Helper()
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("events closed waiting for %T", *new(T))
			}
			if e, ok := ev.(T); ok {
				return e
			}
		case <-ctx.Done():
			t.Fatalf("no %T: %v", *new(T), ctx.Err())
		}
	}
}

// collectRecords reads c's events until n records of room came and returns
// them, failing on anything past ctx.
func collectRecords(t *testing.T, ctx context.Context, c *client.Client, room string, n int, seen func(client.Event)) []client.Event {
	t.Helper()
	var out []client.Event
	for len(out) < n {
		select {
		case ev := <-c.Events():
			if seen != nil {
				seen(ev)
			}
			if r := recordOf(ev); r != nil && r.Room == room {
				out = append(out, ev)
			}
		case <-ctx.Done():
			t.Fatalf("got %d of %d records: %v", len(out), n, ctx.Err())
		}
	}
	return out
}

func recordOf(ev client.Event) *client.Record {
	switch e := ev.(type) {
	case *client.Message:
		return &e.Record
	case *client.Edit:
		return &e.Record
	case *client.Delete:
		return &e.Record
	case *client.Reaction:
		return &e.Record
	case *client.TopicChange:
		return &e.Record
	case *client.UnknownRecord:
		return &e.Record
	}
	return nil
}
