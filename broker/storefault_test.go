package broker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

// publishWait publishes d and waits for its outcome.
func publishWait(ctx context.Context, b *Broker, d Draft) (Ack, error) {
	type result struct {
		ack Ack
		err error
	}
	ch := make(chan result, 1)
	if err := b.Publish(ctx, d, func(a Ack, err error) { ch <- result{a, err} }); err != nil {
		return Ack{}, err
	}
	select {
	case r := <-ch:
		return r.ack, r.err
	case <-ctx.Done():
		return Ack{}, ctx.Err()
	}
}

// JetStream at its store limit answers "insufficient resources": the
// broker says the store is out of space (in Ready too), refuses further
// sends at once but for a probe a second, and stores again as soon as
// there is room.
func TestPublishInsufficientResourcesFailsFast(t *testing.T) {
	emb, err := StartEmbedded(EmbeddedConfig{DataDir: t.TempDir(), MaxStore: 256 << 10, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := Open(ctx, Config{Embedded: emb, Replicas: 1, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)

	text := strings.Repeat("x", 4000)
	var failed error
	for i := 0; i < 1000 && failed == nil; i++ {
		_, failed = publishWait(ctx, b, Draft{Room: "r", From: "alice", ClientID: fmt.Sprint(i), Text: text})
	}
	if natter.ErrorCode(failed) != natter.EUNAVAILABLE || !strings.Contains(failed.Error(), "out of space") {
		t.Fatalf("send into a full store: %v, want unavailable: message store out of space", failed)
	}
	if err := b.Ready(ctx); err == nil || !strings.Contains(err.Error(), "out of space") {
		t.Fatalf("Ready with a full store: %v", err)
	}
	start := time.Now()
	for i := range 20 {
		if _, err := publishWait(ctx, b, Draft{Room: "r", From: "alice", ClientID: fmt.Sprint("full-", i), Text: text}); natter.ErrorCode(err) != natter.EUNAVAILABLE {
			t.Fatalf("send %d while full: %v", i, err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("20 sends while full took %v", d)
	}

	// Make room: a probe gets through within a second and clears the fault.
	if err := b.stream.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := publishWait(ctx, b, Draft{Room: "r", From: "alice", ClientID: "again", Text: "room again"})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused after the purge: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := b.Ready(ctx); err != nil {
		t.Fatalf("Ready after the purge: %v", err)
	}
}
