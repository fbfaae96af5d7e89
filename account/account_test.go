package account

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/auth"
	"github.com/natter-chat/natter/broker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is the handler on a real broker (embedded JetStream in a temp dir).
type env struct {
	t    *testing.T
	h    http.Handler
	keys *auth.Keys
	// verify checks tokens as the edges and the history API do, revoked
	// sessions included.
	verify natter.TokenVerifier
	now    *fakeClock
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newEnv(t *testing.T, tweak func(*Config)) *env {
	t.Helper()
	dir := t.TempDir()
	emb, err := broker.StartEmbedded(broker.EmbeddedConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := broker.Open(ctx, broker.Config{Embedded: emb, Replicas: 1, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		emb.Shutdown()
		t.Fatal(err)
	}
	sessions, err := b.OpenSessions(ctx, auth.DefaultMaxLifetime)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sessions.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.Close(ctx)
		emb.Shutdown()
	})
	keys, err := auth.New(auth.Config{Secret: []byte(rand.Text() + rand.Text())})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := Config{Enabled: true, Store: b.Accounts(), Tokens: keys, Sessions: sessions, Cost: bcrypt.MinCost, Now: clock.Now}
	if tweak != nil {
		tweak(&cfg)
	}
	return &env{t: t, h: NewHandler(cfg), keys: keys, verify: sessions.Verifier(keys), now: clock}
}

// user is who token authenticates, if it is valid and not revoked.
func (e *env) user(token string) (natter.UserID, error) {
	c, err := e.verify.Verify(token)
	return c.User, err
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) session(t *testing.T) session {
	t.Helper()
	var s session
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return s
}

func (r reply) code() string {
	var e struct{ Error struct{ Code string } }
	json.Unmarshal([]byte(r.body), &e)
	return e.Error.Code
}

// do sends a request from ip; body is sent as JSON unless it is a string.
func (e *env) do(method, path, ip string, body any, header ...string) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = strings.NewReader(string(data))
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = ip + ":1234"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return reply{w.Code, w.Header(), w.Body.String()}
}

func creds(user, pw string) map[string]string {
	return map[string]string{"username": user, "password": pw}
}

const ip1, ip2 = "192.0.2.1", "192.0.2.2"

func TestRegisterAndLogin(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do("POST", "/api/auth/register", ip1, creds("Alice", "correct horse"))
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	s := r.session(t)
	if u, err := e.user(s.Token); err != nil || u != "Alice" || s.User != "Alice" {
		t.Fatalf("register token for %q: %v (reply user %q)", u, err, s.User)
	}
	if d := time.Until(s.ExpiresAt); d < DefaultTTL-time.Minute || d > DefaultTTL {
		t.Errorf("expires_at %v is not about %v away", s.ExpiresAt, DefaultTTL)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", r.header.Get("Cache-Control"))
	}
	// Login in any case gives the registered id.
	for _, name := range []string{"Alice", "alice"} {
		r := e.do("POST", "/api/auth/login", ip1, creds(name, "correct horse"))
		if r.status != http.StatusOK {
			t.Fatalf("login %s: %d %s", name, r.status, r.body)
		}
		if u, err := e.user(r.session(t).Token); err != nil || u != "Alice" {
			t.Errorf("login %s: token for %q, %v", name, u, err)
		}
	}
	// Taken, whatever the case.
	for _, name := range []string{"Alice", "ALICE"} {
		if r := e.do("POST", "/api/auth/register", ip1, creds(name, "another password")); r.status != http.StatusConflict || r.code() != natter.ECONFLICT {
			t.Errorf("register %s again: %d %s", name, r.status, r.body)
		}
	}
}

// A wrong password and an unknown user get byte-identical answers.
func TestLoginFailureRevealsNothing(t *testing.T) {
	e := newEnv(t, nil)
	if r := e.do("POST", "/api/auth/register", ip1, creds("bob", "bobs password")); r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	wrong := e.do("POST", "/api/auth/login", ip1, creds("bob", "not bobs password"))
	unknown := e.do("POST", "/api/auth/login", ip1, creds("nobody", "not bobs password"))
	invalid := e.do("POST", "/api/auth/login", ip1, creds("no.body", "x"))
	for _, r := range []reply{wrong, unknown, invalid} {
		if r.status != http.StatusUnauthorized || r.body != wrong.body || r.header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("failed login: %d %q, want 401 %q", r.status, r.body, wrong.body)
		}
	}
	if !strings.Contains(wrong.body, "wrong username or password") {
		t.Errorf("failed login body %q", wrong.body)
	}
}

func TestRegisterValidation(t *testing.T) {
	e := newEnv(t, nil)
	long := strings.Repeat("p", MaxPassword+1)
	tests := []struct {
		name   string
		body   any
		ctype  string
		status int
	}{
		{"bad username", creds("a.b", "long enough"), "", http.StatusBadRequest},
		{"empty username", creds("", "long enough"), "", http.StatusBadRequest},
		{"long username", creds(strings.Repeat("u", 65), "long enough"), "", http.StatusBadRequest},
		{"short password", creds("carol", "short"), "", http.StatusBadRequest},
		{"password over 72 bytes", creds("carol", long), "", http.StatusBadRequest},
		{"not JSON", "username=carol", "", http.StatusBadRequest},
		{"form content type", creds("carol", "long enough"), "application/x-www-form-urlencoded", http.StatusBadRequest},
		{"huge body", `{"username":"carol","password":"` + strings.Repeat("x", maxBody) + `"}`, "", http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.ctype != "" {
				hdr = []string{"Content-Type", tt.ctype}
			}
			if r := e.do("POST", "/api/auth/register", ip1, tt.body, hdr...); r.status != tt.status {
				t.Errorf("%d %s, want %d", r.status, r.body, tt.status)
			}
		})
	}
	// None of them created carol.
	if r := e.do("POST", "/api/auth/register", ip1, creds("carol", "long enough")); r.status != http.StatusCreated {
		t.Errorf("register carol: %d %s", r.status, r.body)
	}
}

func TestRefresh(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TTL = time.Hour })
	s := e.do("POST", "/api/auth/register", ip1, creds("dave", "daves password")).session(t)
	r := e.do("POST", "/api/auth/refresh", ip1, nil, "Authorization", "Bearer "+s.Token)
	if r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if u, err := e.user(r.session(t).Token); err != nil || u != "dave" {
		t.Errorf("refreshed token for %q, %v", u, err)
	}
	// A user without a built-in account (an external issuer's, or `natter
	// token`'s) cannot stretch a token here.
	ext, _ := e.keys.Issue("erin", time.Hour)
	expired, _ := auth.New(auth.Config{Secret: []byte(rand.Text() + rand.Text())})
	forged, _ := expired.Issue("dave", time.Hour)
	for name, hdr := range map[string]string{
		"no header":          "",
		"not bearer":         "Basic " + s.Token,
		"no account":         "Bearer " + ext,
		"foreign signature":  "Bearer " + forged,
		"garbage":            "Bearer x.y.z",
		"empty bearer token": "Bearer ",
	} {
		if r := e.do("POST", "/api/auth/refresh", ip1, nil, "Authorization", hdr); r.status != http.StatusUnauthorized {
			t.Errorf("%s: refresh %d %s, want 401", name, r.status, r.body)
		}
	}
}

func TestConfigAndDisabled(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = false; c.LoginURL = "https://id.example/login"; c.TTL = time.Hour })
	r := e.do("GET", "/api/auth/config", ip1, nil)
	var cfg struct {
		Accounts bool   `json:"accounts"`
		LoginURL string `json:"login_url"`
		TokenTTL int    `json:"token_ttl"`
	}
	if err := json.Unmarshal([]byte(r.body), &cfg); err != nil || r.status != 200 {
		t.Fatalf("config: %d %s", r.status, r.body)
	}
	if cfg.Accounts || cfg.LoginURL != "https://id.example/login" || cfg.TokenTTL != 3600 {
		t.Errorf("config %+v", cfg)
	}
	for _, p := range []string{"register", "login", "refresh", "password"} {
		if r := e.do("POST", "/api/auth/"+p, ip1, creds("eve", "long enough")); r.status != http.StatusNotFound {
			t.Errorf("%s while disabled: %d %s", p, r.status, r.body)
		}
	}
	if r := e.do("GET", "/api/auth/nothing", ip1, nil); r.status != http.StatusNotFound || r.code() != natter.ENOTFOUND {
		t.Errorf("unknown path: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/auth/login", ip1, nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET login: %d %s", r.status, r.body)
	}
}

func TestLoginPerIPLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LoginPerIP = Limit{Every: time.Minute, Burst: 4} })
	e.do("POST", "/api/auth/register", ip1, creds("frank", "franks password"))
	for i, user := range []string{"u1", "u2", "u3", "frank"} {
		if r := e.do("POST", "/api/auth/login", ip1, creds(user, "wrong password")); r.status != http.StatusUnauthorized {
			t.Fatalf("ip1 attempt %d: %d %s", i, r.status, r.body)
		}
	}
	r := e.do("POST", "/api/auth/login", ip1, creds("frank", "franks password"))
	if r.status != http.StatusTooManyRequests || r.code() != natter.ERATELIMIT || r.header.Get("Retry-After") != "60" {
		t.Errorf("ip1 over its limit: %d %s (Retry-After %q), want 429 with 60", r.status, r.body, r.header.Get("Retry-After"))
	}
	// Another IP is not affected, and time refills the bucket.
	if r := e.do("POST", "/api/auth/login", ip2, creds("frank", "franks password")); r.status != http.StatusOK {
		t.Errorf("from ip2: %d %s", r.status, r.body)
	}
	e.now.Add(time.Minute)
	if r := e.do("POST", "/api/auth/login", ip1, creds("frank", "franks password")); r.status != http.StatusOK {
		t.Errorf("after a minute: %d %s", r.status, r.body)
	}
}

// Failures back off per account and IP: the attacker's IP waits longer
// after each failure, the owner from another IP is not held up (the hard
// per-account lock this replaces let anyone lock anyone out).
func TestLoginBackoff(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LoginPerIP = Limit{Every: time.Millisecond, Burst: 1000} })
	e.do("POST", "/api/auth/register", ip1, creds("frank", "franks password"))
	for _, user := range []string{"frank", "ghost"} {
		for i := range freeFailures {
			if r := e.do("POST", "/api/auth/login", ip1, creds(user, "wrong password")); r.status != http.StatusUnauthorized {
				t.Fatalf("%s failure %d: %d %s", user, i, r.status, r.body)
			}
		}
		// The sixth failure sets a backoff of one second, then two, four.
		for i, want := range []string{"1", "2", "4"} {
			if r := e.do("POST", "/api/auth/login", ip1, creds(user, "wrong password")); r.status != http.StatusUnauthorized {
				t.Fatalf("%s failure after waiting %d: %d %s", user, i, r.status, r.body)
			}
			r := e.do("POST", "/api/auth/login", ip1, creds(user, "franks password"))
			if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != want {
				t.Fatalf("%s during backoff %d: %d %s (Retry-After %q), want 429 with %s", user, i, r.status, r.body, r.header.Get("Retry-After"), want)
			}
			e.now.Add(time.Duration(1<<i) * time.Second)
		}
	}
	// The owner, from elsewhere, gets in at once.
	if r := e.do("POST", "/api/auth/login", ip2, creds("frank", "franks password")); r.status != http.StatusOK {
		t.Errorf("owner from ip2: %d %s", r.status, r.body)
	}
	// A success on the pair forgets its failures.
	if r := e.do("POST", "/api/auth/login", ip1, creds("frank", "franks password")); r.status != http.StatusOK {
		t.Fatalf("frank from ip1 after the backoff: %d %s", r.status, r.body)
	}
	for i := range freeFailures {
		if r := e.do("POST", "/api/auth/login", ip1, creds("frank", "wrong password")); r.status != http.StatusUnauthorized {
			t.Errorf("failure %d after a success: %d %s", i, r.status, r.body)
		}
	}
}

// Beyond the global failure rate, IPs that failed lately are refused, and
// a fresh IP is not.
func TestLoginGlobalFailureRate(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LoginFailures = Limit{Every: time.Minute, Burst: 3} })
	e.do("POST", "/api/auth/register", ip1, creds("frank", "franks password"))
	attackers := []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"}
	for _, ip := range attackers {
		if r := e.do("POST", "/api/auth/login", ip, creds("frank", "guess")); r.status != http.StatusUnauthorized {
			t.Fatalf("first guess from %s: %d %s", ip, r.status, r.body)
		}
	}
	for _, ip := range attackers {
		r := e.do("POST", "/api/auth/login", ip, creds("frank", "guess"))
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "60" {
			t.Errorf("second guess from %s over the global rate: %d %s (Retry-After %q)", ip, r.status, r.body, r.header.Get("Retry-After"))
		}
	}
	if r := e.do("POST", "/api/auth/login", ip2, creds("frank", "franks password")); r.status != http.StatusOK {
		t.Errorf("owner from a fresh IP: %d %s", r.status, r.body)
	}
	e.now.Add(time.Minute)
	if r := e.do("POST", "/api/auth/login", attackers[0], creds("frank", "guess")); r.status != http.StatusUnauthorized {
		t.Errorf("after the rate recovered: %d %s", r.status, r.body)
	}
}

func TestRegisterRateLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RegisterPerIP = Limit{Every: time.Hour, Burst: 2} })
	for i, name := range []string{"r1", "r2"} {
		if r := e.do("POST", "/api/auth/register", ip1, creds(name, "long enough")); r.status != http.StatusCreated {
			t.Fatalf("register %d: %d %s", i, r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/auth/register", ip1, creds("r3", "long enough")); r.status != http.StatusTooManyRequests {
		t.Errorf("third registration: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/auth/register", ip2, creds("r3", "long enough")); r.status != http.StatusCreated {
		t.Errorf("registration from another IP: %d %s", r.status, r.body)
	}
}

// Logging out needs no built-in account: with accounts off, an external
// issuer's token (here one of the same keys) can still be revoked, and a
// token without a sid must log out everywhere instead.
func TestLogoutWithAccountsOff(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = false })
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	tok, _ := e.keys.Issue("erin", time.Hour)
	if r := e.do("POST", "/api/auth/logout", ip1, nil, bearer(tok)...); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if _, err := e.user(tok); natter.ErrorCode(err) != natter.EUNAUTHORIZED {
		t.Errorf("token after logout: %v; want unauthorized", err)
	}
	if r := e.do("POST", "/api/auth/logout", ip1, nil, bearer(tok)...); r.status != http.StatusUnauthorized {
		t.Errorf("logout with a revoked token: %d %s; want 401", r.status, r.body)
	}
	// Mint always sets a sid: sign a token without one by hand.
	secret := []byte(rand.Text() + rand.Text())
	keys, _ := auth.New(auth.Config{Secret: secret})
	e2 := newEnv(t, func(c *Config) { c.Enabled = false; c.Tokens = keys })
	raw := signRaw(t, secret, map[string]any{"sub": "erin", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
	if r := e2.do("POST", "/api/auth/logout", ip1, nil, bearer(raw)...); r.status != http.StatusBadRequest || r.code() != natter.EINVALID {
		t.Errorf("logout of a token without sid: %d %s; want 400 invalid", r.status, r.body)
	}
	if r := e2.do("POST", "/api/auth/logout-all", ip1, nil, bearer(raw)...); r.status != http.StatusNoContent {
		t.Errorf("logout-all: %d %s", r.status, r.body)
	}
	if r := e2.do("POST", "/api/auth/password", ip1, map[string]string{"current": "a", "new": "long enough"}, bearer(raw)...); r.status != http.StatusNotFound {
		t.Errorf("password with accounts off: %d %s; want 404", r.status, r.body)
	}
}

// signRaw signs claims with secret (HS256) as an external issuer would.
func signRaw(t *testing.T, secret []byte, claims map[string]any) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims)).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
