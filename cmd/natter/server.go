package main

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/account"
	"github.com/natter-chat/natter/auth"
	"github.com/natter-chat/natter/broker"
	"github.com/natter-chat/natter/edge"
	"github.com/natter-chat/natter/history"
	"github.com/natter-chat/natter/metrics"
	"github.com/natter-chat/natter/netguard"
	"github.com/natter-chat/natter/oidc"
	"github.com/natter-chat/natter/tracing"
	"github.com/natter-chat/natter/web"
)

// Main is one natter process: it holds the configuration and wires the
// parts together. Tests run it in-process, so the wiring itself is tested.
type Main struct {
	// Role says which parts run: "serve" (all of them), "edge" or "history".
	Role string

	Addr          string
	NATS          string // comma-separated URLs of an external cluster; empty: embedded
	NATSUser      string
	NATSPassword  string
	NATSCreds     string
	NATSCA        string
	NATSCert      string
	NATSKey       string
	NATSPing      time.Duration // ping interval to an external NATS server
	NATSMaxPings  int           // unanswered pings before its connection is dropped
	Replicas      int
	DrainDelay    time.Duration
	Presence      time.Duration
	PresenceLimit int
	RoomCache     int // bytes per room; negative disables
	Coalesce      time.Duration
	Pprof         bool // serve net/http/pprof under /debug/pprof/
	DataDir       string
	JWTSecret     string
	JWTPublicKeys string // comma-separated PEM files of external issuers
	JWTAudience   string
	JWTIssuer     string        // required iss of externally signed tokens
	JWKSURL       string        // an external issuer's key set
	JWKSRefresh   time.Duration // how often that set is fetched (0: auth.DefaultJWKSRefresh)
	Accounts      bool          // built-in accounts: register, log in, refresh under /api/auth/
	LoginURL      string        // external login page the web UI sends people to
	OIDC          OIDCConfig    // OpenID login of the web UI (oidcflags.go)
	TokenTTL      time.Duration // lifetime of tokens issued at login (0: account.DefaultTTL)
	// Sessions and login (docs/SECURITY.md "Sessions and login").
	TokenMaxLifetime time.Duration // longest token lifetime accepted (0: auth.DefaultMaxLifetime)
	SessionMax       time.Duration // absolute lifetime of a refresh chain (0: account.DefaultSessionMax)
	LoginWorkers     int           // concurrent bcrypt hashes (0: account.DefaultHashWorkers)
	LoginQueue       int           // requests waiting for bcrypt before 503 (0: account.DefaultHashQueue)
	BcryptCost       int           // bcrypt cost of new password hashes (0: bcrypt.DefaultCost)
	NATSListen       string
	SyncAlways       bool
	StreamMaxAge     time.Duration
	StreamMaxBytes   int64
	ApplyLimits      broker.Limits // which stream limits were given: applied to an existing stream
	DuplicateWindow  time.Duration
	MaxFrame         int
	MaxText          int
	Rate             float64
	Burst            int
	QueueLen         int
	IdleTimeout      time.Duration
	AuthTimeout      time.Duration
	ShutdownTimeout  time.Duration
	ArchiveName      string
	AuditInterval    time.Duration // how often the history archive is compared with the stream
	HistoryMaxAge    time.Duration // delete archived messages older than this (0: keep)
	// RetentionInterval is how often room retention and HistoryMaxAge are
	// applied (0: history.DefaultRetentionInterval); tests shorten it.
	RetentionInterval time.Duration
	ReadyMaxLag       uint64
	Quota             edge.Quota // per-user and per-room quotas (quotaflags.go)
	Net               NetConfig  // listener: HTTP timeouts, connection caps, proxies, IP lists
	Hooks             HookConfig // outgoing webhook and admin API (hookflags.go)
	Log               *slog.Logger
	// Tracer traces messages and requests; nil: from the OTEL_*
	// environment (docs/OBSERVABILITY.md), off unless it asks.
	Tracer *tracing.Tracer

	// When JetStream is unreachable (edge/storedown.go).
	StoreDownAfter, StoreDownSpread time.Duration

	// Set by Run.
	URL      string // http://host:port of the listener
	embedded *broker.Embedded
	broker   *broker.Broker
	store    *history.Store
	sessions *broker.Sessions
	archiver *history.Archiver
	edge     *edge.Edge
	http     *http.Server
	metrics  *metrics.Metrics
	guard    *netguard.Guard
	jwks     *auth.JWKS
	flush    func(context.Context) error // flushes spans, if Run set Tracer up
	oidc     *oidc.Provider
	stopArc  context.CancelFunc
	quiet    quietConns         // HTTP connections without a request yet (httpstop.go)
	stopHook context.CancelFunc // the webhook (hookflags.go)
	hookDone <-chan struct{}
	admin    *auth.AdminTokens
	arcDone  chan struct{}
	closeMu  sync.Once
	draining atomic.Bool
}

// NewMain returns a Main with the defaults.
func NewMain() *Main {
	return &Main{
		Role: "serve",
		Addr: "127.0.0.1:8080", DataDir: "./data",
		DuplicateWindow: broker.DefaultDuplicateWindow,
		MaxFrame:        edge.DefaultMaxFrame, MaxText: edge.DefaultMaxText,
		Rate: edge.DefaultRate, Burst: edge.DefaultBurst, QueueLen: edge.DefaultQueueLen,
		IdleTimeout: edge.DefaultIdleTimeout, AuthTimeout: edge.DefaultAuthTimeout, Presence: edge.DefaultPresence, ShutdownTimeout: 10 * time.Second,
		ArchiveName: "history", ReadyMaxLag: 1000, Quota: defaultQuota(),
		Net: defaultNet(), Log: slog.Default(),
	}
}

// Flags registers the flags of m.Role on fs.
func (m *Main) Flags(fs *flag.FlagSet) {
	fs.StringVar(&m.Addr, "addr", m.Addr, "HTTP and WebSocket listen address")
	fs.StringVar(&m.JWTSecret, "jwt-secret", m.JWTSecret, "HS256 token secret (default: generated into the data dir)")
	fs.StringVar(&m.JWTPublicKeys, "jwt-public-key", m.JWTPublicKeys, "comma-separated PEM files of external issuers' RS256/EdDSA public keys")
	fs.StringVar(&m.JWTAudience, "jwt-audience", m.JWTAudience, "if set, tokens must carry this aud")
	fs.StringVar(&m.JWKSURL, "jwt-jwks-url", m.JWKSURL, "URL of an external issuer's JSON Web Key Set (RS256, ES256, EdDSA keys), fetched at start, every --jwt-jwks-refresh and on an unknown kid (at most every 5m)")
	fs.DurationVar(&m.JWKSRefresh, "jwt-jwks-refresh", auth.DefaultJWKSRefresh, "how often the --jwt-jwks-url key set is fetched again")
	fs.StringVar(&m.JWTIssuer, "jwt-issuer", m.JWTIssuer, "if set, tokens signed by an external key (--jwt-public-key, --jwt-jwks-url) must carry this iss")
	fs.BoolVar(&m.Accounts, "accounts", true, "built-in accounts: anyone may register and log in with a username and password (false: tokens come from elsewhere)")
	fs.StringVar(&m.LoginURL, "login-url", m.LoginURL, "external login page the web UI sends people to; it returns them to the UI with #token=<jwt> (docs/WEB-UI.md)")
	oidcFlags(fs, &m.OIDC)
	fs.DurationVar(&m.TokenTTL, "token-ttl", account.DefaultTTL, "lifetime of tokens issued by built-in accounts (the web UI refreshes them while open)")
	fs.DurationVar(&m.TokenMaxLifetime, "token-max-lifetime", auth.DefaultMaxLifetime, "refuse tokens (ours or an external issuer's) whose lifetime, exp-iat, is longer; also how long session revocations are kept")
	fs.DurationVar(&m.SessionMax, "session-max", account.DefaultSessionMax, "absolute lifetime of a login: refreshing a token of an older session fails (log in again)")
	fs.IntVar(&m.LoginWorkers, "login-workers", account.DefaultHashWorkers, "password hashes (bcrypt) computed at once; each takes a core while it runs")
	fs.IntVar(&m.LoginQueue, "login-queue", account.DefaultHashQueue, "logins and registrations waiting for a hash before more are refused with 503 and Retry-After")
	fs.IntVar(&m.BcryptCost, "bcrypt-cost", m.BcryptCost, "bcrypt cost of new password hashes, 4-31 (0: 10); each step doubles the work of a login")
	fs.DurationVar(&m.StreamMaxAge, "stream-max-age", m.StreamMaxAge, "drop room messages older than this from the stream (0: keep)")
	fs.Int64Var(&m.StreamMaxBytes, "stream-max-bytes", m.StreamMaxBytes, "cap the stream's size in bytes, oldest dropped first (0: no cap)")
	fs.DurationVar(&m.DuplicateWindow, "dedupe-window", m.DuplicateWindow, "how long a client message id is remembered for de-duplication")
	fs.DurationVar(&m.ShutdownTimeout, "shutdown-timeout", m.ShutdownTimeout, "how long shutdown waits for connections to close")
	m.Net.flags(fs)
	hookFlags(fs, &m.Hooks)
	fs.BoolVar(&m.Pprof, "pprof", m.Pprof, "serve Go's profiler under /debug/pprof/ on the HTTP listener (for diagnosis; keep it off the public network)")
	if m.Role == "serve" || m.Role == "history" {
		fs.StringVar(&m.DataDir, "data", m.DataDir, "data directory (history database; in serve mode also the embedded JetStream store and the signing secret)")
		fs.StringVar(&m.ArchiveName, "archive-name", m.ArchiveName, "durable consumer name of this history archive")
		fs.DurationVar(&m.HistoryMaxAge, "history-max-age", m.HistoryMaxAge, "delete archived messages older than this from the history database, checked every minute (0: keep forever; at least the stream's --stream-max-age)")
		fs.DurationVar(&m.AuditInterval, "archive-audit-interval", m.AuditInterval, "how often the history archive is compared with the stream and repaired (also at start; 0: default 5m, negative: only at start)")
	}
	if m.Role == "serve" || m.Role == "edge" {
		fs.IntVar(&m.MaxFrame, "max-frame", m.MaxFrame, "largest client WebSocket frame in bytes (larger: close 1009)")
		fs.IntVar(&m.MaxText, "max-text", m.MaxText, "largest message text in bytes")
		fs.Float64Var(&m.Rate, "rate", m.Rate, "client frames per second allowed per connection")
		fs.IntVar(&m.Burst, "burst", m.Burst, "client frames allowed in a burst above --rate")
		fs.IntVar(&m.QueueLen, "queue", m.QueueLen, "outgoing frames queued per connection before it is closed as a slow consumer")
		fs.DurationVar(&m.IdleTimeout, "idle-timeout", m.IdleTimeout, "close connections silent for this long (clients ping)")
		fs.DurationVar(&m.AuthTimeout, "auth-timeout", m.AuthTimeout, "close connections that have not authenticated within this time (4002)")
		fs.DurationVar(&m.Coalesce, "coalesce", m.Coalesce, "shortest time between two writes to one connection: frames to a busy connection wait up to this long and go out in one write (0: default 20ms, negative: write at once)")
		fs.IntVar(&m.RoomCache, "room-cache", m.RoomCache, "bytes of recent messages each followed room keeps for resuming clients (0: default 64 KiB, negative: none)")
		fs.IntVar(&m.PresenceLimit, "presence-limit", m.PresenceLimit, "rooms with more users online than this get no presence events or snapshot (0: default 500)")
		fs.DurationVar(&m.Presence, "presence-interval", m.Presence, "how often this edge re-announces its users; presence of a dead edge expires after 3 intervals")
		quotaFlags(fs, &m.Quota)
		fs.DurationVar(&m.StoreDownAfter, "store-down-after", edge.DefaultStoreDownAfter, "when JetStream has been unreachable this long, tell clients: close them with 1013 (with --nats) or send a service event (embedded); negative: never")
		fs.DurationVar(&m.StoreDownSpread, "store-down-spread", edge.DefaultStoreDownSpread, "spread those 1013 closes over this long, so clients do not reconnect all at once")
		fs.DurationVar(&m.DrainDelay, "drain-delay", m.DrainDelay, "on SIGTERM, report not ready and keep serving this long before closing connections (lets load balancers notice)")
	}
	if m.Role == "serve" {
		fs.StringVar(&m.NATSListen, "nats-listen", m.NATSListen, "also expose the embedded NATS server on this host:port (default: in-process only)")
		fs.BoolVar(&m.SyncAlways, "sync-always", m.SyncAlways, "fsync every stored message before acking it (survives power loss; slower)")
	}
	fs.StringVar(&m.NATS, "nats", m.NATS, "comma-separated URLs of an external NATS cluster (serve: empty runs an embedded server)")
	fs.StringVar(&m.NATSUser, "nats-user", m.NATSUser, "NATS user name")
	fs.StringVar(&m.NATSPassword, "nats-password", m.NATSPassword, "NATS password")
	fs.StringVar(&m.NATSCreds, "nats-creds", m.NATSCreds, "NATS credentials file (.creds)")
	fs.StringVar(&m.NATSCA, "nats-ca", m.NATSCA, "CA certificate (PEM) to verify the NATS servers")
	fs.StringVar(&m.NATSCert, "nats-cert", m.NATSCert, "client certificate (PEM) for NATS mutual TLS")
	fs.StringVar(&m.NATSKey, "nats-key", m.NATSKey, "client key (PEM) for NATS mutual TLS")
	fs.DurationVar(&m.NATSPing, "nats-ping-interval", broker.DefaultPingInterval, "how often the connection to an external NATS server is pinged; with --nats-max-pings it bounds how long a hung or cut-off server is kept")
	fs.IntVar(&m.NATSMaxPings, "nats-max-pings", broker.DefaultMaxPingsOut, "unanswered pings after which the connection to an external NATS server is dropped and another server tried")
	fs.IntVar(&m.Replicas, "replicas", m.Replicas, "replicas of the stream and buckets when this node creates them (0: 3 if the cluster has 3+ servers, else 1)")
}

// Run starts the parts of m.Role and returns once the server accepts
// connections.
func (m *Main) Run(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			m.Close(context.Background())
		}
	}()
	if m.Role != "serve" && m.NATS == "" {
		return fmt.Errorf("%s: --nats is required (the embedded server runs only with serve)", m.Role)
	}
	if m.runsHistory() || m.NATS == "" {
		if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
			return err
		}
	}
	keys, err := m.keys()
	if err != nil {
		return err
	}
	if m.oidc, err = m.oidcProvider(); err != nil {
		return err
	}
	m.metrics = metrics.New()
	if m.Tracer == nil {
		if m.Tracer, m.flush, err = tracing.FromEnv(ctx, m.Role, nil); err != nil {
			return err
		}
	}
	bcfg := broker.Config{
		URLs: m.NATS, User: m.NATSUser, Password: m.NATSPassword, CredsFile: m.NATSCreds,
		CAFile: m.NATSCA, CertFile: m.NATSCert, KeyFile: m.NATSKey,
		PingInterval: m.NATSPing, MaxPingsOut: m.NATSMaxPings,
		Name: "natter-" + m.Role, Replicas: m.Replicas,
		MaxAge: m.StreamMaxAge, MaxBytes: m.StreamMaxBytes, DuplicateWindow: m.DuplicateWindow, Apply: m.ApplyLimits,
		Log: m.Log, Metrics: m.metrics, Tracer: m.Tracer,
	}
	if m.NATS == "" {
		m.embedded, err = broker.StartEmbedded(broker.EmbeddedConfig{
			DataDir: m.DataDir, Listen: m.NATSListen, SyncAlways: m.SyncAlways, Log: m.Log,
			ControlSocket: filepath.Join(m.DataDir, controlSocket), // natter backup
		})
		if err != nil {
			return err
		}
		bcfg.Embedded, bcfg.Replicas = m.embedded, 1
	}
	if m.broker, err = broker.Open(ctx, bcfg); err != nil {
		return err
	}
	if m.sessions, err = m.broker.OpenSessions(ctx, m.tokenMaxLifetime()); err != nil {
		return err
	}
	tokens := m.sessions.Verifier(keys)
	if m.admin, err = m.Hooks.adminTokens(); err != nil {
		return err
	}
	if err := m.startWebhook(); err != nil {
		return err
	}
	if m.runsHistory() {
		if m.store, err = history.Open(filepath.Join(m.DataDir, "history.db")); err != nil {
			return err
		}
		m.archiver = &history.Archiver{
			Store: m.store, Source: m.broker, Durable: m.ArchiveName,
			AuditInterval: m.AuditInterval, Log: m.Log, Metrics: m.metrics,
		}
		if err := m.checkHistoryMaxAge(); err != nil {
			return err
		}
		ret := &history.Retention{Store: m.store, Source: m.broker, MaxAge: m.HistoryMaxAge,
			Interval: m.RetentionInterval, Log: m.Log, Metrics: m.metrics}
		actx, cancel := context.WithCancel(context.Background())
		m.stopArc, m.arcDone = cancel, make(chan struct{})
		go func() {
			defer close(m.arcDone)
			retDone := make(chan struct{})
			go func() { defer close(retDone); ret.Run(actx) }()
			defer func() { <-retDone }()
			if err := m.archiver.Run(actx); err != nil {
				m.Log.Error("history archive stopped", "err", err)
			}
		}()
	}
	l, err := m.listen()
	if err != nil {
		return err
	}
	m.URL = "http://" + l.Addr().String()
	if m.runsEdge() {
		m.edge = edge.New(edge.Config{
			Broker: m.broker, Tokens: tokens, Sessions: m.sessions, Metrics: m.metrics, Log: m.Log, Tracer: m.Tracer,
			MaxFrame: m.MaxFrame, MaxText: m.MaxText, Rate: m.Rate, Burst: m.Burst,
			QueueLen: m.QueueLen, IdleTimeout: m.IdleTimeout, AuthTimeout: m.AuthTimeout,
			PresenceInterval: m.Presence, PresenceLimit: m.PresenceLimit, RoomCache: m.RoomCache,
			Coalesce: m.Coalesce, Guard: m.guard, Quota: m.Quota,
			// A single node has no other edge to send its clients to.
			StoreDownAfter: m.StoreDownAfter, StoreDownSpread: m.StoreDownSpread, StoreDownClose: m.NATS != "",
		})
		l = m.edge.Split(l, "/ws")
	}
	m.http = m.httpServer(m.Tracer.Middleware(m.routes(keys, tokens)))
	go m.http.Serve(l)
	attrs := []any{"role", m.Role, "url", m.URL}
	if m.runsEdge() {
		attrs = append(attrs, "ws", strings.Replace(m.URL, "http", "ws", 1)+"/ws")
	}
	if m.runsHistory() || m.NATS == "" {
		attrs = append(attrs, "data", m.DataDir)
	}
	if m.NATS != "" {
		attrs = append(attrs, "nats", m.NATS)
	}
	m.Log.Info("natter serving", attrs...)
	return nil
}

// checkHistoryMaxAge refuses an archive retention shorter than the
// stream's: the audit would restore from the stream what it prunes.
func (m *Main) checkHistoryMaxAge() error {
	if m.HistoryMaxAge <= 0 {
		return nil
	}
	st := m.broker.StreamMaxAge()
	if st == 0 || st > m.HistoryMaxAge {
		keep := "forever"
		if st > 0 {
			keep = st.String()
		}
		return fmt.Errorf("--history-max-age %v is shorter than the stream's retention (%s): the archive would restore from the stream what it deletes; keep history at least as long (or bound the stream with --stream-max-age)", m.HistoryMaxAge, keep)
	}
	return nil
}

func (m *Main) tokenMaxLifetime() time.Duration {
	if m.TokenMaxLifetime <= 0 {
		return auth.DefaultMaxLifetime
	}
	return m.TokenMaxLifetime
}

func (m *Main) runsEdge() bool    { return m.Role != "history" }
func (m *Main) runsHistory() bool { return m.Role != "edge" }

// Drain makes the node report not ready, so that load balancers stop
// sending it new clients, while it keeps serving the ones it has.
func (m *Main) Drain() { m.draining.Store(true) }

// routes serves the HTTP API: keys mint tokens, tokens checks them
// (revocations included).
func (m *Main) routes(keys *auth.Keys, tokens natter.TokenVerifier) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", m.ready)
	mux.Handle("GET /metrics", m.metrics.Handler())
	if m.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("/api/auth/", m.metrics.Instrument("auth", account.NewHandler(account.Config{
		Enabled: m.Accounts, Store: m.broker.Accounts(), Tokens: keys, Sessions: m.sessions,
		TTL: m.TokenTTL, SessionMax: m.SessionMax, HashWorkers: m.LoginWorkers, HashQueue: m.LoginQueue, Cost: m.BcryptCost,
		LoginURL: m.LoginURL, Log: m.Log,
		OIDC: m.oidcLogin(), OIDCName: m.OIDC.Name, OIDCSecureCookie: strings.HasPrefix(m.OIDC.RedirectURL, "https:"),
	})))
	if m.edge != nil {
		mux.Handle("GET /ws", m.edge)
		api := m.edge.APIHandler() // invitations and add policy
		mux.Handle("/api/invitations", api)
		mux.Handle("/api/invitations/", api)
		mux.Handle("/api/me/settings", api)
		if m.admin != nil {
			mux.Handle("/api/admin/", m.metrics.Instrument("admin", m.edge.AdminHandler(m.adminLookup)))
		}
		mux.Handle("/", web.Handler())
	}
	if m.store != nil {
		mux.Handle("/api/", m.metrics.Instrument("history", history.NewHandler(m.store, m.broker, tokens, m.Log)))
	}
	return mux
}

// ready is 200 when NATS and JetStream answer and the archive is within
// ReadyMaxLag messages of the stream. A history replica says where its
// archive stands on a second line, ready or not.
func (m *Main) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	// The answer is also a gauge: a flapping node shows as its changes
	// (deploy/prometheus/alerts.yml).
	ready := false
	defer func() {
		if ready {
			m.metrics.Ready.Set(1)
		} else {
			m.metrics.Ready.Set(0)
		}
	}()
	fail := func(err error) {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
	}
	if m.draining.Load() {
		fail(errors.New("draining"))
		return
	}
	if err := m.guard.Health(); err != nil {
		fail(err)
		return
	}
	if err := m.broker.Ready(ctx); err != nil {
		fail(err)
		return
	}
	if m.store == nil {
		ready = true
		fmt.Fprintln(w, "ready")
		return
	}
	st := m.archiver.Status()
	lag, err := m.broker.ArchiveLag(ctx, st.Position)
	if err != nil {
		fail(err)
		return
	}
	audit := "none yet"
	if !st.LastAudit.IsZero() {
		audit = st.LastAudit.UTC().Format(time.RFC3339)
	}
	status := fmt.Sprintf("archive: position %d, lag %d, last audit %s, repaired %d", st.Position, lag, audit, st.Repaired)
	if lag > m.ReadyMaxLag {
		http.Error(w, fmt.Sprintf("not ready: history archive %d messages behind\n%s", lag, status), http.StatusServiceUnavailable)
		return
	}
	ready = true
	fmt.Fprintf(w, "ready\n%s\n", status)
}

func (m *Main) keys() (*auth.Keys, error) {
	if m.TokenTTL > m.tokenMaxLifetime() {
		return nil, fmt.Errorf("--token-ttl %v is longer than --token-max-lifetime %v: such tokens would be refused", m.TokenTTL, m.tokenMaxLifetime())
	}
	cfg := auth.Config{Audience: m.JWTAudience, ExternalIssuer: m.JWTIssuer, MaxLifetime: m.tokenMaxLifetime()}
	if m.JWKSURL != "" {
		j, err := auth.NewJWKS(auth.JWKSConfig{URL: m.JWKSURL, Refresh: m.JWKSRefresh, Log: m.Log})
		if err != nil {
			return nil, err
		}
		m.jwks, cfg.JWKS = j, j
	}
	switch {
	case m.JWTSecret != "" || m.NATS == "":
		secret, err := signingSecret(m.JWTSecret, m.DataDir, auth.LoadOrCreateSecret)
		if err != nil {
			return nil, err
		}
		cfg.Secret = secret
	case m.JWTPublicKeys == "" && m.JWKSURL == "":
		// A secret generated into one node's data dir would not be known
		// to the others.
		return nil, errors.New("with --nats, give every node the same --jwt-secret, or --jwt-public-key or --jwt-jwks-url")
	}
	for _, path := range strings.Split(m.JWTPublicKeys, ",") {
		if path = strings.TrimSpace(path); path == "" {
			continue
		}
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("jwt public key: %w", err)
		}
		k, err := auth.ParsePublicKeyPEM(pem)
		if err != nil {
			return nil, fmt.Errorf("jwt public key %s: %w", path, err)
		}
		cfg.PublicKeys = append(cfg.PublicKeys, crypto.PublicKey(k))
	}
	return auth.New(cfg)
}

// Close shuts down in dependency order: stop accepting, close WebSockets
// with 1001 after flushing them, stop the archive, drain NATS (outstanding
// publish acks first), close SQLite, stop the embedded server.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	m.closeMu.Do(func() {
		if m.http != nil {
			sctx, cancel := context.WithTimeout(ctx, m.ShutdownTimeout)
			m.shutdownHTTP(sctx)
			cancel()
		}
		if m.edge != nil {
			sctx, cancel := context.WithTimeout(ctx, m.ShutdownTimeout)
			errs = append(errs, m.edge.Shutdown(sctx))
			cancel()
			m.Log.Info("websockets closed")
		}
		if m.stopArc != nil {
			m.stopArc()
			<-m.arcDone
		}
		m.stopWebhook()
		if m.sessions != nil {
			m.sessions.Close()
		}
		if m.broker != nil {
			errs = append(errs, m.broker.Close(ctx))
			m.Log.Info("nats drained")
		}
		if m.store != nil {
			errs = append(errs, m.store.Close())
		}
		if m.embedded != nil {
			m.embedded.Shutdown()
		}
		if m.jwks != nil {
			m.jwks.Close()
		}
		if m.flush != nil {
			errs = append(errs, m.flush(ctx))
		}
	})
	return errors.Join(errs...)
}
