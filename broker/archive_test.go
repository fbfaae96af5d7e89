package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// archiver runs Archive in the background, for a store that holds up to
// stored, and keeps every batch that fn accepted.
type archiver struct {
	mu      sync.Mutex
	batches [][]natter.Message
	pos     uint64 // Last of the last accepted batch
	broken  string // the first batch that did not continue the one before
	calls   int
	fail    func(call int) error // nil: accept every batch
	cancel  context.CancelFunc
	done    chan error
}

func runArchive(t *testing.T, b *Broker, durable string, stored uint64, fail func(int) error) *archiver {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &archiver{fail: fail, cancel: cancel, done: make(chan error, 1), pos: stored}
	go func() {
		a.done <- b.Archive(ctx, durable, stored, func(after, last uint64, msgs []natter.Message) error {
			batch := archiveBatch{After: after, Last: last, Msgs: msgs}
			a.mu.Lock()
			defer a.mu.Unlock()
			a.calls++
			if a.fail != nil {
				if err := a.fail(a.calls); err != nil {
					return err
				}
			}
			if batch.After != a.pos && a.broken == "" {
				a.broken = fmt.Sprintf("batch %d..%d after position %d", batch.After, batch.Last, a.pos)
			}
			for _, m := range batch.Msgs {
				if m.Seq <= batch.After || m.Seq > batch.Last {
					a.broken = fmt.Sprintf("message %d in batch %d..%d", m.Seq, batch.After, batch.Last)
				}
			}
			a.pos = batch.Last
			a.batches = append(a.batches, append([]natter.Message(nil), batch.Msgs...))
			return nil
		})
	}()
	t.Cleanup(func() { a.stop(t) })
	return a
}

// stop cancels Archive and waits for it to return (idempotent).
func (a *archiver) stop(t *testing.T) {
	t.Helper()
	a.cancel()
	if err, ok := <-a.done; ok {
		close(a.done)
		if err != nil {
			t.Errorf("Archive returned %v", err)
		}
	}
}

func (a *archiver) accepted() []natter.Message {
	a.mu.Lock()
	defer a.mu.Unlock()
	var all []natter.Message
	for _, b := range a.batches {
		all = append(all, b...)
	}
	return all
}

func (a *archiver) position() (uint64, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pos, a.broken
}

// waitArchived waits until the archive has accepted n messages and its
// position is the stream's last sequence, and fails t if the batches were
// not contiguous.
func waitArchived(t *testing.T, b *Broker, a *archiver, durable string, n int) []natter.Message {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d archived messages", n), func() bool {
		pos, _ := a.position()
		lag, err := b.ArchiveLag(context.Background(), pos)
		return err == nil && lag == 0 && len(a.accepted()) >= n
	})
	if _, broken := a.position(); broken != "" {
		t.Fatalf("batches not contiguous: %s", broken)
	}
	return a.accepted()
}

// checkArchived fails t unless msgs are exactly the stream's messages
// from..to, once each, in stream order, as stored.
func checkArchived(t *testing.T, b *Broker, msgs []natter.Message, from, to uint64) {
	t.Helper()
	if want := int(to - from + 1); len(msgs) != want {
		t.Fatalf("archived %d messages, want %d (seq %d..%d)", len(msgs), want, from, to)
	}
	for i, m := range msgs {
		want := from + uint64(i)
		if m.Seq != want {
			t.Fatalf("archived message %d has seq %d, want %d", i, m.Seq, want)
		}
		if m.Prev != 0 || m.Epoch != b.Epoch() || m.Time.IsZero() || m.From != "u" || m.Room == "" || m.ClientID != m.Text {
			t.Fatalf("archived message %+v", m)
		}
	}
}

func publishN(t *testing.T, b *Broker, n, offset int) {
	t.Helper()
	p := newPublisher(t, b)
	rooms := []natter.RoomID{"a", "b", "ab"}
	for i := offset; i < offset+n; i++ {
		id := fmt.Sprint(i)
		p.send(Draft{Room: rooms[i%len(rooms)], From: "u", ClientID: id, Text: id})
	}
	p.wait()
}

func TestArchive(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	if lag, err := b.ArchiveLag(ctx, 0); err != nil || lag != 0 {
		t.Fatalf("ArchiveLag of an empty stream = %d, %v; want 0", lag, err)
	}
	const n = 2*archiveBatchSize + 150
	publishN(t, b.Broker, n, 0)

	a := runArchive(t, b.Broker, "t", 0, nil)
	got := waitArchived(t, b.Broker, a, "t", n)
	a.stop(t)
	checkArchived(t, b.Broker, got, 1, n)
	for i, batch := range a.batches {
		if len(batch) == 0 || len(batch) > archiveBatchSize {
			t.Errorf("batch %d has %d messages", i, len(batch))
		}
	}
	if len(a.batches) < 3 {
		t.Errorf("%d messages in %d batches", n, len(a.batches))
	}
	// Rooms come from the subject, texts from the body.
	for _, m := range got[:6] {
		var i int
		fmt.Sscan(m.Text, &i)
		if want := []natter.RoomID{"a", "b", "ab"}[i%3]; m.Room != want {
			t.Errorf("message %s archived in room %s, want %s", m.Text, m.Room, want)
		}
	}

	// A restarted archiver with the same durable resumes after what was
	// acknowledged; another durable starts from the beginning.
	publishN(t, b.Broker, 40, n)
	a2 := runArchive(t, b.Broker, "t", n, nil)
	got2 := waitArchived(t, b.Broker, a2, "t", 40)
	a2.stop(t)
	checkArchived(t, b.Broker, got2, n+1, n+40)

	a3 := runArchive(t, b.Broker, "other", 0, nil)
	got3 := waitArchived(t, b.Broker, a3, "other", n+40)
	a3.stop(t)
	checkArchived(t, b.Broker, got3, 1, n+40)
}

// Archive keeps up with messages published while it runs.
func TestArchiveLive(t *testing.T) {
	b := start(t)
	a := runArchive(t, b.Broker, "t", 0, nil)
	for i := range 5 {
		publishN(t, b.Broker, 30, i*30)
	}
	got := waitArchived(t, b.Broker, a, "t", 150)
	checkArchived(t, b.Broker, got, 1, 150)
}

// A batch fn rejects is delivered again, and fn is the only way messages
// are acknowledged: every message ends up accepted.
func TestArchiveRedeliversFailedBatch(t *testing.T) {
	b := start(t)
	const n = archiveBatchSize + 100
	publishN(t, b.Broker, n, 0)
	a := runArchive(t, b.Broker, "t", 0, func(call int) error {
		if call == 1 {
			return errors.New("disk full")
		}
		return nil
	})
	got := waitArchived(t, b.Broker, a, "t", 1)
	a.stop(t)
	seen := map[uint64]int{}
	for _, m := range got {
		seen[m.Seq]++
	}
	for seq := uint64(1); seq <= n; seq++ {
		if seen[seq] == 0 {
			t.Fatalf("message %d was never accepted by fn (accepted %d of %d)", seq, len(seen), n)
		}
	}
}

// The same, when the failed batch is all there is: it must come back without
// waiting for the consumer's one-minute AckWait.
func TestArchiveRetriesLastBatch(t *testing.T) {
	b := start(t)
	publishN(t, b.Broker, 10, 0)
	a := runArchive(t, b.Broker, "t", 0, func(call int) error {
		if call == 1 {
			return errors.New("disk full")
		}
		return nil
	})
	got := waitArchived(t, b.Broker, a, "t", 10)
	a.stop(t)
	checkArchived(t, b.Broker, got, 1, 10)
}

// An archive whose store is behind the consumer's ack floor (emptied, or
// restored from an older copy) gets the stream again from its own position,
// not from the consumer's.
func TestArchiveBehindStore(t *testing.T) {
	b := start(t)
	const n = archiveBatchSize + 50
	publishN(t, b.Broker, n, 0)
	a := runArchive(t, b.Broker, "t", 0, nil)
	waitArchived(t, b.Broker, a, "t", n)
	a.stop(t)

	// An empty store: everything again.
	a = runArchive(t, b.Broker, "t", 0, nil)
	got := waitArchived(t, b.Broker, a, "t", n)
	a.stop(t)
	checkArchived(t, b.Broker, got, 1, n)

	// A store that holds the first 100: the rest.
	a = runArchive(t, b.Broker, "t", 100, nil)
	got = waitArchived(t, b.Broker, a, "t", n-100)
	a.stop(t)
	checkArchived(t, b.Broker, got, 101, n)

	// A store ahead of the consumer: only what is beyond the store.
	publishN(t, b.Broker, 5, n)
	a = runArchive(t, b.Broker, "t", n+3, nil)
	got = waitArchived(t, b.Broker, a, "t", 2)
	a.stop(t)
	checkArchived(t, b.Broker, got, n+4, n+5)

	// A start before the stream's first message (dropped by retention) is
	// the stream's first message.
	stream, err := b.js.Stream(testCtx(t), StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Purge(testCtx(t), jetstream.WithPurgeSequence(50)); err != nil {
		t.Fatal(err)
	}
	a = runArchive(t, b.Broker, "t", 10, nil)
	got = waitArchived(t, b.Broker, a, "t", n+5-49)
	a.stop(t)
	checkArchived(t, b.Broker, got, 50, n+5)
}
