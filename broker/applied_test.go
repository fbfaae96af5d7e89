package broker

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// AwaitApplied returns only once every edge asked has said it applied the
// revision, and fails for an edge that is not there.
func TestAwaitApplied(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	release := make(chan struct{})
	var asked atomic.Uint64
	slow, err := b.ServeApplied("slow", func(ctx context.Context, rev uint64) error {
		asked.Store(rev)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer slow()
	quick, err := b.ServeApplied("quick", func(context.Context, uint64) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer quick()

	done := make(chan error, 1)
	go func() { done <- b.AwaitApplied(ctx, []string{"quick", "slow"}, 42) }()
	deadline := time.Now().Add(10 * time.Second)
	for asked.Load() != 42 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("returned before the slow edge applied: %v", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("AwaitApplied: %v", err)
	}

	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := b.AwaitApplied(short, []string{"quick", "gone"}, 1); err == nil {
		t.Error("AwaitApplied with an edge that is not there succeeded")
	}
}
