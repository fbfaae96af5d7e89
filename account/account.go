// Package account owns how a browser gets a Natter token: built-in accounts
// (register and log in with a username and password, refresh a token before
// it expires) under /api/auth/, and the description of the login methods a
// server offers (GET /api/auth/config), which tells the web UI whether to
// show its own login form or send people to an external login page.
//
// Passwords are hashed with bcrypt and stored through Store (JetStream KV in
// package broker, so accounts work unchanged on every node of a cluster).
// Tokens are the same JWTs that `natter token` mints, issued with the
// server's own keys: the WebSocket edge and the history API cannot tell how
// a token was obtained.
//
// Login gives no hint whether a username exists: an unknown user gets the
// same answer, after the same bcrypt work, as a wrong password. Attempts are
// rate-limited per client IP and per username (existing or not).
package account

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

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
}

// Tokens mints and checks tokens; *auth.Keys implements it.
type Tokens interface {
	Issue(user natter.UserID, ttl time.Duration) (string, error)
	natter.TokenVerifier
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
	DefaultMaxTracked = 10000
)

// Default limits. A person mistyping a password a few times is never
// limited; a script guessing one account gets one try every 10 seconds.
var (
	DefaultLoginPerIP      = Limit{Every: 2 * time.Second, Burst: 20}
	DefaultLoginPerAccount = Limit{Every: 10 * time.Second, Burst: 10}
	DefaultRegisterPerIP   = Limit{Every: time.Minute, Burst: 10}
)

// Config configures the handler.
type Config struct {
	// Enabled turns on register, login and refresh. When false they answer
	// 404 and only GET /api/auth/config is served.
	Enabled bool
	Store   Store
	Tokens  Tokens
	// TTL is the lifetime of issued tokens (DefaultTTL if zero).
	TTL time.Duration
	// LoginURL, if set, is an external login page the UI sends people to
	// (docs/WEB-UI.md says what it must do).
	LoginURL string
	// Cost is the bcrypt cost (bcrypt.DefaultCost if zero).
	Cost int
	// Limits (the defaults above if zero) and how many IPs or usernames
	// each limiter tracks at most (DefaultMaxTracked).
	LoginPerIP, LoginPerAccount, RegisterPerIP Limit
	MaxTracked                                 int
	Log                                        *slog.Logger
	// Now is the clock of the rate limiters (time.Now if nil).
	Now func() time.Time
}

type handler struct {
	cfg        Config
	log        *slog.Logger
	loginIP    *limiters
	loginUser  *limiters
	registerIP *limiters
	// hashing bounds concurrent bcrypt work, which is deliberately slow:
	// a burst of logins must not take every CPU from the chat.
	hashing chan struct{}
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
	def(&cfg.LoginPerAccount, DefaultLoginPerAccount)
	def(&cfg.RegisterPerIP, DefaultRegisterPerIP)
	if cfg.MaxTracked <= 0 {
		cfg.MaxTracked = DefaultMaxTracked
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &handler{
		cfg:        cfg,
		log:        cfg.Log,
		loginIP:    newLimiters(cfg.LoginPerIP, cfg.MaxTracked),
		loginUser:  newLimiters(cfg.LoginPerAccount, cfg.MaxTracked),
		registerIP: newLimiters(cfg.RegisterPerIP, cfg.MaxTracked),
		hashing:    make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.cfg.Enabled {
		// Keys that only verify (external issuers' public keys, no secret)
		// cannot mint the tokens a login returns.
		if _, err := cfg.Tokens.Issue("probe", time.Minute); err != nil {
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
	mux.HandleFunc("POST /api/auth/refresh", h.enabled(h.refresh))
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
	"/api/auth/config":   http.MethodGet,
	"/api/auth/register": http.MethodPost,
	"/api/auth/login":    http.MethodPost,
	"/api/auth/refresh":  http.MethodPost,
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
	httpapi.WriteJSON(w, r, h.log, http.StatusOK, map[string]any{
		"accounts":  h.cfg.Enabled,
		"login_url": h.cfg.LoginURL,
		"token_ttl": int(h.cfg.TTL / time.Second),
	})
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
		h.limited(w, r, "register", h.cfg.RegisterPerIP)
		return
	}
	hash, err := h.hash(r.Context(), func() ([]byte, error) {
		return bcrypt.GenerateFromPassword([]byte(c.Password), h.cfg.Cost)
	})
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
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
	h.issue(w, r, http.StatusCreated, acc.User)
}

// errBadLogin is the one answer to every failed login.
var errBadLogin = natter.Errorf(natter.EUNAUTHORIZED, "wrong username or password")

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if err := readJSON(w, r, &c); err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	now := h.cfg.Now()
	// Both limits are taken whatever the outcome, and for any name: the
	// per-account one must not reveal which names exist either.
	if !h.loginIP.allow(clientIP(r), now) {
		h.limited(w, r, "login", h.cfg.LoginPerIP)
		return
	}
	if !h.loginUser.allow(accountKey(c.Username), now) {
		h.limited(w, r, "login", h.cfg.LoginPerAccount)
		return
	}
	acc, err := h.cfg.Store.Get(r.Context(), c.Username)
	found := err == nil
	if err != nil && natter.ErrorCode(err) != natter.ENOTFOUND {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	_, err = h.hash(r.Context(), func() ([]byte, error) {
		hash := acc.Hash
		if !found {
			dummy, err := h.dummy()
			if err != nil {
				return nil, err
			}
			hash = dummy
		}
		if err := bcrypt.CompareHashAndPassword(hash, []byte(c.Password)); err != nil || !found {
			return nil, errBadLogin
		}
		return nil, nil
	})
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	h.issue(w, r, http.StatusOK, acc.User)
}

// refresh serves POST /api/auth/refresh: a still-valid token of a built-in
// account buys a new one. Tokens of users without a built-in account (an
// external issuer's) are not extended: their issuer decides how long they
// last.
func (h *handler) refresh(w http.ResponseWriter, r *http.Request) {
	token, ok := httpapi.Bearer(r.Header.Get("Authorization"))
	if !ok {
		httpapi.WriteError(w, r, h.log, natter.Errorf(natter.EUNAUTHORIZED, "missing bearer token"))
		return
	}
	user, _, err := h.cfg.Tokens.Verify(token)
	if err != nil {
		httpapi.WriteError(w, r, h.log, natter.Errorf(natter.EUNAUTHORIZED, "invalid or expired token"))
		return
	}
	acc, err := h.cfg.Store.Get(r.Context(), user)
	if natter.ErrorCode(err) == natter.ENOTFOUND || (err == nil && acc.User != user) {
		httpapi.WriteError(w, r, h.log, natter.Errorf(natter.EUNAUTHORIZED, "this session cannot be refreshed; log in again"))
		return
	}
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	h.issue(w, r, http.StatusOK, acc.User)
}

func (h *handler) issue(w http.ResponseWriter, r *http.Request, status int, user natter.UserID) {
	token, err := h.cfg.Tokens.Issue(user, h.cfg.TTL)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, r, h.log, status, session{User: user, Token: token, ExpiresAt: time.Now().Add(h.cfg.TTL).UTC().Truncate(time.Second)})
}

// hash runs bcrypt work once a slot is free, or gives up with the request.
func (h *handler) hash(ctx context.Context, work func() ([]byte, error)) ([]byte, error) {
	select {
	case h.hashing <- struct{}{}:
	case <-ctx.Done():
		return nil, natter.Errorf(natter.EUNAVAILABLE, "server busy; try again")
	}
	defer func() { <-h.hashing }()
	return work()
}

func (h *handler) limited(w http.ResponseWriter, r *http.Request, what string, l Limit) {
	h.log.Warn("rate limited", "what", what, "ip", clientIP(r))
	w.Header().Set("Retry-After", retryAfter(l))
	httpapi.WriteError(w, r, h.log, natter.Errorf(natter.ERATELIMIT, "too many attempts; try again in a minute"))
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
