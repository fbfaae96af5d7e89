package broker

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/natter-chat/natter"
)

func TestCursorUnknown(t *testing.T) {
	b := start(t)
	c, err := b.Cursor(testCtx(t), "alice", "a")
	if err != nil || c.Delivered != 0 || c.Read != 0 {
		t.Errorf("Cursor of unknown = %+v, %v; want zero", c, err)
	}
}

func TestAdvanceCursor(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	steps := []struct {
		name            string
		delivered, read uint64
		want            natter.Cursor
		changed         bool
	}{
		{"first delivered", 5, 0, natter.Cursor{Delivered: 5}, true},
		{"backwards delivered", 3, 0, natter.Cursor{Delivered: 5}, false},
		{"same", 5, 0, natter.Cursor{Delivered: 5}, false},
		{"zero leaves both alone", 0, 0, natter.Cursor{Delivered: 5}, false},
		{"read implies delivered", 0, 7, natter.Cursor{Delivered: 7, Read: 7}, true},
		{"delivered only", 10, 0, natter.Cursor{Delivered: 10, Read: 7}, true},
		{"read below delivered", 0, 8, natter.Cursor{Delivered: 10, Read: 8}, true},
		{"backwards read", 0, 2, natter.Cursor{Delivered: 10, Read: 8}, false},
		{"both backwards", 1, 1, natter.Cursor{Delivered: 10, Read: 8}, false},
		{"both forwards", 20, 15, natter.Cursor{Delivered: 20, Read: 15}, true},
		{"read past delivered", 21, 30, natter.Cursor{Delivered: 30, Read: 30}, true},
	}
	for _, s := range steps {
		s.want.Epoch = b.Epoch()
		got, changed, err := b.AdvanceCursor(ctx, "alice", "a", s.delivered, s.read)
		if err != nil || got != s.want || changed != s.changed {
			t.Fatalf("%s: AdvanceCursor(%d, %d) = %+v, %v, %v; want %+v, %v", s.name, s.delivered, s.read, got, changed, err, s.want, s.changed)
		}
		if stored, err := b.Cursor(ctx, "alice", "a"); err != nil || stored != s.want {
			t.Fatalf("%s: Cursor = %+v, %v; want %+v", s.name, stored, err, s.want)
		}
	}
	// Other users and rooms, including prefixes, are separate.
	for _, k := range []struct {
		u natter.UserID
		r natter.RoomID
	}{{"bob", "a"}, {"alice", "ab"}, {"alic", "a"}, {"alice", "b"}} {
		if c, err := b.Cursor(ctx, k.u, k.r); err != nil || c.Delivered != 0 || c.Read != 0 {
			t.Errorf("Cursor(%s, %s) = %+v, %v; want zero", k.u, k.r, c, err)
		}
	}
}

func TestAdvanceCursorConcurrent(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	const workers, steps = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range steps {
				// Interleaved values: each worker's are increasing, the
				// workers' overlap.
				v := uint64(i*workers + w + 1)
				c, _, err := b.AdvanceCursor(ctx, "alice", "a", v, v/2)
				if err != nil {
					t.Errorf("worker %d: AdvanceCursor(%d): %v", w, v, err)
					return
				}
				if c.Delivered < v || c.Read < v/2 {
					t.Errorf("worker %d: AdvanceCursor(%d, %d) returned %+v, below what was asked", w, v, v/2, c)
				}
			}
		})
	}
	wg.Wait()
	want := natter.Cursor{Delivered: workers * steps, Read: workers * steps / 2, Epoch: b.Epoch()}
	if c, err := b.Cursor(ctx, "alice", "a"); err != nil || c != want {
		t.Errorf("Cursor = %+v, %v; want %+v", c, err, want)
	}
}

// A cursor stored under another epoch refers to a stream that no longer
// exists: it reads as zero and is overwritten by the next advance.
func TestCursorOtherEpoch(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	old, _ := json.Marshal(natter.Cursor{Delivered: 100, Read: 90, Epoch: "old"})
	if _, err := b.cursors.Put(ctx, cursorKey("alice", "a"), old); err != nil {
		t.Fatal(err)
	}
	if c, err := b.Cursor(ctx, "alice", "a"); err != nil || c.Delivered != 0 || c.Read != 0 || c.Epoch != b.Epoch() {
		t.Errorf("Cursor from another epoch = %+v, %v; want zero in epoch %s", c, err, b.Epoch())
	}
	want := natter.Cursor{Delivered: 3, Read: 2, Epoch: b.Epoch()}
	if c, changed, err := b.AdvanceCursor(ctx, "alice", "a", 3, 2); err != nil || !changed || c != want {
		t.Errorf("AdvanceCursor = %+v, %v, %v; want %+v, true", c, changed, err, want)
	}
	if c, err := b.Cursor(ctx, "alice", "a"); err != nil || c != want {
		t.Errorf("Cursor = %+v, %v; want %+v", c, err, want)
	}
}
