package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/edge/wsclient"
)

// natter token mints what the server started on the same data dir accepts,
// and the secret file's text works as --jwt-secret too.
func TestTokenCommand(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 10*time.Second)
	var out, errOut bytes.Buffer
	if err := run([]string{"token", "--data", s.dir, "--user", "zoe", "--ttl", "1h"}, &out, &errOut); err != nil {
		t.Fatalf("natter token: %v (%s)", err, errOut.String())
	}
	secret, err := os.ReadFile(filepath.Join(s.dir, "jwt.secret"))
	if err != nil {
		t.Fatal(err)
	}
	var out2 bytes.Buffer
	if err := run([]string{"token", "--jwt-secret", strings.TrimSpace(string(secret)), "--user", "zoe"}, &out2, &errOut); err != nil {
		t.Fatalf("natter token --jwt-secret: %v", err)
	}
	for _, tok := range []string{out.String(), out2.String()} {
		c := s.dialRaw(ctx)
		if ev, err := c.Auth(ctx, strings.TrimSpace(tok)); err != nil || ev.User != "zoe" {
			t.Fatalf("server refused the minted token: %+v %v", ev, err)
		}
	}
	// A data dir without a secret is an error, not a fresh secret.
	empty := t.TempDir()
	if err := run([]string{"token", "--data", empty, "--user", "zoe"}, &out, &errOut); err == nil {
		t.Fatal("token minted from a data dir that has no secret")
	}
	if _, err := os.Stat(filepath.Join(empty, "jwt.secret")); !os.IsNotExist(err) {
		t.Fatalf("natter token created a secret in %s", empty)
	}
}

// Flags also read NATTER_* environment variables; the command line wins.
func TestFlagsFromEnvironment(t *testing.T) {
	t.Setenv("NATTER_ADDR", "127.0.0.1:9999")
	t.Setenv("NATTER_MAX_TEXT", "123")
	t.Setenv("NATTER_DATA", "/from/env")
	m := NewMain()
	fs := newServeFlags(m, &bytes.Buffer{})
	if err := parse(fs, []string{"--data", "/from/flag"}); err != nil {
		t.Fatal(err)
	}
	if m.Addr != "127.0.0.1:9999" || m.MaxText != 123 || m.DataDir != "/from/flag" {
		t.Fatalf("addr %q max-text %d data %q", m.Addr, m.MaxText, m.DataDir)
	}
	var help bytes.Buffer
	fs = newServeFlags(NewMain(), &help)
	_ = parse(fs, []string{"-h"})
	for _, want := range []string{"--addr", "NATTER_ADDR", "NATTER_JWT_SECRET", "NATTER_DATA"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("serve -h does not mention %s", want)
		}
	}
	t.Setenv("NATTER_RATE", "fast")
	if err := parse(newServeFlags(NewMain(), &help), nil); err == nil {
		t.Error("a malformed NATTER_RATE was accepted")
	}
}

// A connection does not outlive its token: when the token expires the
// server says so and closes with 4001, unless the client renewed it with
// another auth first. A token of another user does not renew it.
func TestTokenExpiryClosesConnection(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 30*time.Second)
	mint := func(user string, ttl time.Duration) string {
		tok, err := s.keys.Issue(natter.UserID(user), ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	expiring := s.dialRaw(ctx)
	if _, err := expiring.Auth(ctx, mint("alice", 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	renewed := s.dialRaw(ctx)
	if _, err := renewed.Auth(ctx, mint("bob", 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := renewed.Request(ctx, map[string]any{"op": "auth", "token": mint("carol", time.Hour)}); wsclient.ErrorCode(err) != "forbidden" {
		t.Fatalf("re-auth as another user: %v, want forbidden", err)
	}
	if ev, err := renewed.Request(ctx, map[string]any{"op": "auth", "token": mint("bob", time.Hour)}); err != nil || ev.Type != "ok" {
		t.Fatalf("re-auth: %+v %v", ev, err)
	}

	closed, err := expiring.Wait(ctx)
	if err != nil || closed.Code != 4001 || closed.Reason != "token expired" {
		t.Fatalf("expired connection: %+v %v, want close 4001 token expired", closed, err)
	}
	// bob's first token expired at the same time; give the sweep a turn.
	time.Sleep(1500 * time.Millisecond)
	if ev, err := renewed.Request(ctx, map[string]any{"op": "ping"}); err != nil || ev.Type != "pong" {
		t.Fatalf("renewed connection after its first token expired: %+v %v", ev, err)
	}
}
