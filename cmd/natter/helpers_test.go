package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/auth"
	"github.com/natter-chat/natter/edge/wsclient"
)

// server is a natter serve process run in-process on loopback.
type server struct {
	t    *testing.T
	m    *Main
	dir  string
	keys *auth.Keys
}

// startServer runs Main on a random loopback port with data in dir (a new
// temp dir if empty). tweak may adjust the configuration.
func startServer(t *testing.T, dir string, tweak ...func(*Main)) *server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	m := NewMain()
	m.Addr = "127.0.0.1:0"
	m.DataDir = dir
	m.ShutdownTimeout = 3 * time.Second
	m.Net.MaxConnsPerIP = 0 // every test client dials from 127.0.0.1
	m.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		m.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	for _, f := range tweak {
		f(m)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("start server: %v", err)
	}
	secret, err := signingSecret(m.JWTSecret, dir, auth.LoadSecret)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.New(auth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, m: m, dir: dir, keys: keys}
	t.Cleanup(func() { s.stop() })
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (s *server) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.m.Close(ctx); err != nil {
		s.t.Logf("close: %v", err)
	}
}

func (s *server) wsURL() string { return strings.Replace(s.m.URL, "http://", "ws://", 1) + "/ws" }

func (s *server) token(user string) string {
	tok, err := s.keys.Issue(natter.UserID(user), time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// dialRaw dials without authenticating.
func (s *server) dialRaw(ctx context.Context) *wsclient.Client {
	s.t.Helper()
	c, err := wsclient.Dial(ctx, s.wsURL())
	if err != nil {
		s.t.Fatalf("dial: %v", err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}

// connect dials and authenticates user.
func (s *server) connect(ctx context.Context, user string) *tclient {
	s.t.Helper()
	c, err := wsclient.Dial(ctx, s.wsURL())
	if err != nil {
		s.t.Fatalf("dial: %v", err)
	}
	s.t.Cleanup(func() { c.Close() })
	if _, err := c.Auth(ctx, s.token(user)); err != nil {
		s.t.Fatalf("auth %s: %v", user, err)
	}
	return &tclient{Client: c, t: s.t, user: user}
}

// getJSON does an authenticated GET of the history API into v and returns
// the status code.
func (s *server) getJSON(ctx context.Context, user, path string, v any) int {
	s.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.m.URL+path, nil)
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+s.token(user))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			s.t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// tclient is a wsclient.Client whose helpers fail the test on error.
type tclient struct {
	*wsclient.Client
	t    *testing.T
	user string
}

func (c *tclient) join(ctx context.Context, room string, after int64, epoch string) wsclient.Event {
	c.t.Helper()
	ev, err := c.Join(ctx, room, after, epoch)
	if err != nil {
		c.t.Fatalf("%s join %s: %v", c.user, room, err)
	}
	return ev
}

func (c *tclient) send(ctx context.Context, room, cid, text string) wsclient.Event {
	c.t.Helper()
	ev, err := c.SendText(ctx, room, cid, text)
	if err != nil {
		c.t.Fatalf("%s send %s: %v", c.user, cid, err)
	}
	return ev
}

func (c *tclient) messages(ctx context.Context, room string, n int) []wsclient.Event {
	c.t.Helper()
	evs, err := c.Messages(ctx, room, n)
	if err != nil {
		c.t.Fatalf("%s: got %d of %d messages in %s: %v", c.user, len(evs), n, room, err)
	}
	return evs
}

func (c *tclient) request(ctx context.Context, op map[string]any) wsclient.Event {
	c.t.Helper()
	ev, err := c.Request(ctx, op)
	if err != nil {
		c.t.Fatalf("%s %v: %v", c.user, op["op"], err)
	}
	return ev
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func cid(prefix string, i int) string { return fmt.Sprintf("%s-%d", prefix, i) }

// waitFor polls cond until it holds or ctx ends (then the test fails).
func waitFor(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("condition not reached: %v", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// metricValue reads one metric (name with its labels, if any) from
// /metrics.
func metricValue(t *testing.T, s *server, name string) float64 {
	t.Helper()
	return metricVia(t, http.DefaultClient, s.m.URL, name)
}

// metricVia reads one metric from base's /metrics with client c.
func metricVia(t *testing.T, c *http.Client, base, name string) float64 {
	t.Helper()
	v, ok := metricLookup(t, c, base, name)
	if !ok {
		t.Fatalf("metric %s not exported", name)
	}
	return v
}

// metricLookup is metricVia for a metric that may not be exported yet (a
// labelled counter appears at its first increment).
func metricLookup(t *testing.T, c *http.Client, base, name string) (float64, bool) {
	t.Helper()
	for _, line := range scrape(t, c, base) {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v, true
		}
	}
	return 0, false
}

// scrape is the lines of base's /metrics.
func scrape(t *testing.T, c *http.Client, base string) []string {
	t.Helper()
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(body), "\n")
}

// startEdge runs an edge-only node on s's NATS (s must expose it:
// NATSListen) with s's signing secret.
func startEdge(t *testing.T, s *server, tweak ...func(*Main)) *server {
	t.Helper()
	secret, err := os.ReadFile(filepath.Join(s.dir, "jwt.secret"))
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, "", append([]func(*Main){func(m *Main) {
		m.Role = "edge"
		m.NATS = s.m.embedded.ClientURL()
		m.JWTSecret = strings.TrimSpace(string(secret))
	}}, tweak...)...)
}
