package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type ackedMsg struct {
	seq  uint64
	text string
}

type roomCursors struct {
	ID        string `json:"id"`
	Delivered uint64 `json:"delivered"`
	Read      uint64 `json:"read"`
}

// rooms is user's GET /api/rooms: memberships with their cursors.
func rooms(t *testing.T, ctx context.Context, s *server, user string) map[string]roomCursors {
	t.Helper()
	var v struct{ Rooms []roomCursors }
	if code := s.getJSON(ctx, user, "/api/rooms", &v); code != 200 {
		t.Fatalf("GET /api/rooms as %s: %d", user, code)
	}
	m := map[string]roomCursors{}
	for _, r := range v.Rooms {
		m[r.ID] = r
	}
	return m
}

// TestBackupRestoreUnderTraffic backs up a running node while a client
// keeps sending, restores the backup into a new data dir, starts a node
// on it and finds every message acknowledged before the backup began (in
// the stream, replayed over the WebSocket, and in the history API), every
// account (login with its password), membership and cursor.
func TestBackupRestoreUnderTraffic(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, func(m *Main) { m.Accounts, m.BcryptCost = true, 4 })
	ctx := ctxFor(t, 3*time.Minute)
	for _, u := range []string{"alice", "bob"} {
		if r := authPost(t, ctx, s, nil, "register", "", map[string]string{"username": u, "password": u + " password 123"}); r.status != 201 {
			t.Fatalf("register %s: %d %s", u, r.status, r.code)
		}
	}
	alice, bob, carol := s.connect(ctx, "alice"), s.connect(ctx, "bob"), s.connect(ctx, "carol")
	alice.join(ctx, "lobby", 0, "")
	alice.join(ctx, "dev", 0, "")
	bob.join(ctx, "lobby", 0, "")
	epoch := carol.join(ctx, "lobby", 0, "").Epoch

	var mu sync.Mutex
	var acked []ackedMsg
	for i := range 5 {
		a := alice.send(ctx, "lobby", cid("a", i), fmt.Sprintf("alice %d", i))
		acked = append(acked, ackedMsg{a.Seq, fmt.Sprintf("alice %d", i)})
	}
	alice.send(ctx, "dev", "d0", "in dev")
	alice.request(ctx, map[string]any{"op": "delivered", "room": "lobby", "seq": acked[3].seq, "rid": 1})
	bob.request(ctx, map[string]any{"op": "read", "room": "lobby", "seq": acked[4].seq, "rid": 1})
	bob.request(ctx, map[string]any{"op": "delivered", "room": "lobby", "seq": acked[4].seq, "rid": 2})

	// Traffic: carol sends one message after another until the backup is
	// written (at most 5000, at most 2 minutes).
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		deadline := time.Now().Add(2 * time.Minute)
		for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
			select {
			case <-stop:
				return
			default:
			}
			text := fmt.Sprintf("carol %d", i)
			ev, err := carol.SendText(ctx, "lobby", cid("c", i), text)
			if err != nil || ev.Type != "ack" {
				continue // rate limited: the next one
			}
			mu.Lock()
			acked = append(acked, ackedMsg{ev.Seq, text})
			mu.Unlock()
		}
	}()
	waitFor(t, ctx, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 20 })
	mu.Lock()
	before := append([]ackedMsg(nil), acked...)
	mu.Unlock()
	cursorsBefore := map[string]map[string]roomCursors{"alice": rooms(t, ctx, s, "alice"), "bob": rooms(t, ctx, s, "bob")}

	file := filepath.Join(t.TempDir(), "natter.backup")
	var out, errOut bytes.Buffer
	if err := run([]string{"backup", "--data", dir, "--out", file}, &out, &errOut); err != nil {
		t.Fatalf("backup: %v\n%s", err, errOut.String())
	}
	close(stop)
	wg.Wait()
	t.Logf("%s (%d messages acked before it began, %d by the end)", strings.TrimSpace(out.String()), len(before), len(acked))
	if err := run([]string{"backup", "--data", dir, "--out", file}, &out, &errOut); err == nil {
		t.Error("a backup overwrote an existing file")
	}
	s.stop()

	restored := filepath.Join(t.TempDir(), "restored")
	if err := run([]string{"restore", "--in", file, "--data", restored}, &out, &errOut); err != nil {
		t.Fatalf("restore: %v\n%s", err, errOut.String())
	}
	if err := run([]string{"restore", "--in", file, "--data", restored}, &out, &errOut); err == nil {
		t.Error("a restore into a non-empty data dir was accepted")
	}
	s2 := startServer(t, restored, func(m *Main) { m.Accounts, m.BcryptCost = true, 4 })

	// Accounts: the passwords still log in.
	for _, u := range []string{"alice", "bob"} {
		if r := authPost(t, ctx, s2, nil, "login", "", map[string]string{"username": u, "password": u + " password 123"}); r.status != 200 {
			t.Errorf("login %s after restore: %d %s", u, r.status, r.code)
		}
	}
	// Memberships and cursors.
	for user, want := range cursorsBefore {
		got := rooms(t, ctx, s2, user)
		for id, r := range want {
			if got[id].ID != id {
				t.Errorf("%s is no longer a member of %s", user, id)
				continue
			}
			if got[id].Delivered != r.Delivered || got[id].Read != r.Read {
				t.Errorf("%s's cursors in %s: %+v, before the backup %+v", user, id, got[id], r)
			}
		}
	}
	if c := cursorsBefore["alice"]["lobby"]; c.Delivered != before[3].seq {
		t.Fatalf("alice's delivered cursor before the backup %d, want %d (the test's own setup)", c.Delivered, before[3].seq)
	}
	// Every message acked before the backup began, over the WebSocket.
	reader := s2.connect(ctx, "alice")
	j := reader.join(ctx, "lobby", 0, epoch)
	if j.Epoch != epoch || j.Reset {
		t.Errorf("epoch after restore %q (reset %v), before %q", j.Epoch, j.Reset, epoch)
	}
	last := before[len(before)-1].seq
	got := map[uint64]string{}
	for len(got) == 0 || maxKey(got) < last {
		ev, err := reader.Expect(ctx, "msg")
		if err != nil {
			t.Fatalf("replay after restore: %v (got %d messages up to seq %d of %d)", err, len(got), maxKey(got), last)
		}
		if _, dup := got[ev.Seq]; dup {
			t.Fatalf("seq %d replayed twice", ev.Seq)
		}
		got[ev.Seq] = ev.Text
	}
	for _, m := range before {
		if got[m.seq] != m.text {
			t.Errorf("acked message seq %d %q: replayed as %q", m.seq, m.text, got[m.seq])
		}
	}
	// And in the history API, once the restored archive has caught up.
	waitFor(t, ctx, func() bool {
		var page struct {
			Messages []struct {
				Seq  uint64
				Text string
			}
		}
		archived := map[uint64]string{}
		for after := uint64(0); ; {
			if code := s2.getJSON(ctx, "alice", fmt.Sprintf("/api/rooms/lobby/messages?after=%d&limit=200", after), &page); code != 200 {
				t.Fatalf("history: %d", code)
			}
			for _, m := range page.Messages {
				archived[m.Seq] = m.Text
				after = m.Seq
			}
			if len(page.Messages) < 200 {
				break
			}
		}
		for _, m := range before {
			if archived[m.seq] != m.text {
				return false
			}
		}
		return true
	})
	if _, err := os.Stat(filepath.Join(restored, ".restore")); err == nil {
		t.Error("restore left its staging directory behind")
	}
}

func maxKey(m map[uint64]string) uint64 {
	var k uint64
	for s := range m {
		k = max(k, s)
	}
	return k
}

// A backup needs a running node: without one it fails and writes nothing.
func TestBackupNeedsRunningNode(t *testing.T) {
	out := filepath.Join(t.TempDir(), "b.tar")
	var stdout, stderr bytes.Buffer
	err := run([]string{"backup", "--data", t.TempDir(), "--out", out}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "running") {
		t.Errorf("backup of a stopped node: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed backup left a file")
	}
	bad := filepath.Join(t.TempDir(), "bad.tar")
	os.WriteFile(bad, []byte("not a tar"), 0o600)
	if err := run([]string{"restore", "--in", bad, "--data", filepath.Join(t.TempDir(), "d")}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "not a natter backup") {
		t.Errorf("restore of a non-backup: %v", err)
	}
}
