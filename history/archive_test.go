package history_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
	"github.com/natter-chat/natter/history"
	"github.com/natter-chat/natter/metrics"
)

// openBroker starts an embedded JetStream and a broker on it, closed when
// the test ends.
func openBroker(t *testing.T, cfg broker.Config) *broker.Broker {
	t.Helper()
	emb, err := broker.StartEmbedded(broker.EmbeddedConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg.Embedded, cfg.Replicas = emb, 1
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := broker.Open(ctx, cfg)
	if err != nil {
		emb.Shutdown()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.Close(ctx)
		emb.Shutdown()
	})
	return b
}

var rooms = []natter.RoomID{"a", "b", "c"}

// publish stores n messages, numbered from offset, round-robin over rooms.
func publish(t *testing.T, b *broker.Broker, offset, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := offset; i < offset+n; i++ {
		wg.Add(1)
		id := fmt.Sprint(i)
		d := broker.Draft{Room: rooms[i%len(rooms)], From: "u", ClientID: id, Text: "message " + id}
		if err := b.Publish(context.Background(), d, func(_ broker.Ack, err error) {
			errs <- err
			wg.Done()
		}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// streamOf reads every room of the stream: the truth an archive must match.
func streamOf(t *testing.T, b *broker.Broker) map[natter.RoomID][]natter.Message {
	t.Helper()
	out := map[natter.RoomID][]natter.Message{}
	for _, r := range rooms {
		if _, err := b.ReadRoom(context.Background(), r, 0, 0, func(m natter.Message) error {
			out[r] = append(out[r], m)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// archived reads every room of the archive.
func archived(t *testing.T, s *history.Store) map[natter.RoomID][]natter.Message {
	t.Helper()
	out := map[natter.RoomID][]natter.Message{}
	for _, r := range rooms {
		for after := uint64(0); ; {
			page, err := s.Page(context.Background(), r, history.Query{After: after, Limit: history.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			out[r] = append(out[r], page...)
			after = page[len(page)-1].Seq
		}
	}
	return out
}

// runArchiver runs a over its store until the test ends.
func runArchiver(t *testing.T, a *history.Archiver) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Archiver.Run: %v", err)
		}
	})
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wantArchive waits until the archive equals the stream, Prev included.
func wantArchive(t *testing.T, b *broker.Broker, s *history.Store) {
	t.Helper()
	want := streamOf(t, b)
	var got map[natter.RoomID][]natter.Message
	deadline := time.Now().Add(20 * time.Second)
	for {
		if got = archived(t, s); reflect.DeepEqual(got, want) {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, r := range rooms {
		if !reflect.DeepEqual(got[r], want[r]) {
			t.Errorf("room %s archived as\n%v\nstream has\n%v", r, chain(got[r]), chain(want[r]))
		}
	}
	t.FailNow()
}

func chain(msgs []natter.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, fmt.Sprintf("%d(prev %d)", m.Seq, m.Prev))
	}
	return out
}

// A history.db written by an older version, with the holes its archiver
// left (messages acknowledged unseen, the next one's Prev pointing across
// the hole) and no recorded position, is served and repaired at start:
// every hole is restored from the stream, Prev included, and new messages
// continue the chain.
func TestArchiverRepairsAnOlderArchive(t *testing.T) {
	b := openBroker(t, broker.Config{})
	publish(t, b, 0, 30)
	path := filepath.Join(t.TempDir(), "history.db")

	// The older version's archive: the stream minus some messages, each
	// Prev the previous message it stored.
	old, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := old.SetEpoch(ctx, b.Epoch()); err != nil {
		t.Fatal(err)
	}
	lost := map[uint64]bool{5: true, 6: true, 7: true, 20: true}
	last := map[natter.RoomID]uint64{}
	for _, msgs := range streamOf(t, b) {
		for _, m := range msgs {
			if lost[m.Seq] {
				continue
			}
			m.Prev, last[m.Room] = last[m.Room], m.Seq
			if err := old.Append(ctx, []natter.Message{m}); err != nil {
				t.Fatal(err)
			}
		}
	}
	old.Close()

	s, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m := metrics.New()
	a := &history.Archiver{Store: s, Source: b, Durable: "h", AuditInterval: -1, Metrics: m}
	runArchiver(t, a)
	poll(t, "the start-up audit", func() bool { return !a.Status().LastAudit.IsZero() })
	wantArchive(t, b, s)
	if st := a.Status(); st.Repaired != 4 || st.Position != 30 {
		t.Errorf("status %+v, want 4 repaired at position 30", st)
	}
	if n := testutil.ToFloat64(m.ArchiveRepairs); n != 4 {
		t.Errorf("natter_archive_repairs_total = %v, want 4", n)
	}

	publish(t, b, 30, 6)
	wantArchive(t, b, s)
}

// The periodic audit restores messages that disappear from a running
// archive (here deleted behind its back), and corrects a Prev that does not
// point at the message before.
func TestArchiverAuditRepairsRunningArchive(t *testing.T) {
	b := openBroker(t, broker.Config{})
	publish(t, b, 0, 20)
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m := metrics.New()
	a := &history.Archiver{Store: s, Source: b, Durable: "h", AuditInterval: 100 * time.Millisecond, Metrics: m}
	runArchiver(t, a)
	wantArchive(t, b, s)

	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM messages WHERE seq IN (3, 4, 11)`); err != nil {
		t.Fatal(err)
	}
	poll(t, "the audit's repairs", func() bool { return testutil.ToFloat64(m.ArchiveRepairs) == 3 })
	wantArchive(t, b, s)

	// A Prev that is not the message before (nothing missing): corrected.
	if _, err := db.Exec(`UPDATE messages SET prev = 1 WHERE seq = 16`); err != nil {
		t.Fatal(err)
	}
	wantArchive(t, b, s)
	if testutil.ToFloat64(m.ArchiveLastAudit) == 0 {
		t.Error("natter_archive_audit_last_timestamp_seconds not set")
	}
}

// Messages the stream dropped by retention before the archive got them are
// skipped and counted, not waited for and not reported as missing by the
// audit.
func TestArchiverSkipsWhatTheStreamDropped(t *testing.T) {
	m := metrics.New()
	// The age must outlast the archiver's start-up on a loaded machine, or
	// the second batch ages out too before it is archived (seen at 1 s under
	// a load average of 10).
	b := openBroker(t, broker.Config{MaxAge: 5 * time.Second, Metrics: m})
	publish(t, b, 0, 9)
	poll(t, "the stream to drop its messages", func() bool {
		first, _, _, err := b.RoomCounts(context.Background())
		return err == nil && first > 9
	})
	publish(t, b, 9, 6)

	s, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	a := &history.Archiver{Store: s, Source: b, Durable: "h", AuditInterval: -1, Metrics: m}
	runArchiver(t, a)
	poll(t, "the start-up audit", func() bool { return !a.Status().LastAudit.IsZero() })
	got := archived(t, s)
	n := 0
	for _, msgs := range got {
		for _, m := range msgs {
			if m.Seq <= 9 {
				t.Errorf("archived %d, which the stream had dropped", m.Seq)
			}
			n++
		}
	}
	if n != 6 {
		t.Errorf("archived %d messages, want 6", n)
	}
	if v := testutil.ToFloat64(m.ArchiveSkipped); v != 9 {
		t.Errorf("natter_archive_skipped_total = %v, want 9", v)
	}
	if st := a.Status(); st.Repaired != 0 || st.Position != 15 {
		t.Errorf("status %+v, want 0 repaired at position 15", st)
	}
}
