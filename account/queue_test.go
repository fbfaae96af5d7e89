package account

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHashQueueRefusesWhenFull(t *testing.T) {
	q := newHashQueue(1, 1)
	q.took.Store(int64(3 * time.Second))
	release := make(chan struct{})
	running := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		q.do(context.Background(), func() ([]byte, error) { close(running); <-release; return nil, nil })
	})
	<-running
	waiting := make(chan error, 1)
	wg.Go(func() {
		_, err := q.do(context.Background(), func() ([]byte, error) { return nil, nil })
		waiting <- err
	})
	// The second is admitted and waits; the third finds the queue full.
	deadline := time.Now().Add(10 * time.Second)
	for len(q.admit) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("second request never queued")
		}
		time.Sleep(time.Millisecond)
	}
	_, err := q.do(context.Background(), func() ([]byte, error) { t.Error("ran work of a refused request"); return nil, nil })
	var busy *busyError
	if !errors.As(err, &busy) || seconds(busy.retryAfter) != "6" {
		t.Fatalf("full queue: %v; want busy with Retry-After 6 (2 slots × 3 s)", err)
	}
	// A waiter whose request ends gives up its place.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	close(release)
	wg.Wait()
	if err := <-waiting; err != nil {
		t.Errorf("queued request: %v", err)
	}
	if _, err := q.do(ctx, func() ([]byte, error) { return nil, nil }); err != nil && errors.As(err, &busy) {
		t.Errorf("empty queue refused: %v", err)
	}
}

func TestRefusalsSummed(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	log := slog.New(handlerFunc(func(r slog.Record) {
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
		mu.Lock()
		lines = append(lines, b.String())
		mu.Unlock()
	}))
	r := newRefusals(log, 50*time.Millisecond)
	for range 100 {
		r.note("login_ip", "192.0.2.1")
	}
	r.note("busy", "192.0.2.2")
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(lines)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 2 || !strings.Contains(lines[0], "reason=login_ip") || !strings.Contains(lines[1], "total=100") ||
		!strings.Contains(lines[1], "busy=1") || !strings.Contains(lines[1], "login_ip=99") {
		t.Errorf("log lines %q; want the first refusal, then one summary of 100", lines)
	}
}

type handlerFunc func(slog.Record)

func (f handlerFunc) Enabled(context.Context, slog.Level) bool      { return true }
func (f handlerFunc) Handle(_ context.Context, r slog.Record) error { f(r); return nil }
func (f handlerFunc) WithAttrs([]slog.Attr) slog.Handler            { return f }
func (f handlerFunc) WithGroup(string) slog.Handler                 { return f }
