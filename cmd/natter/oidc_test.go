package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/natter-chat/natter/oidc/oidctest"
)

// People at the test provider. "has space" is a subject that is no valid
// user id; "ann" collides with a password account of the same name.
var oidcUsers = []oidctest.User{
	{Subject: "ida", Username: "ida@idp.test", Password: "ida-password"},
	{Subject: "has space", Username: "spacey@idp.test", Password: "spacey-password"},
	{Subject: "ann", Username: "ann@idp.test", Password: "ann-password"},
	{Subject: "u-42", Username: "gus", Password: "gus-password"},
}

// freeAddr is a loopback address nobody listens on: the redirect URL
// registered at the provider must name the server's port before the
// server starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startOIDC runs the provider and a server that logs in with it.
func startOIDC(t *testing.T, tweak ...func(*Main)) (*server, *oidctest.Provider) {
	t.Helper()
	addr := freeAddr(t)
	redirect := "http://" + addr + "/api/auth/oidc/callback"
	p := oidctest.Start(t, redirect, oidcUsers...)
	s := startServer(t, "", append([]func(*Main){withAccounts, func(m *Main) {
		m.Addr = addr
		m.OIDC = OIDCConfig{Issuer: p.Issuer, ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret,
			RedirectURL: redirect, Claim: "sub", Scopes: "openid,profile,email", Name: "Test IdP"}
	}}, tweak...)...)
	return s, p
}

// oidcLogin goes through the login as a browser would, without running
// scripts: Natter's login endpoint, the provider's login form, back
// through the callback. It returns the callback's status and, for a
// redirect, where it sends the browser (the UI, with #token=…), else the
// page's text.
func oidcLogin(t *testing.T, ctx context.Context, s *server, p *oidctest.Provider, username, password string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	ui := s.m.URL + "/"
	client := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.String() == ui || strings.HasPrefix(req.URL.String(), ui+"#") {
			return http.ErrUseLastResponse // the UI: stop at the callback's answer
		}
		return nil
	}}
	get := func(u string) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		return resp
	}
	resp := get(s.m.URL + "/api/auth/oidc/login?return_to=" + url.QueryEscape(ui))
	resp.Body.Close()
	// At the provider's login form.
	id := resp.Request.URL.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusOK || id == "" || !strings.HasPrefix(resp.Request.URL.String(), p.Issuer) {
		t.Fatalf("login start ended at %s (%d), not the provider's login form", resp.Request.URL, resp.StatusCode)
	}
	form := url.Values{"id": {id}, "username": {username}, "password": {password}}
	req, _ := http.NewRequestWithContext(ctx, "POST", p.Issuer+"/login/username", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("provider login: %v", err)
	}
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Request.URL.String(), s.m.URL+"/api/auth/oidc/callback") {
		t.Fatalf("provider login ended at %s (%d), not our callback", resp.Request.URL, resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, loc
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// A person logs in at the provider and comes back to the UI with a Natter
// token for their subject, which the WebSocket accepts and which
// refreshes; the account it made has no password.
func TestOIDCLogin(t *testing.T) {
	s, p := startOIDC(t)
	ctx := ctxFor(t, 60*time.Second)
	var cfg map[string]any
	if st := apiGet(t, ctx, s, "", "/api/auth/config", &cfg); st != http.StatusOK ||
		cfg["login_url"] != "/api/auth/oidc/login" || cfg["login_name"] != "Test IdP" || cfg["accounts"] != true {
		t.Fatalf("config: %d %v", st, cfg)
	}
	st, loc := oidcLogin(t, ctx, s, p, "ida@idp.test", "ida-password")
	token, ok := strings.CutPrefix(loc, "/#token=")
	if st != http.StatusSeeOther || !ok {
		t.Fatalf("callback: %d %q; want 303 to /#token=…", st, loc)
	}
	claims, err := s.keys.Verify(token)
	if err != nil || claims.User != "ida" {
		t.Fatalf("token: %+v %v", claims, err)
	}
	wsWith(t, ctx, s, token)
	refreshed := mustAuth(t, ctx, s, "refresh", token, nil, http.StatusOK)
	if c, err := s.keys.Verify(refreshed); err != nil || c.Session != claims.Session {
		t.Fatalf("refresh: %+v %v (session %s)", c, err, claims.Session)
	}
	// No password logs into it, and none can be set.
	if r := authPost(t, ctx, s, nil, "login", "", credentials("ida", "ida-password")); r.status != http.StatusUnauthorized {
		t.Fatalf("password login to an OpenID account: %d", r.status)
	}
	if r := authPost(t, ctx, s, nil, "password", token, map[string]string{"current": "x", "new": "new-password"}); r.status != http.StatusForbidden {
		t.Fatalf("password change of an OpenID account: %d", r.status)
	}
	// Logging in again is the same account.
	if st, loc := oidcLogin(t, ctx, s, p, "ida@idp.test", "ida-password"); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/#token=") {
		t.Fatalf("second login: %d %q", st, loc)
	}
}

// Logins that must not yield a token: a subject that is no user id, a
// user id that a password account holds, a wrong password at the
// provider, a callback without the login's cookie or with another state.
func TestOIDCLoginRefused(t *testing.T) {
	s, p := startOIDC(t)
	ctx := ctxFor(t, 60*time.Second)
	mustAuth(t, ctx, s, "register", "", credentials("ann", "ann-own-password"), http.StatusCreated)
	cases := []struct {
		name, user, password string
		status               int
		page                 string
	}{
		{"invalid user id", "spacey@idp.test", "spacey-password", http.StatusForbidden, "is not a valid user id"},
		{"password account", "ann@idp.test", "ann-password", http.StatusForbidden, "belongs to an account with a password"},
	}
	for _, tc := range cases {
		st, page := oidcLogin(t, ctx, s, p, tc.user, tc.password)
		if st != tc.status || !strings.Contains(page, tc.page) {
			t.Errorf("%s: %d %q; want %d with %q", tc.name, st, page, tc.status, tc.page)
		}
	}
	// The password account is untouched.
	mustAuth(t, ctx, s, "login", "", credentials("ann", "ann-own-password"), http.StatusOK)

	for _, q := range []string{"?code=x&state=y", "?error=access_denied"} {
		resp, err := http.Get(s.m.URL + "/api/auth/oidc/callback" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "expired or was started in another browser") {
			t.Errorf("callback%s without the cookie: %d %s", q, resp.StatusCode, body)
		}
	}
}

// Another claim maps the user id: preferred_username, which this provider
// sends in userinfo only.
func TestOIDCLoginClaim(t *testing.T) {
	s, p := startOIDC(t, func(m *Main) { m.OIDC.Claim = "preferred_username" })
	ctx := ctxFor(t, 60*time.Second)
	st, loc := oidcLogin(t, ctx, s, p, "gus", "gus-password")
	token, ok := strings.CutPrefix(loc, "/#token=")
	if st != http.StatusSeeOther || !ok {
		t.Fatalf("callback: %d %q", st, loc)
	}
	if c, err := s.keys.Verify(token); err != nil || c.User != "gus" {
		t.Fatalf("token: %+v %v", c, err)
	}
}

// With the provider down, the server still starts and serves; the login
// button's endpoint says so.
func TestOIDCProviderDown(t *testing.T) {
	addr := freeAddr(t)
	s := startServer(t, "", func(m *Main) {
		m.Addr = addr
		m.OIDC = OIDCConfig{Issuer: "http://" + freeAddr(t), ClientID: "natter", RedirectURL: "http://" + addr + "/api/auth/oidc/callback"}
	})
	resp, err := http.Get(s.m.URL + "/api/auth/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("login with the provider down: %d", resp.StatusCode)
	}
}
