// Package account owns how a browser gets a Natter token: built-in accounts
// (register and log in with a username and password, refresh a token before
// it expires) under /api/auth/, the OpenID Connect login (oidc.go: people
// log in at a provider and get an account without a password), and the
// description of the login methods a server offers (GET /api/auth/config),
// which tells the web UI whether to show its own login form, a "Log in
// with …" button, or send people to an external login page.
//
// Passwords are hashed with bcrypt and stored through Store (JetStream KV in
// package broker, so accounts work unchanged on every node of a cluster).
// Tokens are the same JWTs that `natter token` mints, issued with the
// server's own keys: the WebSocket edge and the history API cannot tell how
// a token was obtained.
//
// Login gives no hint whether a username exists: an unknown user gets the
// same answer, after the same bcrypt work, as a wrong password. Attempts are
// rate-limited per client IP; failures back off per username and IP
// (existing or not), and once failures across the server exceed a global
// rate, IPs that have failed recently are refused until it recovers. bcrypt
// runs in a bounded queue on one core; a full queue answers 503 at once.
//
// Sessions end on request: logout revokes the token's session (a login and
// its refreshes), logout-all and a password change revoke every token of
// the user issued until then (the password change keeps the new session
// it returns). Revocations are kept by Sessions, which every edge and HTTP
// API checks.
package account

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
	"github.com/natter-chat/natter/httpapi"
)

// Store keeps accounts. broker.Accounts implements it.
type Store interface {
	// Create stores a new account, or fails with ECONFLICT if the user id
	// is taken (compared case-insensitively).
	Create(ctx context.Context, acc broker.Account) error
	// Get returns the account of user (case-insensitively) or ENOTFOUND.
	Get(ctx context.Context, user natter.UserID) (broker.Account, error)
	// SetPassword replaces user's hash old with hash, or fails with
	// ECONFLICT if the hash is no longer old.
	SetPassword(ctx context.Context, user natter.UserID, old, hash []byte) error
}

// Tokens mints and checks tokens; *auth.Keys implements it.
type Tokens interface {
	// Mint signs a token with c's user, session (new if empty), auth_time
	// and expiry, issued now.
	Mint(c natter.Claims) (string, error)
	natter.TokenVerifier
}

// Sessions is the revocation list; *broker.Sessions implements it. Its
// revocations return once this node refuses the revoked tokens.
type Sessions interface {
	Check(c natter.Claims) error
	RevokeSession(ctx context.Context, user natter.UserID, sid string) error
	RevokeUser(ctx context.Context, user natter.UserID, now time.Time, keep string) error
	// RevokedThrough is the second through which the latest user-wide
	// revocation of user reaches (0: none).
	RevokedThrough(user natter.UserID) int64
}

// Password length bounds. bcrypt reads at most 72 bytes; a longer password
// is refused rather than silently truncated.
const (
	MinPassword = 8
	MaxPassword = 72
)

// Defaults for Config fields left zero.
const (
	DefaultTTL        = 24 * time.Hour
	DefaultSessionMax = 30 * 24 * time.Hour
	DefaultMaxTracked = 10000
	// One bcrypt worker takes at most one core; 32 waiting at the default
	// cost is a wait of a few seconds at most.
	DefaultHashWorkers = 1
	DefaultHashQueue   = 32
	DefaultLogEvery    = 10 * time.Second
)

// Backoff of failed logins per account and IP: a person mistyping a
// password a few times is never held up; then each failure doubles the
// wait, up to maxBackoff.
const (
	freeFailures = 5
	baseBackoff  = time.Second
	maxBackoff   = 15 * time.Minute
)

// Default limits. The per-IP limit counts every attempt; the global one
// counts failures across all accounts and IPs.
var (
	DefaultLoginPerIP    = Limit{Every: 2 * time.Second, Burst: 20}
	DefaultLoginFailures = Limit{Every: 100 * time.Millisecond, Burst: 100}
	DefaultRegisterPerIP = Limit{Every: time.Minute, Burst: 10}
)

// Config configures the handler.
type Config struct {
	// Enabled turns on register, login and refresh. When false they answer
	// 404 and only GET /api/auth/config is served.
	Enabled bool
	Store   Store
	Tokens  Tokens
	// Sessions, if set, makes logout, logout-all and password change
	// possible and refuses revoked tokens here too.
	Sessions Sessions
	// TTL is the lifetime of issued tokens (DefaultTTL if zero).
	TTL time.Duration
	// SessionMax is the absolute lifetime of a session: refreshing a token
	// whose login is older fails with 401 "log in again", and no refreshed
	// token outlives it (DefaultSessionMax if zero).
	SessionMax time.Duration
	// LoginURL, if set, is an external login page the UI sends people to
	// (docs/WEB-UI.md says what it must do).
	LoginURL string
	// OIDC, if set, logs people in with an OpenID provider (GET
	// /api/auth/oidc/login and /callback); its users get accounts without
	// a password, which refresh like any other. OIDCName is the provider's
	// name on the UI's button, OIDCSecureCookie marks the login cookie
	// Secure even on plain HTTP (TLS ends at a proxy).
	OIDC             OIDC
	OIDCName         string
	OIDCSecureCookie bool
	// Cost is the bcrypt cost (bcrypt.DefaultCost if zero).
	Cost int
	// HashWorkers is how many bcrypt hashes run at once (1: at most one
	// core), HashQueue how many more requests may wait for one before the
	// rest are refused with 503 (defaults above if zero).
	HashWorkers, HashQueue int
	// Limits (the defaults above if zero) and how many IPs or usernames
	// each limiter tracks at most (DefaultMaxTracked). LoginFailures is
	// the global rate of failed logins above which IPs that failed
	// recently are refused.
	LoginPerIP, LoginFailures, RegisterPerIP Limit
	MaxTracked                               int
	Log                                      *slog.Logger
	// LogEvery is how often refused attempts are summed up in the log, at
	// most one line per interval (DefaultLogEvery if zero).
	LogEvery time.Duration
	// Now is the clock of the rate limiters (time.Now if nil).
	Now func() time.Time
}

type handler struct {
	cfg        Config
	log        *slog.Logger
	loginIP    *limiters
	registerIP *limiters
	// failed backs off failed logins per account and IP; failedIP knows
	// which IPs failed lately, refused while globalFail (failures across
	// the server) is exhausted.
	failed, failedIP *failures
	globalFail       *rate.Limiter
	refused          *refusals
	hashing          *hashQueue
	// dummy is the hash compared against when a username does not exist,
	// so that the answer takes as long as for a wrong password.
	dummy func() ([]byte, error)
}

// NewHandler returns the /api/auth/ API. The caller mounts it at the root:
// the routes carry their prefix.
func NewHandler(cfg Config) http.Handler {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Cost == 0 {
		cfg.Cost = bcrypt.DefaultCost
	}
	cfg.Cost = min(max(cfg.Cost, bcrypt.MinCost), bcrypt.MaxCost)
	def := func(l *Limit, d Limit) {
		if l.Every <= 0 || l.Burst <= 0 {
			*l = d
		}
	}
	def(&cfg.LoginPerIP, DefaultLoginPerIP)
	def(&cfg.LoginFailures, DefaultLoginFailures)
	def(&cfg.RegisterPerIP, DefaultRegisterPerIP)
	defaults := []struct {
		v *int
		d int
	}{{&cfg.MaxTracked, DefaultMaxTracked}, {&cfg.HashWorkers, DefaultHashWorkers}, {&cfg.HashQueue, DefaultHashQueue}}
	for _, d := range defaults {
		if *d.v <= 0 {
			*d.v = d.d
		}
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = DefaultSessionMax
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = DefaultLogEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &handler{
		cfg:        cfg,
		log:        cfg.Log,
		loginIP:    newLimiters(cfg.LoginPerIP, cfg.MaxTracked),
		registerIP: newLimiters(cfg.RegisterPerIP, cfg.MaxTracked),
		failed:     newFailures(freeFailures, baseBackoff, maxBackoff, cfg.MaxTracked),
		failedIP:   newFailures(0, 0, maxBackoff, cfg.MaxTracked),
		globalFail: rate.NewLimiter(rate.Every(cfg.LoginFailures.Every), cfg.LoginFailures.Burst),
		hashing:    newHashQueue(cfg.HashWorkers, cfg.HashQueue),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.refused = newRefusals(h.log, cfg.LogEvery)
	if h.cfg.Enabled {
		// Keys that only verify (external issuers' public keys, no secret)
		// cannot mint the tokens a login returns.
		if _, err := cfg.Tokens.Mint(natter.Claims{User: "probe", Expires: time.Now().Add(time.Minute)}); err != nil {
			h.log.Warn("built-in accounts disabled: this server cannot issue tokens", "err", err)
			h.cfg.Enabled = false
		}
	}
	h.dummy = sync.OnceValues(func() ([]byte, error) {
		return bcrypt.GenerateFromPassword([]byte(rand.Text()), cfg.Cost)
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/auth/config", h.config)
	mux.HandleFunc("POST /api/auth/register", h.enabled(h.register))
	mux.HandleFunc("POST /api/auth/login", h.enabled(h.login))
	if cfg.OIDC != nil {
		mux.HandleFunc("GET "+OIDCLoginPath, h.oidcLogin)
		mux.HandleFunc("GET "+OIDCCallbackPath, h.oidcCallback)
		// Its tokens are ours, refreshed as a password login's are.
		mux.HandleFunc("POST /api/auth/refresh", h.refresh)
	} else {
		mux.HandleFunc("POST /api/auth/refresh", h.enabled(h.refresh))
	}
	if cfg.Sessions != nil {
		// Logging out needs no built-in account: an external issuer's
		// tokens can be revoked here too.
		mux.HandleFunc("POST /api/auth/logout", h.logout)
		mux.HandleFunc("POST /api/auth/logout-all", h.logoutAll)
		mux.HandleFunc("POST /api/auth/password", h.enabled(h.password))
	}
	mux.HandleFunc("/api/auth/", func(w http.ResponseWriter, r *http.Request) {
		if m := methods[r.URL.Path]; m != "" {
			// Like the history API: 405, Allow, no body.
			w.Header().Set("Allow", m)
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		httpapi.WriteError(w, r, h.log, natter.Errorf(natter.ENOTFOUND, "no such endpoint"))
	})
	return httpapi.NoStore(mux)
}

// methods is the method of each endpoint, for the 405 of a wrong one.
var methods = map[string]string{
	"/api/auth/config":     http.MethodGet,
	"/api/auth/register":   http.MethodPost,
	"/api/auth/login":      http.MethodPost,
	"/api/auth/refresh":    http.MethodPost,
	"/api/auth/logout":     http.MethodPost,
	"/api/auth/logout-all": http.MethodPost,
	"/api/auth/password":   http.MethodPost,
	OIDCLoginPath:          http.MethodGet,
	OIDCCallbackPath:       http.MethodGet,
}

func (h *handler) enabled(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.cfg.Enabled {
			httpapi.WriteError(w, r, h.log, natter.Errorf(natter.ENOTFOUND, "built-in accounts are disabled on this server"))
			return
		}
		next(w, r)
	}
}

// config serves GET /api/auth/config: what the login screen should offer.
func (h *handler) config(w http.ResponseWriter, r *http.Request) {
	cfg := map[string]any{
		"accounts":  h.cfg.Enabled,
		"login_url": h.cfg.LoginURL,
		"token_ttl": int(h.cfg.TTL / time.Second),
	}
	if h.cfg.OIDC != nil {
		// The UI sends people to our own login endpoint as to an
		// external login page; login_name labels its button.
		cfg["login_url"], cfg["login_name"] = OIDCLoginPath, h.cfg.OIDCName
	}
	httpapi.WriteJSON(w, r, h.log, http.StatusOK, cfg)
}

// credentials is the body of register and login.
type credentials struct {
	Username natter.UserID `json:"username"`
	Password string        `json:"password"`
}

// session is the reply to register, login and refresh.
type session struct {
	User      natter.UserID `json:"user"`
	Token     string        `json:"token"`
	ExpiresAt time.Time     `json:"expires_at"`
}

func (h *handler) register(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if err := readJSON(w, r, &c); err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	if err := c.Username.Validate(); err != nil {
		httpapi.WriteError(w, r, h.log, natter.Errorf(natter.EINVALID, "username must be 1-64 characters of A-Z a-z 0-9 _ -"))
		return
	}
	if err := checkPassword(c.Password); err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	if !h.registerIP.allow(clientIP(r), h.cfg.Now()) {
		h.limited(w, r, "register_ip", retryAfter(h.cfg.RegisterPerIP))
		return
	}
	hash, err := h.hash(w, r, func() ([]byte, error) {
		return bcrypt.GenerateFromPassword([]byte(c.Password), h.cfg.Cost)
	})
	if err != nil {
		return
	}
	acc := broker.Account{User: c.Username, Hash: hash, Created: time.Now().UTC()}
	if err := h.cfg.Store.Create(r.Context(), acc); err != nil {
		if natter.ErrorCode(err) == natter.ECONFLICT {
			err = natter.Errorf(natter.ECONFLICT, "that username is taken")
		}
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	h.log.Info("account registered", "user", acc.User, "ip", clientIP(r))
	h.issue(w, r, http.StatusCreated, natter.Claims{User: acc.User})
}

// errBadLogin is the one answer to every failed login.
var errBadLogin = natter.Errorf(natter.EUNAUTHORIZED, "wrong username or password")

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if err := readJSON(w, r, &c); err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	ip := clientIP(r)
	if !h.admit(w, r, ip, c.Username) {
		return
	}
	acc, err := h.cfg.Store.Get(r.Context(), c.Username)
	// An account made by an OpenID login has no password: it answers
	// like a name that does not exist.
	found := err == nil && len(acc.Hash) > 0
	if err != nil && natter.ErrorCode(err) != natter.ENOTFOUND {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	if !h.verifyPassword(w, r, ip, c.Username, acc.Hash, found, c.Password, errBadLogin) {
		return
	}
	h.issue(w, r, http.StatusOK, natter.Claims{User: acc.User})
}

// admit applies the limits that come before any bcrypt work for a
// password check by user from ip, answering the request if it is refused.
// Every limit applies to any name, existing or not: none may reveal which
// names exist.
func (h *handler) admit(w http.ResponseWriter, r *http.Request, ip string, user natter.UserID) bool {
	now := h.cfg.Now()
	if !h.loginIP.allow(ip, now) {
		h.limited(w, r, "login_ip", retryAfter(h.cfg.LoginPerIP))
		return false
	}
	if d := h.failed.wait(failureKey(user, ip), now); d > 0 {
		h.limited(w, r, "login_backoff", seconds(d))
		return false
	}
	// Failures across the server beyond the global rate: an attacker is
	// spreading guesses over many IPs. Whoever failed lately waits until
	// the rate recovers; a fresh IP (the owner on the way to work) does not.
	if h.globalFail.TokensAt(now) < 1 && h.failedIP.recent(ip, now) {
		h.limited(w, r, "login_global", retryAfter(h.cfg.LoginFailures))
		return false
	}
	return true
}

// verifyPassword compares password with hash (a dummy hash if !found,
// taking as long) in the bcrypt queue, records a failure or success for
// user from ip, and answers the request unless the password is right (a
// wrong one with the error wrong).
func (h *handler) verifyPassword(w http.ResponseWriter, r *http.Request, ip string, user natter.UserID, hash []byte, found bool, password string, wrong error) bool {
	_, err := h.hash(w, r, func() ([]byte, error) {
		if !found {
			dummy, err := h.dummy()
			if err != nil {
				return nil, err
			}
			hash = dummy
		}
		if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || !found {
			return nil, errBadLogin
		}
		return nil, nil
	})
	if err == nil {
		h.failed.forget(failureKey(user, ip))
		return true
	}
	if err == errBadLogin {
		now := h.cfg.Now()
		h.failed.fail(failureKey(user, ip), now)
		h.failedIP.fail(ip, now)
		h.globalFail.AllowN(now, 1)
		httpapi.WriteError(w, r, h.log, wrong)
	}
	return false
}

// failureKey is the backoff key of user (as the store compares names)
// from ip.
func failureKey(user natter.UserID, ip string) string { return accountKey(user) + " " + ip }

// refresh serves POST /api/auth/refresh: a still-valid token of a built-in
// account buys a new one in the same session, up to the session's absolute
// lifetime. Tokens of users without a built-in account (an external
// issuer's) are not extended: their issuer decides how long they last.
//
// The token refreshed stays valid until its own exp: tabs and connections
// sharing it move to the new one at their own pace. Logging out revokes
// the whole chain, old tokens included.
func (h *handler) refresh(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.bearer(w, r)
	if !ok {
		return
	}
	acc, err := h.cfg.Store.Get(r.Context(), claims.User)
	if natter.ErrorCode(err) == natter.ENOTFOUND || (err == nil && acc.User != claims.User) {
		httpapi.WriteError(w, r, h.log, natter.Errorf(natter.EUNAUTHORIZED, "this session cannot be refreshed; log in again"))
		return
	}
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	began := claims.AuthTime
	if began.IsZero() {
		began = claims.IssuedAt // a token from before sessions had a start
	}
	if began.IsZero() || time.Since(began) >= h.cfg.SessionMax-time.Minute {
		httpapi.WriteError(w, r, h.log, natter.Errorf(natter.EUNAUTHORIZED, "session too old; log in again"))
		return
	}
	h.issue(w, r, http.StatusOK, natter.Claims{User: acc.User, Session: claims.Session, AuthTime: began})
}

// issue answers with a new token for c.User in session c.Session (a new
// one if empty) that began at c.AuthTime (now if zero). The token expires
// after TTL, or when the session reaches its absolute lifetime.
func (h *handler) issue(w http.ResponseWriter, r *http.Request, status int, c natter.Claims) {
	token, exp, err := h.mint(r.Context(), c)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, r, h.log, status, session{User: c.User, Token: token, ExpiresAt: exp.UTC().Truncate(time.Second)})
}

// mint signs the token that issue answers with, and says when it expires.
func (h *handler) mint(ctx context.Context, c natter.Claims) (string, time.Time, error) {
	if err := h.afterRevocation(ctx, c.User); err != nil {
		return "", time.Time{}, err
	}
	now := time.Now()
	if c.AuthTime.IsZero() {
		c.AuthTime = now
	}
	c.Expires = now.Add(h.cfg.TTL)
	if end := c.AuthTime.Add(h.cfg.SessionMax); end.Before(c.Expires) {
		c.Expires = end
	}
	token, err := h.cfg.Tokens.Mint(c)
	return token, c.Expires, err
}

// afterRevocation waits, if user's tokens were revoked through the current
// second (log out everywhere a moment ago), until that second is over:
// iat has a precision of one second, and a token issued now would be born
// revoked. The wait is at most a second, and only right after a revocation.
func (h *handler) afterRevocation(ctx context.Context, user natter.UserID) error {
	if h.cfg.Sessions == nil {
		return nil
	}
	through := h.cfg.Sessions.RevokedThrough(user)
	wait := time.Until(time.Unix(through+1, 0))
	if wait <= 0 {
		return nil
	}
	// Another node's clock ahead of ours must not hold a login for long.
	t := time.NewTimer(min(wait, 2*time.Second))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return natter.Errorf(natter.EUNAVAILABLE, "request canceled")
	}
}

// bearer verifies the request's bearer token, revocations included, and
// answers 401 if it fails.
func (h *handler) bearer(w http.ResponseWriter, r *http.Request) (natter.Claims, bool) {
	token, ok := httpapi.Bearer(r.Header.Get("Authorization"))
	if !ok {
		httpapi.WriteError(w, r, h.log, natter.Errorf(natter.EUNAUTHORIZED, "missing bearer token"))
		return natter.Claims{}, false
	}
	claims, err := h.cfg.Tokens.Verify(token)
	if err == nil && h.cfg.Sessions != nil {
		err = h.cfg.Sessions.Check(claims)
	}
	if err != nil {
		httpapi.WriteError(w, r, h.log, natter.Errorf(natter.EUNAUTHORIZED, "invalid or expired token"))
		return natter.Claims{}, false
	}
	return claims, true
}

// hash runs bcrypt work in the queue. A refusal (queue full, request gone)
// is answered here, as is any error but errBadLogin, which the caller
// answers after counting it.
func (h *handler) hash(w http.ResponseWriter, r *http.Request, work func() ([]byte, error)) ([]byte, error) {
	out, err := h.hashing.do(r.Context(), work)
	var busy *busyError
	switch {
	case errors.As(err, &busy):
		h.refused.note("busy", clientIP(r))
		w.Header().Set("Retry-After", seconds(busy.retryAfter))
		// Not WriteError's WARN per 503: a full queue is no dependency
		// down, and the refusal is counted for the summary above.
		httpapi.WriteError(w, r, nil, busy.error)
	case err != nil && err != errBadLogin:
		httpapi.WriteError(w, r, h.log, err)
	}
	return out, err
}

// limited refuses an attempt with 429 and Retry-After (in seconds). The
// refusal is counted for the log, not logged one by one: refusals are what
// an attacker can make plenty of.
func (h *handler) limited(w http.ResponseWriter, r *http.Request, reason, retry string) {
	h.refused.note(reason, clientIP(r))
	w.Header().Set("Retry-After", retry)
	httpapi.WriteError(w, r, h.log, natter.Errorf(natter.ERATELIMIT, "too many attempts; try again later"))
}

func checkPassword(p string) error {
	switch {
	case utf8.RuneCountInString(p) < MinPassword:
		return natter.Errorf(natter.EINVALID, "password must be at least %d characters", MinPassword)
	case len(p) > MaxPassword:
		return natter.Errorf(natter.EINVALID, "password must be at most %d bytes", MaxPassword)
	}
	return nil
}

// accountKey is the per-account limiter's key: the name as the store
// compares it, cut to a length no valid name exceeds so that junk names
// cannot make the limiter's map large.
func accountKey(u natter.UserID) string {
	s := string(u)
	if len(s) > natter.MaxIDLen {
		s = s[:natter.MaxIDLen+1]
	}
	return strings.ToLower(s)
}
