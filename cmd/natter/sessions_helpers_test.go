package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/natter-chat/natter/edge/wsclient"
)

// withAccounts turns built-in accounts on, with cheap password hashes.
func withAccounts(m *Main) { m.Accounts, m.BcryptCost = true, 4 }

// authReply is a reply of the /api/auth API.
type authReply struct {
	status int
	header http.Header
	token  string // of a session reply
	code   string // of an error reply
}

// fromIP returns an HTTP client whose connections come from ip (any
// 127.0.0.0/8 address is local on Linux), for per-IP limits. Its idle
// connections are closed when t ends.
func fromIP(t *testing.T, ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// authPost posts body (JSON, unless nil) to /api/auth/<path> with token as
// bearer (if set), through client (http.DefaultClient if nil).
func authPost(t *testing.T, ctx context.Context, s *server, client *http.Client, path, token string, body any) authReply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", s.m.URL+"/api/auth/"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", path, err)
		return authReply{}
	}
	defer resp.Body.Close()
	var v struct {
		Token string `json:"token"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &v)
	return authReply{status: resp.StatusCode, header: resp.Header, token: v.Token, code: v.Error.Code}
}

func credentials(user, password string) map[string]string {
	return map[string]string{"username": user, "password": password}
}

// mustAuth posts and fails the test unless the reply is want with a token.
func mustAuth(t *testing.T, ctx context.Context, s *server, path, token string, body any, want int) string {
	t.Helper()
	r := authPost(t, ctx, s, nil, path, token, body)
	if r.status != want || r.token == "" {
		t.Fatalf("POST %s: %d %s; want %d with a token", path, r.status, r.code, want)
	}
	return r.token
}

// wsWith dials and authenticates with token.
func wsWith(t *testing.T, ctx context.Context, s *server, token string) *wsclient.Client {
	t.Helper()
	c := dialWS(t, ctx, s)
	if _, err := c.Auth(ctx, token); err != nil {
		t.Fatalf("auth: %v", err)
	}
	return c
}

// expectSessionEnded waits for the unauthorized error event and the 4001
// close that end a revoked connection.
func expectSessionEnded(t *testing.T, ctx context.Context, c *wsclient.Client, who string) {
	t.Helper()
	ev, err := c.Expect(ctx, "error")
	if err != nil || ev.Code != "unauthorized" {
		t.Errorf("%s: %+v, %v; want an unauthorized error event", who, ev, err)
		return
	}
	cl, err := c.Wait(ctx)
	if err != nil || cl.Code != 4001 {
		t.Errorf("%s: closed %+v, %v; want 4001", who, cl, err)
	}
}

// expectAlive checks that c still answers.
func expectAlive(t *testing.T, ctx context.Context, c *wsclient.Client, who string) {
	t.Helper()
	if _, err := c.Request(ctx, map[string]any{"op": "ping"}); err != nil {
		var closed *wsclient.Closed
		if errors.As(err, &closed) {
			t.Errorf("%s: closed %d %s; want it open", who, closed.Code, closed.Reason)
			return
		}
		t.Errorf("%s: ping: %v", who, err)
	}
}
