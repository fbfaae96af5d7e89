package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/auth"
)

// A stolen token, even one refreshed since, is worth nothing once its
// owner logs out: its WebSocket is closed with 4001 and its HTTP calls get
// 401, while the owner's other sessions carry on.
func TestLogoutEndsRefreshChain(t *testing.T) {
	s := startServer(t, "", withAccounts)
	ctx := ctxFor(t, 60*time.Second)
	first := mustAuth(t, ctx, s, "register", "", credentials("alice", "alices password"), http.StatusCreated)
	refreshed := mustAuth(t, ctx, s, "refresh", first, nil, http.StatusOK)
	other := mustAuth(t, ctx, s, "login", "", credentials("alice", "alices password"), http.StatusOK)

	stolenWS := wsWith(t, ctx, s, first)
	ownWS := wsWith(t, ctx, s, refreshed)
	otherWS := wsWith(t, ctx, s, other)
	for name, tok := range map[string]string{"first": first, "refreshed": refreshed, "other": other} {
		if st := apiGet(t, ctx, s, tok, "/api/rooms", nil); st != http.StatusOK {
			t.Fatalf("%s token before logout: %d", name, st)
		}
	}

	if r := authPost(t, ctx, s, nil, "logout", refreshed, nil); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.code)
	}
	expectSessionEnded(t, ctx, stolenWS, "the stolen token's connection")
	expectSessionEnded(t, ctx, ownWS, "the refreshed token's connection")
	for name, tok := range map[string]string{"first": first, "refreshed": refreshed} {
		if st := apiGet(t, ctx, s, tok, "/api/rooms", nil); st != http.StatusUnauthorized {
			t.Errorf("%s token after logout: GET /api/rooms %d; want 401", name, st)
		}
		if r := authPost(t, ctx, s, nil, "refresh", tok, nil); r.status != http.StatusUnauthorized {
			t.Errorf("%s token after logout: refresh %d; want 401", name, r.status)
		}
		c := dialWS(t, ctx, s)
		if _, err := c.Auth(ctx, tok); errCode(t, err) != natter.EUNAUTHORIZED {
			t.Errorf("%s token after logout: auth %v; want unauthorized", name, err)
		}
	}
	// The other login is another session.
	expectAlive(t, ctx, otherWS, "the other session's connection")
	if st := apiGet(t, ctx, s, other, "/api/rooms", nil); st != http.StatusOK {
		t.Errorf("other session after logout: %d", st)
	}
	// Logging out needs a valid token.
	if r := authPost(t, ctx, s, nil, "logout", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("logout without a token: %d", r.status)
	}
}

// Log out everywhere ends every session, and a login right after it (in
// the same second) is not caught by it.
func TestLogoutAll(t *testing.T) {
	s := startServer(t, "", withAccounts)
	ctx := ctxFor(t, 60*time.Second)
	a := mustAuth(t, ctx, s, "register", "", credentials("bob", "bobs password"), http.StatusCreated)
	b := mustAuth(t, ctx, s, "login", "", credentials("bob", "bobs password"), http.StatusOK)
	carol := mustAuth(t, ctx, s, "register", "", credentials("carol", "carols password"), http.StatusCreated)
	cli := s.token("bob") // a `natter token` token: no account, no refresh, still revoked
	wsA, wsB, wsCli, wsCarol := wsWith(t, ctx, s, a), wsWith(t, ctx, s, b), wsWith(t, ctx, s, cli), wsWith(t, ctx, s, carol)

	if r := authPost(t, ctx, s, nil, "logout-all", a, nil); r.status != http.StatusNoContent {
		t.Fatalf("logout-all: %d %s", r.status, r.code)
	}
	again := mustAuth(t, ctx, s, "login", "", credentials("bob", "bobs password"), http.StatusOK)

	expectSessionEnded(t, ctx, wsA, "bob's session a")
	expectSessionEnded(t, ctx, wsB, "bob's session b")
	expectSessionEnded(t, ctx, wsCli, "bob's CLI token")
	for name, tok := range map[string]string{"a": a, "b": b, "cli": cli} {
		if st := apiGet(t, ctx, s, tok, "/api/rooms", nil); st != http.StatusUnauthorized {
			t.Errorf("%s after logout-all: %d; want 401", name, st)
		}
	}
	expectAlive(t, ctx, wsCarol, "another user's connection")
	if st := apiGet(t, ctx, s, again, "/api/rooms", nil); st != http.StatusOK {
		t.Errorf("login right after logout-all: %d; want 200", st)
	}
	expectAlive(t, ctx, wsWith(t, ctx, s, again), "the new login's connection")
}

// A password change needs the current password, ends every other session
// (their open connections closed at once) and any other copy of this
// session's token, and returns a token that works.
func TestPasswordChange(t *testing.T) {
	s := startServer(t, "", withAccounts)
	ctx := ctxFor(t, 60*time.Second)
	mine := mustAuth(t, ctx, s, "register", "", credentials("dave", "old password"), http.StatusCreated)
	elsewhere := mustAuth(t, ctx, s, "login", "", credentials("dave", "old password"), http.StatusOK)
	wsElsewhere := wsWith(t, ctx, s, elsewhere)
	wsMine := wsWith(t, ctx, s, mine)

	change := func(tok, current, next string) authReply {
		return authPost(t, ctx, s, nil, "password", tok, map[string]string{"current": current, "new": next})
	}
	if r := change(mine, "wrong password", "new password"); r.status != http.StatusForbidden || r.code != natter.EFORBIDDEN {
		t.Errorf("with a wrong current password: %d %s; want 403 forbidden", r.status, r.code)
	}
	if r := change(mine, "old password", "short"); r.status != http.StatusBadRequest {
		t.Errorf("with a too short new password: %d %s; want 400", r.status, r.code)
	}
	if r := change("", "old password", "new password"); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d; want 401", r.status)
	}
	expectAlive(t, ctx, wsElsewhere, "the other session after refused changes")

	r := change(mine, "old password", "new password")
	if r.status != http.StatusOK || r.token == "" {
		t.Fatalf("password change: %d %s", r.status, r.code)
	}
	fresh := r.token
	expectSessionEnded(t, ctx, wsElsewhere, "the other session's connection")
	expectSessionEnded(t, ctx, wsMine, "the connection of the token replaced")
	for name, tok := range map[string]string{"other session": elsewhere, "token replaced": mine} {
		if st := apiGet(t, ctx, s, tok, "/api/rooms", nil); st != http.StatusUnauthorized {
			t.Errorf("%s after the change: %d; want 401", name, st)
		}
	}
	if st := apiGet(t, ctx, s, fresh, "/api/rooms", nil); st != http.StatusOK {
		t.Errorf("the new token: %d; want 200", st)
	}
	expectAlive(t, ctx, wsWith(t, ctx, s, fresh), "a connection with the new token")
	if r := authPost(t, ctx, s, nil, "login", "", credentials("dave", "old password")); r.status != http.StatusUnauthorized {
		t.Errorf("login with the old password: %d; want 401", r.status)
	}
	mustAuth(t, ctx, s, "login", "", credentials("dave", "new password"), http.StatusOK)
	mustAuth(t, ctx, s, "refresh", fresh, nil, http.StatusOK)
}

// A refresh chain ends with the session's absolute lifetime, and no
// refreshed token outlives it.
func TestSessionLifetime(t *testing.T) {
	s := startServer(t, "", withAccounts, func(m *Main) { m.SessionMax = 2 * time.Hour })
	ctx := ctxFor(t, 30*time.Second)
	mustAuth(t, ctx, s, "register", "", credentials("erin", "erins password"), http.StatusCreated)
	now := time.Now()
	mint := func(began time.Time) string {
		tok, err := s.keys.Mint(natter.Claims{User: "erin", Session: "chain", AuthTime: began, Expires: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	old := mint(now.Add(-3 * time.Hour))
	if r := authPost(t, ctx, s, nil, "refresh", old, nil); r.status != http.StatusUnauthorized {
		t.Errorf("refresh of a session older than --session-max: %d; want 401", r.status)
	}
	young := mint(now.Add(-90 * time.Minute))
	tok := mustAuth(t, ctx, s, "refresh", young, nil, http.StatusOK)
	c, err := s.keys.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if end := now.Add(30 * time.Minute); c.Expires.After(end.Add(time.Second)) || c.Session != "chain" {
		t.Errorf("refreshed token expires %v (session %q); want by %v, session chain", c.Expires, c.Session, end)
	}
}

// Tokens that claim to be issued in the future or to last a century are
// refused everywhere, though correctly signed.
func TestTokenLifetimeLimits(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 30*time.Second)
	secret, err := signingSecret(s.m.JWTSecret, s.dir, auth.LoadSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sign := func(iat, exp time.Time) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "mallory", "iat": iat.Unix(), "exp": exp.Unix()}).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for name, tok := range map[string]string{
		"iat in a year":  sign(now.AddDate(1, 0, 0), now.AddDate(1, 0, 1)),
		"100-year exp":   sign(now, now.AddDate(100, 0, 0)),
		"31-day exp":     sign(now, now.Add(31*24*time.Hour)),
		"iat in an hour": sign(now.Add(time.Hour), now.Add(2*time.Hour)),
	} {
		if st := apiGet(t, ctx, s, tok, "/api/rooms", nil); st != http.StatusUnauthorized {
			t.Errorf("%s: GET /api/rooms %d; want 401", name, st)
		}
		c := dialWS(t, ctx, s)
		if _, err := c.Auth(ctx, tok); errCode(t, err) != natter.EUNAUTHORIZED {
			t.Errorf("%s: auth %v; want unauthorized", name, err)
		}
		expectClose(t, ctx, c, 4001)
	}
	if st := apiGet(t, ctx, s, sign(now.Add(10*time.Second), now.Add(time.Hour)), "/api/rooms", nil); st != http.StatusOK {
		t.Errorf("iat 10 s ahead (clock skew): %d; want 200", st)
	}
}

// A connection that renewed its token with one of a live session outlives
// the logout of the session it first authenticated with.
func TestRenewedConnectionSurvivesLogout(t *testing.T) {
	s := startServer(t, "", withAccounts)
	ctx := ctxFor(t, 30*time.Second)
	old := mustAuth(t, ctx, s, "register", "", credentials("frank", "franks password"), http.StatusCreated)
	fresh := mustAuth(t, ctx, s, "login", "", credentials("frank", "franks password"), http.StatusOK)
	renewed := wsWith(t, ctx, s, old)
	stays := wsWith(t, ctx, s, old)
	if _, err := renewed.Auth(ctx, fresh); err != nil {
		t.Fatalf("renew: %v", err)
	}
	if r := authPost(t, ctx, s, nil, "logout", old, nil); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.code)
	}
	expectSessionEnded(t, ctx, stays, "the connection still on the old session")
	expectAlive(t, ctx, renewed, "the connection renewed with another session")
	// Renewing with a revoked token is refused; the connection keeps its own.
	if _, err := renewed.Auth(ctx, old); errCode(t, err) != natter.EUNAUTHORIZED {
		t.Errorf("renewal with a revoked token: %v; want unauthorized", err)
	}
	expectAlive(t, ctx, renewed, "the connection after a refused renewal")
}
