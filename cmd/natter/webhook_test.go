package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter/webhook"
)

const testHookSecret = "test-webhook-secret-0123456789"

// receiver is a webhook endpoint on loopback that verifies every
// delivery's signature, fails while failing > 0 (counting down), and keeps
// the accepted payloads once each by id, in the order first accepted.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	failing  int // the next this many deliveries get 503; negative: all
	attempts int
	bad      int // deliveries whose signature did not verify
	seen     map[string]bool
	got      []webhook.Payload
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{t: t, failing: failFirst, seen: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if err == nil {
		err = webhook.Verify([]byte(testHookSecret), req.Header.Get(webhook.HeaderTimestamp), req.Header.Get(webhook.HeaderSignature), body, time.Now(), webhook.DefaultTolerance)
	}
	if err != nil {
		r.bad++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.failing != 0 {
		r.failing--
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.ID != req.Header.Get(webhook.HeaderID) {
		r.bad++
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	if !r.seen[p.ID] { // at least once: dedupe by id
		r.seen[p.ID] = true
		r.got = append(r.got, p)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) state() (attempts, bad int, got []webhook.Payload) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts, r.bad, append([]webhook.Payload(nil), r.got...)
}

func (r *receiver) setFailing(n int) {
	r.mu.Lock()
	r.failing = n
	r.mu.Unlock()
}

// withHook points the server's webhook at r (loopback: private allowed).
func withHook(r *receiver) func(*Main) {
	return func(m *Main) {
		m.Rate, m.Burst = 1000, 1000
		m.Hooks.URL, m.Hooks.Secret, m.Hooks.AllowPrivate = r.srv.URL, testHookSecret, true
		m.Hooks.MaxBackoff = 200 * time.Millisecond
	}
}

// waitDelivered waits until r accepted n records and returns them.
func waitDelivered(t *testing.T, ctx context.Context, r *receiver, n int) []webhook.Payload {
	t.Helper()
	var got []webhook.Payload
	if err := poll(ctx, func() bool { _, _, got = r.state(); return len(got) >= n }); err != nil {
		t.Fatalf("webhook received %d of %d records: %v", len(got), n, err)
	}
	return got
}

// The receiver refuses the first deliveries: they are retried with backoff
// until it accepts, signed each time; every record arrives once, in stream
// order (so in each room's order), with its kind.
func TestWebhookRetriesThenDelivers(t *testing.T) {
	const failFirst = 4
	rcv := newReceiver(t, failFirst)
	s := startServer(t, "", withHook(rcv))
	ctx := ctxFor(t, 60*time.Second)
	alice := s.connectV2(ctx, "alice")
	for _, room := range []string{"red", "blue"} {
		alice.request(ctx, map[string]any{"op": "create", "room": room})
		alice.join(ctx, room, -1, "")
	}
	var seqs []uint64
	for i := 0; i < 6; i++ {
		room := []string{"red", "blue"}[i%2]
		seqs = append(seqs, alice.send(ctx, room, cid("m", i), fmt.Sprint("hello ", i)).Seq)
	}
	edit := alice.ok(alice.Request(ctx, map[string]any{"op": "edit", "room": "red", "seq": seqs[0], "text": "hello again", "cid": "e1"}))
	seqs = append(seqs, edit.Seq)

	got := waitDelivered(t, ctx, rcv, len(seqs))
	attempts, bad, _ := rcv.state()
	if bad != 0 {
		t.Fatalf("%d deliveries did not verify", bad)
	}
	if attempts < len(seqs)+failFirst {
		t.Fatalf("%d attempts for %d records with the first %d refused: no retries?", attempts, len(seqs), failFirst)
	}
	for i, p := range got[:len(seqs)] {
		if p.Record.Seq != seqs[i] {
			t.Fatalf("delivery %d is seq %d, want %d (stream order)", i, p.Record.Seq, seqs[i])
		}
		if want := fmt.Sprintf("%s-%d", p.Record.Epoch, p.Record.Seq); p.ID != want {
			t.Fatalf("payload id %q, want %q", p.ID, want)
		}
	}
	if p := got[0]; p.Type != "message" || p.Record.Room != "red" || p.Record.From != "alice" || p.Record.Text != "hello 0" {
		t.Fatalf("first payload %+v", p)
	}
	if p := got[len(seqs)-1]; p.Type != "edit" || p.Record.Target != seqs[0] || p.Record.Text != "hello again" {
		t.Fatalf("edit payload %+v", p)
	}
	if v := metricValue(t, s, "natter_webhook_failures_total"); v < failFirst {
		t.Fatalf("natter_webhook_failures_total %v, want >= %d", v, failFirst)
	}
	if v := metricValue(t, s, "natter_webhook_delivered_total"); v < float64(len(seqs)) {
		t.Fatalf("natter_webhook_delivered_total %v, want >= %d", v, len(seqs))
	}
}

// Records stored while the receiver is down, then a restart of the server
// before any was delivered: the restarted server delivers exactly what
// was stored, in order.
func TestWebhookSurvivesRestart(t *testing.T) {
	rcv := newReceiver(t, -1) // down
	dir := t.TempDir()
	s := startServer(t, dir, withHook(rcv))
	ctx := ctxFor(t, 90*time.Second)
	alice := s.connect(ctx, "alice")
	alice.request(ctx, map[string]any{"op": "create", "room": "ops"})
	alice.join(ctx, "ops", -1, "")
	var seqs []uint64
	for i := 0; i < 5; i++ {
		seqs = append(seqs, alice.send(ctx, "ops", cid("r", i), fmt.Sprint("stored ", i)).Seq)
	}
	if err := poll(ctx, func() bool { a, _, _ := rcv.state(); return a >= 2 }); err != nil {
		t.Fatalf("no delivery attempt before the restart: %v", err)
	}
	s.stop()
	rcv.setFailing(0) // back up while the server is down

	s2 := startServer(t, dir, withHook(rcv))
	got := waitDelivered(t, ctx, rcv, len(seqs))
	// Nothing beyond what was stored arrives: give it a moment to show.
	alice2 := s2.connect(ctx, "alice")
	alice2.join(ctx, "ops", -1, "")
	marker := alice2.send(ctx, "ops", "marker", "after restart").Seq
	got = waitDelivered(t, ctx, rcv, len(seqs)+1)
	if len(got) != len(seqs)+1 {
		t.Fatalf("received %d records, want %d", len(got), len(seqs)+1)
	}
	for i, seq := range append(seqs, marker) {
		if got[i].Record.Seq != seq {
			t.Fatalf("delivery %d is seq %d, want %d", i, got[i].Record.Seq, seq)
		}
	}
	if _, bad, _ := rcv.state(); bad != 0 {
		t.Fatalf("%d deliveries did not verify", bad)
	}
}

// testBotToken is helpbot's bot token in adminToken's file.
const testBotToken = "bot-token-for-helpbot-0123456789abcdef"

// adminToken writes an admin token file (an admin token and helpbot's
// testBotToken) into the server's data dir and returns the admin token.
func adminToken(t *testing.T, dir string) (string, func(*Main)) {
	tok := "admin-token-for-tests-0123456789abcdef"
	path := filepath.Join(dir, "admin.tokens")
	if err := os.WriteFile(path, []byte("# test\n"+tok+"\nbot:helpbot "+testBotToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return tok, func(m *Main) { m.Hooks.AdminTokens = path }
}

// adminPost POSTs body as JSON with token (admin, bot or a user's) and
// decodes a 2xx answer into out.
func adminPost(t *testing.T, ctx context.Context, s *server, token, path string, body any, out any) int {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, "POST", s.m.URL+path, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// The admin API creates a private room, adds a member and posts into it
// as a bot: the member, connected over WebSocket, receives the posts live
// in the order the API acknowledged them, and so does the webhook. A
// user's token, or none, is refused.
func TestAdminAPIPostsLive(t *testing.T) {
	dir := t.TempDir()
	tok, withAdmin := adminToken(t, dir)
	rcv := newReceiver(t, 0)
	s := startServer(t, dir, withHook(rcv), withAdmin)
	ctx := ctxFor(t, 60*time.Second)

	for _, c := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {s.token("alice"), http.StatusForbidden}, {tok + "x", http.StatusForbidden}} {
		if code := adminPost(t, ctx, s, c.token, "/api/admin/rooms", map[string]any{"id": "support"}, nil); code != c.want {
			t.Fatalf("create room with token %.12q: %d, want %d", c.token, code, c.want)
		}
	}
	if code := adminPost(t, ctx, s, tok, "/api/admin/rooms", map[string]any{"id": "support", "kind": "private"}, nil); code != http.StatusCreated {
		t.Fatalf("create room: %d, want 201", code)
	}
	bob := s.connect(ctx, "bob")
	if ev, err := bob.Join(ctx, "support", -1, ""); err == nil {
		t.Fatalf("bob joined a private room he is not in: %+v", ev)
	}
	if code := adminPost(t, ctx, s, s.token("alice"), "/api/admin/rooms/support/members", map[string]any{"user": "alice"}, nil); code != http.StatusForbidden {
		t.Fatalf("add member with a user token: %d, want 403", code)
	}
	if code := adminPost(t, ctx, s, tok, "/api/admin/rooms/support/members", map[string]any{"user": "bob"}, nil); code != http.StatusNoContent {
		t.Fatalf("add member: %d, want 204", code)
	}
	if code := adminPost(t, ctx, s, tok, "/api/admin/rooms/support/members", map[string]any{"user": "bob"}, nil); code != http.StatusNoContent {
		t.Fatalf("add member again: %d, want 204", code)
	}
	bob.join(ctx, "support", -1, "")
	for _, c := range []struct {
		path string
		body map[string]any
		want int
	}{
		{"/api/admin/rooms/nowhere/messages", map[string]any{"text": "x"}, http.StatusNotFound},
		{"/api/admin/rooms/support/messages", map[string]any{"text": ""}, http.StatusBadRequest},
		{"/api/admin/rooms/support/messages", map[string]any{"text": "x", "from": "no.dots"}, http.StatusBadRequest},
		{"/api/admin/rooms/support/messages", map[string]any{"text": strings.Repeat("x", s.m.MaxText+1)}, http.StatusRequestEntityTooLarge},
		{"/api/admin/rooms/nowhere/members", map[string]any{"user": "bob"}, http.StatusNotFound},
		{"/api/admin/rooms", map[string]any{"id": "support", "kind": "public"}, http.StatusConflict},
		{"/api/admin/rooms", map[string]any{"id": "dm-x"}, http.StatusBadRequest},
	} {
		if code := adminPost(t, ctx, s, tok, c.path, c.body, nil); code != c.want {
			t.Fatalf("POST %s %v: %d, want %d", c.path, c.body, code, c.want)
		}
	}

	type posted struct{ Seq uint64 }
	var acked []uint64
	for i := 0; i < 3; i++ {
		var p posted
		body := map[string]any{"from": "helpbot", "text": fmt.Sprintf("ticket %d @bob", i), "cid": cid("bot", i)}
		if code := adminPost(t, ctx, s, tok, "/api/admin/rooms/support/messages", body, &p); code != http.StatusOK || p.Seq == 0 {
			t.Fatalf("post %d: %d %+v", i, code, p)
		}
		acked = append(acked, p.Seq)
	}
	var again posted
	if code := adminPost(t, ctx, s, tok, "/api/admin/rooms/support/messages", map[string]any{"from": "helpbot", "text": "ticket 2 @bob", "cid": cid("bot", 2)}, &again); code != http.StatusOK || again.Seq != acked[2] {
		t.Fatalf("resend with the same cid: %d seq %d, want the original %d", code, again.Seq, acked[2])
	}
	if code := adminPost(t, ctx, s, s.token("bob"), "/api/admin/rooms/support/messages", map[string]any{"text": "spoof"}, nil); code != http.StatusForbidden {
		t.Fatalf("post with a user token: %d, want 403", code)
	}
	msgs := bob.messages(ctx, "support", 3)
	for i, m := range msgs {
		if m.Seq != acked[i] || m.From != "helpbot" || !strings.HasPrefix(m.Text, fmt.Sprint("ticket ", i)) {
			t.Fatalf("bob's message %d: %+v, want seq %d from helpbot", i, m, acked[i])
		}
	}
	got := waitDelivered(t, ctx, rcv, 3)
	for i, p := range got[:3] {
		if p.Record.Seq != acked[i] || len(p.Record.Mentions) != 1 || p.Record.Mentions[0] != "bob" {
			t.Fatalf("webhook record %d: %+v, want seq %d mentioning bob", i, p.Record, acked[i])
		}
	}
}

// A record still undelivered after --webhook-max-age is dead-lettered
// (counted, skipped), and the records after it are delivered.
func TestWebhookDeadLetters(t *testing.T) {
	rcv := newReceiver(t, -1)
	s := startServer(t, "", withHook(rcv), func(m *Main) { m.Hooks.MaxAge = time.Second })
	ctx := ctxFor(t, 60*time.Second)
	alice := s.connect(ctx, "alice")
	alice.request(ctx, map[string]any{"op": "create", "room": "ops"})
	alice.join(ctx, "ops", -1, "")
	alice.send(ctx, "ops", "old", "never delivered")
	if err := poll(ctx, func() bool { return metricValue(t, s, "natter_webhook_dead_total") >= 1 }); err != nil {
		t.Fatalf("not dead-lettered: %v", err)
	}
	rcv.setFailing(0)
	next := alice.send(ctx, "ops", "new", "delivered").Seq
	got := waitDelivered(t, ctx, rcv, 1)
	if len(got) != 1 || got[0].Record.Seq != next {
		t.Fatalf("received %+v, want only seq %d", got, next)
	}
}

// A bot token posts as its bot only, into rooms the bot is a member of,
// and does nothing else; its @room stays text.
func TestAdminAPIBotToken(t *testing.T) {
	dir := t.TempDir()
	tok, withAdmin := adminToken(t, dir)
	s := startServer(t, dir, withAdmin)
	ctx := ctxFor(t, 60*time.Second)
	if code := adminPost(t, ctx, s, tok, "/api/admin/rooms", map[string]any{"id": "lobby"}, nil); code != http.StatusCreated {
		t.Fatalf("create room: %d", code)
	}
	post := func(body map[string]any) int {
		return adminPost(t, ctx, s, testBotToken, "/api/admin/rooms/lobby/messages", body, nil)
	}
	if code := post(map[string]any{"text": "hi", "cid": "b0"}); code != http.StatusForbidden {
		t.Fatalf("bot posts into a room it is not in: %d, want 403", code)
	}
	if code := adminPost(t, ctx, s, tok, "/api/admin/rooms/lobby/members", map[string]any{"user": "helpbot"}, nil); code != http.StatusNoContent {
		t.Fatalf("add helpbot: %d", code)
	}
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/api/admin/rooms", map[string]any{"id": "botroom"}},
		{"/api/admin/rooms/lobby/members", map[string]any{"user": "mallory"}},
		{"/api/admin/rooms/lobby/messages", map[string]any{"from": "system", "text": "spoof", "cid": "b1"}},
	} {
		if code := adminPost(t, ctx, s, testBotToken, c.path, c.body, nil); code != http.StatusForbidden {
			t.Fatalf("bot token POST %s %v: %d, want 403", c.path, c.body, code)
		}
	}
	bob := s.connect(ctx, "bob")
	bob.join(ctx, "lobby", -1, "")
	var p struct{ Seq uint64 }
	if code := adminPost(t, ctx, s, testBotToken, "/api/admin/rooms/lobby/messages", map[string]any{"text": "hello @room @bob", "cid": "b2"}, &p); code != http.StatusOK {
		t.Fatalf("bot post: %d", code)
	}
	m := bob.messages(ctx, "lobby", 1)[0]
	if m.Seq != p.Seq || m.From != "helpbot" {
		t.Fatalf("bob got %+v, want seq %d from helpbot", m, p.Seq)
	}
	var one struct {
		Mentions []string `json:"mentions"`
	}
	waitFor(t, ctx, func() bool {
		return s.getJSON(ctx, "bob", fmt.Sprintf("/api/rooms/lobby/messages/%d", p.Seq), &one) == http.StatusOK
	})
	if len(one.Mentions) != 1 || one.Mentions[0] != "bob" {
		t.Fatalf("mentions %v, want [bob] (a bot's @room is text)", one.Mentions)
	}
	// The room's owner mutes the bot: its token is refused like a muted
	// member's send.
	var act map[string]any
	if code := adminPost(t, ctx, s, s.token("system"), "/api/rooms/lobby/moderation", map[string]any{"action": "mute", "user": "helpbot"}, &act); code != http.StatusOK {
		t.Fatalf("mute helpbot: %d %v", code, act)
	}
	waitFor(t, ctx, func() bool { return post(map[string]any{"text": "still here?", "cid": "b3"}) == http.StatusForbidden })
}
