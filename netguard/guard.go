// Package netguard decides which network clients Natter serves, before any
// of them costs more than a descriptor: it resolves a client's address
// (X-Forwarded-For and X-Real-IP count only from trusted proxies), applies
// the IP allow and deny lists, caps connections in total and per client
// address, and keeps the accept loop alive through descriptor exhaustion.
//
// Where each rule applies: a direct client is judged at accept, on its TCP
// peer address, and refused there (closed, or answered 503 without reading
// its request). A trusted proxy's connections are let in at accept (they
// count only towards the total): its clients are judged on every HTTP
// request (Middleware) and at each WebSocket upgrade (Upgrade), on the
// address it forwards.
package netguard

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/metrics"
)

// Config configures a Guard.
type Config struct {
	// MaxConns caps the open TCP connections of the listener (0: no cap);
	// DefaultMaxConns derives it from RLIMIT_NOFILE.
	MaxConns int
	// MaxConnsPerIP caps the open connections of one client address
	// (an IPv4 address or an IPv6 /64; 0: no cap).
	MaxConnsPerIP int
	// TrustedProxies are the proxies whose forwarding headers count.
	TrustedProxies []netip.Prefix
	// Allow and Deny are CIDR lists, or "@path" of a file holding one (see
	// LoadCIDRs), re-read by Reload. An empty Allow lets everyone in who is
	// not denied; Deny wins over Allow.
	Allow, Deny string
	// LogEvery is the period of rate-limited log lines (default 10s): one
	// line per period and kind says how many events it stands for.
	LogEvery time.Duration
	Log      *slog.Logger
	Metrics  *metrics.Metrics
}

// DefaultPerIP is the default of Config.MaxConnsPerIP: room for an office
// behind one NAT address, far from what it takes to run a server out of
// descriptors.
const DefaultPerIP = 100

// healthWindow is how long Health keeps reporting an accept failure or a
// full connection table after the last one.
const healthWindow = 5 * time.Second

// Errors of Upgrade and Middleware, as natter errors so that both
// protocols answer them with their usual status codes (403, 503).
var (
	ErrDenied  = natter.Errorf(natter.EFORBIDDEN, "your address is not allowed")
	ErrTooMany = natter.Errorf(natter.EUNAVAILABLE, "too many connections from your address")
)

// Guard holds the rules and the connection counts of one listener. A nil
// *Guard lets everything through.
type Guard struct {
	cfg     Config
	trusted []netip.Prefix
	log     *slog.Logger
	m       *metrics.Metrics

	acl    atomic.Pointer[acl]
	counts counts

	mu       sync.Mutex
	failed   time.Time // last accept error
	failure  string
	full     time.Time // last refusal at MaxConns
	warnings map[string]*every
}

// acl is one reading of the allow and deny lists.
type acl struct{ allow, deny []netip.Prefix }

func (a *acl) allowed(c netip.Addr) bool {
	return !contains(a.deny, c) && (len(a.allow) == 0 || contains(a.allow, c))
}

// New returns a Guard, with the allow and deny lists read.
func New(cfg Config) (*Guard, error) {
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	g := &Guard{
		cfg: cfg, trusted: cfg.TrustedProxies, log: cfg.Log, m: cfg.Metrics,
		counts: counts{perIP: map[string]int{}}, warnings: map[string]*every{},
	}
	// Running out of descriptors is what the fd alert warns of: export
	// its counters at zero from the start (deploy/prometheus/alerts.yml).
	for _, reason := range []string{"emfile", "enfile"} {
		g.m.AcceptErrors.WithLabelValues(reason)
	}
	if err := g.Reload(); err != nil {
		return nil, err
	}
	return g, nil
}

// Reload re-reads the allow and deny lists. On an error the lists in force
// stay as they were. Connections already open are judged by the new lists
// at their next HTTP request; open WebSockets are the edge's to close.
func (g *Guard) Reload() error {
	allow, err := LoadCIDRs(g.cfg.Allow)
	if err != nil {
		return fmt.Errorf("allow list: %w", err)
	}
	deny, err := LoadCIDRs(g.cfg.Deny)
	if err != nil {
		return fmt.Errorf("deny list: %w", err)
	}
	g.acl.Store(&acl{allow: allow, deny: deny})
	g.log.Info("ip lists loaded", "allow", len(allow), "deny", len(deny))
	return nil
}

// Allowed reports whether the lists let client in.
func (g *Guard) Allowed(client netip.Addr) bool {
	return g == nil || g.acl.Load().allowed(client)
}

// Health is nil unless accepting connections failed, or the connection
// cap refused one, within the last few seconds: then the node should not
// be sent new clients.
func (g *Guard) Health() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	switch {
	case now.Sub(g.failed) < healthWindow:
		return errors.New("accept failing: " + g.failure)
	case now.Sub(g.full) < healthWindow:
		return fmt.Errorf("connection limit reached (%d)", g.cfg.MaxConns)
	}
	return nil
}

// refused counts a refused connection or request and logs it, rate-limited.
func (g *Guard) refused(reason string) {
	g.m.Refused.WithLabelValues(reason).Inc()
	now := time.Now()
	g.mu.Lock()
	if reason == reasonTotal {
		g.full = now
	}
	n, ok := g.every(reason).tick(now)
	g.mu.Unlock()
	if ok {
		g.log.Warn("connections refused", "reason", reason, "count", n, "per", g.cfg.LogEvery)
	}
}

// every returns the log limiter of kind. Called with g.mu held.
func (g *Guard) every(kind string) *every {
	e := g.warnings[kind]
	if e == nil {
		e = &every{period: g.cfg.LogEvery}
		g.warnings[kind] = e
	}
	return e
}

// every rate-limits one kind of log line: the first event logs, then at
// most one line per period, carrying the count of events it stands for.
type every struct {
	period time.Duration
	last   time.Time
	n      int
}

// tick counts an event at now and reports whether to log it, with the
// number of events since the last line.
func (e *every) tick(now time.Time) (int, bool) {
	e.n++
	if !e.last.IsZero() && now.Sub(e.last) < e.period {
		return 0, false
	}
	n := e.n
	e.last, e.n = now, 0
	return n, true
}

// rest returns the events not logged yet, and forgets them.
func (e *every) rest() int {
	n := e.n
	e.n = 0
	return n
}
