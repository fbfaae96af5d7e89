package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sendHistory has alice create a public room and send n messages to it,
// interleaved with another room's so that sequences have gaps, and waits
// until srv's history API has them. It returns the acked sequences.
func sendHistory(t *testing.T, ctx context.Context, ws, srv *server, room string, n int) []uint64 {
	t.Helper()
	alice := ws.connect(ctx, "alice")
	alice.join(ctx, room, -1, "")
	alice.join(ctx, room+"-noise", -1, "")
	var acked []uint64
	for i := range n {
		acked = append(acked, alice.send(ctx, room, cid("m", i), fmt.Sprint("message ", i)).Seq)
		if i%4 == 0 {
			alice.send(ctx, room+"-noise", cid("n", i), "noise")
		}
	}
	wantHistory(t, ctx, srv, room, acked)
	return acked
}

// wantHistory waits until srv's history API has exactly acked in room.
func wantHistory(t *testing.T, ctx context.Context, srv *server, room string, acked []uint64) {
	t.Helper()
	var p page
	path := fmt.Sprintf("/api/rooms/%s/messages?after=0&limit=200", room)
	for {
		if code := srv.getJSON(ctx, "alice", path, &p); code == 200 && len(p.Messages) >= len(acked) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("history of %s has %d messages, want %d", room, len(p.Messages), len(acked))
		case <-time.After(20 * time.Millisecond):
		}
	}
	if len(p.Messages) != len(acked) {
		t.Fatalf("history of %s has %d messages, want %d", room, len(p.Messages), len(acked))
	}
	for i, m := range p.Messages {
		if m.Seq != acked[i] || m.Text != fmt.Sprint("message ", i) {
			t.Fatalf("history message %d: seq %d %q, want seq %d", i, m.Seq, m.Text, acked[i])
		}
		if want := uint64(0); i > 0 {
			want = acked[i-1]
			if m.Prev != want {
				t.Fatalf("history message %d: prev %d, want %d", i, m.Prev, want)
			}
		}
	}
}

// A serve node restarted on its data dir with history.db deleted rebuilds
// the archive from the stream, although its archive consumer had already
// acknowledged every message.
func TestDeletedHistoryDBIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	fast := func(m *Main) { m.Rate, m.Burst = 10000, 10000 }
	s := startServer(t, dir, fast)
	ctx := ctxFor(t, 60*time.Second)
	acked := sendHistory(t, ctx, s, s, "lobby", 60)
	s.stop()

	for _, f := range []string{"history.db", "history.db-wal", "history.db-shm"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	s2 := startServer(t, dir, fast)
	wantHistory(t, ctx, s2, "lobby", acked)

	// And it goes on archiving new messages after the rebuilt ones.
	alice := s2.connect(ctx, "alice")
	alice.join(ctx, "lobby", -1, "")
	acked = append(acked, alice.send(ctx, "lobby", cid("m", 60), "message 60").Seq)
	wantHistory(t, ctx, s2, "lobby", acked)
}

// A history replica started with an empty data dir under the archive name
// of a previous one (a lost volume, a pod rescheduled without its PVC) gets
// every message still in the stream, not only those after the old
// consumer's position, although traffic goes on while no replica runs and
// while it rebuilds.
func TestHistoryReplicaRebuildsFromEmptyStore(t *testing.T) {
	fast := func(m *Main) { m.Rate, m.Burst = 10000, 10000 }
	s := startServer(t, "", fast, func(m *Main) { m.NATSListen = "127.0.0.1:-1" })
	secret, err := os.ReadFile(filepath.Join(s.dir, "jwt.secret"))
	if err != nil {
		t.Fatal(err)
	}
	replica := func() *server {
		return startServer(t, "", func(m *Main) {
			m.Role = "history"
			m.NATS = s.m.embedded.ClientURL()
			m.JWTSecret = strings.TrimSpace(string(secret))
			m.ArchiveName = "replica-1"
		})
	}
	ctx := ctxFor(t, 60*time.Second)

	h1 := replica()
	acked := sendHistory(t, ctx, s, h1, "lobby", 60)
	h1.stop()
	alice := s.connect(ctx, "alice")
	alice.join(ctx, "lobby", -1, "")
	send := func(n int) {
		for range n {
			i := len(acked)
			acked = append(acked, alice.send(ctx, "lobby", cid("m", i), fmt.Sprint("message ", i)).Seq)
		}
	}
	send(40)

	h2 := replica() // a new, empty data dir; same archive name
	send(80)        // wantHistory reads one page: at most 200 in all
	wantHistory(t, ctx, h2, "lobby", acked)
	if code, body := readyz(t, ctx, h2); code != 200 || !strings.Contains(body, "repaired 0") {
		t.Errorf("/readyz of the rebuilt replica: %d %q", code, body)
	}
}
