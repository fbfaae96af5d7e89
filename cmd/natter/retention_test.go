package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

// roomTexts is the texts of room's history pages, as user reads them.
func roomTexts(t *testing.T, ctx context.Context, s *server, user, room string) []string {
	t.Helper()
	var page struct{ Messages []struct{ Text string } }
	if code := s.getJSON(ctx, user, "/api/rooms/"+room+"/messages?after=0&limit=200", &page); code != 200 {
		t.Fatalf("history of %s: %d", room, code)
	}
	var texts []string
	for _, m := range page.Messages {
		texts = append(texts, m.Text)
	}
	return texts
}

// A room's owner sets its retention; members see it (the member event,
// joined.retention, the moderation state); messages older than it leave
// the stream (replay) and the history archive, those sent before it was
// set included, while other rooms keep theirs. Only the owner may set it,
// within bounds; 0 removes it.
func TestRoomRetention(t *testing.T) {
	s := startServer(t, "", generousRate, func(m *Main) { m.RetentionInterval = 200 * time.Millisecond })
	if !s.m.broker.MsgTTL() {
		t.Fatal("the stream does not take per-message TTLs")
	}
	ctx := ctxFor(t, 60*time.Second)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")
	alice.join(ctx, "brief", 0, "")
	alice.join(ctx, "keep", 0, "")
	bob.join(ctx, "brief", 0, "")
	alice.send(ctx, "brief", "old", "sent before the retention")
	alice.send(ctx, "keep", "k", "kept")
	waitFor(t, ctx, func() bool { return len(roomTexts(t, ctx, s, "alice", "brief")) == 1 })

	if code := moderate(ctx, bob, map[string]any{"op": "retention", "room": "brief", "seconds": 2}); code != natter.EFORBIDDEN {
		t.Errorf("a member set the retention: %q", code)
	}
	for _, bad := range []int{-1, natter.MaxRetention + 1} {
		if code := moderate(ctx, alice, map[string]any{"op": "retention", "room": "brief", "seconds": bad}); code != natter.EINVALID {
			t.Errorf("retention %d: %q", bad, code)
		}
	}
	if code := moderate(ctx, alice, map[string]any{"op": "retention", "room": "brief", "seconds": 2}); code != "" {
		t.Fatalf("owner's retention: %q", code)
	}
	if ev := expectMemberEvent(t, ctx, bob, "retention", "", "alice"); ev.Seconds != 2 {
		t.Errorf("member event: %+v", ev)
	}
	if j := s.connect(ctx, "bob").join(ctx, "brief", 0, ""); j.Retention != 2 {
		t.Errorf("joined.retention %d, want 2", j.Retention)
	}
	var st natter.ModState
	if code := s.getJSON(ctx, "bob", "/api/rooms/brief/moderation", &st); code != 200 || st.Retention != 2 {
		t.Errorf("moderation state: %d %+v", code, st)
	}
	alice.send(ctx, "brief", "new", "sent with the retention")

	// Both go: the old one by the sweep, the new one by its TTL (and the
	// sweep, for the archive).
	waitFor(t, ctx, func() bool { return len(roomTexts(t, ctx, s, "alice", "brief")) == 0 })
	late := s.connect(ctx, "alice")
	j := late.join(ctx, "brief", 0, "")
	if j.Last != 0 {
		t.Errorf("the stream still has messages of the room: last %d", j.Last)
	}
	if got := roomTexts(t, ctx, s, "alice", "keep"); len(got) != 1 {
		t.Errorf("the other room lost its messages: %q", got)
	}
	if v := metricValue(t, s, "natter_history_pruned_total"); v < 2 {
		t.Errorf("natter_history_pruned_total %v", v)
	}

	// Off again: new messages stay.
	if code := moderate(ctx, alice, map[string]any{"op": "retention", "room": "brief", "seconds": 0}); code != "" {
		t.Fatalf("retention 0: %q", code)
	}
	expectMemberEvent(t, ctx, bob, "retention", "", "alice")
	alice.send(ctx, "brief", "after", "sent after the retention ended")
	time.Sleep(2500 * time.Millisecond) // longer than the old retention: nothing may expire
	if got := roomTexts(t, ctx, s, "alice", "brief"); len(got) != 1 {
		t.Errorf("after the retention was removed: %q", got)
	}
}

// A changed --stream-max-age reaches an existing stream, with a log line;
// a node that was not given it leaves the stream's as it is. And
// --history-max-age shorter than the stream's retention is refused.
func TestStreamLimitsApplied(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	if got := s.m.broker.StreamMaxAge(); got != 0 {
		t.Fatalf("new stream's max age %v", got)
	}
	s.stop()

	var mu sync.Mutex
	var logs bytes.Buffer
	logTo := func(m *Main) {
		m.Log = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	}
	s = startServer(t, dir, logTo, func(m *Main) {
		m.StreamMaxAge, m.ApplyLimits.MaxAge = 48*time.Hour, true
	})
	if got := s.m.broker.StreamMaxAge(); got != 48*time.Hour {
		t.Errorf("max age after restart with --stream-max-age 48h: %v", got)
	}
	mu.Lock()
	line := logs.String()
	mu.Unlock()
	if !strings.Contains(line, "stream limits changed") || !strings.Contains(line, "max_age") {
		t.Errorf("no log line of the change:\n%s", line)
	}
	s.stop()

	// Not given (the default, 0): kept.
	s = startServer(t, dir)
	if got := s.m.broker.StreamMaxAge(); got != 48*time.Hour {
		t.Errorf("a node without --stream-max-age changed the stream's to %v", got)
	}
	s.stop()

	m := NewMain()
	m.Addr, m.DataDir, m.HistoryMaxAge = "127.0.0.1:0", dir, time.Hour
	m.Log = slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	err := m.Run(context.Background())
	if err == nil {
		m.Close(context.Background())
	}
	if err == nil || !strings.Contains(err.Error(), "--history-max-age") {
		t.Errorf("history max age 1h under a 48h stream: %v", err)
	}
	s = startServer(t, dir, func(m *Main) { m.HistoryMaxAge = 72 * time.Hour })
	s.stop()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// New messages of a room with a retention carry it as their TTL: the
// stream drops them when due, without the sweep (which runs here only at
// start, before the retention is set).
func TestRoomRetentionTTL(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.RetentionInterval = time.Hour })
	ctx := ctxFor(t, 30*time.Second)
	alice := s.connect(ctx, "alice")
	alice.join(ctx, "brief", 0, "")
	if code := moderate(ctx, alice, map[string]any{"op": "retention", "room": "brief", "seconds": 1}); code != "" {
		t.Fatalf("retention: %q", code)
	}
	alice.send(ctx, "brief", "m", "short-lived") // acked: it was stored
	waitFor(t, ctx, func() bool {
		last, err := s.m.broker.LastSeq(ctx, "brief")
		if err != nil {
			t.Fatal(err)
		}
		return last == 0
	})
}
