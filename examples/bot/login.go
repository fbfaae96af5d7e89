package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
)

// accountLogin is a client.TokenSource over the built-in accounts
// (docs/HTTP-API.md, /api/auth/*): it refreshes the token it holds, and
// logs in again when it has none or the refresh is refused (a restarted
// bot, or a session that was ended).
type accountLogin struct {
	base, user, password string

	mu  sync.Mutex
	tok string
}

func (a *accountLogin) token(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tok != "" {
		if tok, err := a.post(ctx, "/api/auth/refresh", nil, a.tok); err == nil {
			a.tok = tok
			return tok, nil
		}
	}
	tok, err := a.post(ctx, "/api/auth/login", map[string]string{"username": a.user, "password": a.password}, "")
	if err != nil {
		return "", err
	}
	a.tok = tok
	return tok, nil
}

func (a *accountLogin) post(ctx context.Context, path string, body any, bearer string) (string, error) {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", a.base+path, bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
		Error struct {
			Code, Message string
		} `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusOK || out.Token == "" {
		return "", fmt.Errorf("%s: HTTP %d %s %s", path, resp.StatusCode, out.Error.Code, out.Error.Message)
	}
	return out.Token, nil
}
