package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
	"github.com/natter-chat/natter/metrics"
	"github.com/natter-chat/natter/netguard"
	"github.com/natter-chat/natter/tracing"
)

// Config configures an Edge. Zero limits take the defaults below.
type Config struct {
	Broker *broker.Broker
	Tokens natter.TokenVerifier
	// Sessions, if set, is the revocation list: connections whose session
	// is revoked are closed with 4001 as soon as the edge hears of it, and
	// the sweeper re-checks every connection against it.
	Sessions *broker.Sessions
	Metrics  *metrics.Metrics
	Log      *slog.Logger
	Tracer   *tracing.Tracer // sends and replays (nil: off)

	MaxFrame     int           // largest accepted client frame (bytes)
	MaxText      int           // largest message text (bytes)
	Rate         float64       // sustained client frames per second
	Burst        int           // frames allowed above Rate in a burst
	QueueLen     int           // outgoing frames queued per connection before 4009
	AuthTimeout  time.Duration // time allowed between upgrade and auth
	IdleTimeout  time.Duration // silence after which a connection is closed (4010)
	WriteTimeout time.Duration // bound on one socket write
	// Coalesce is the shortest time between two writes to one connection:
	// frames queued meanwhile wait and go out together. A connection that
	// was quiet for longer is written at once, so this only delays (by at
	// most Coalesce) connections receiving many frames a second, and cuts
	// their syscalls. Zero: every frame is written as soon as a flusher
	// worker reaches it; the default is DefaultCoalesce, negative means zero.
	Coalesce time.Duration
	// PresenceInterval is how often the edge re-announces its users in
	// every room; an edge silent for 3 intervals is presumed dead and its
	// users offline (default 10s, so presence converges within 30s).
	PresenceInterval time.Duration
	// RoomCache is the byte budget of each room's cache of its latest
	// messages, which resuming clients are served from instead of the
	// stream (default 64 KiB; negative disables it).
	RoomCache int
	// PresenceLimit is the number of users online in a room above which
	// presence events and the joined snapshot are no longer sent for it.
	PresenceLimit int
	// Guard judges upgrades by the client's address (IP lists, and the
	// per-IP cap for clients of a trusted proxy); nil admits all.
	Guard *netguard.Guard
	// Quota is what one user may use: rooms, members, connections, rates.
	Quota Quota
	// StoreDownAfter is how long JetStream may be unreachable before the
	// edge tells its clients (storedown.go; default 5s, negative: never);
	// StoreDownClose closes them with 1013, spread over StoreDownSpread
	// (default 2s), instead of sending them a service event.
	StoreDownAfter, StoreDownSpread time.Duration
	StoreDownClose                  bool
}

// Defaults.
const (
	DefaultMaxFrame      = 64 << 10
	DefaultMaxText       = 8 << 10
	DefaultRate          = 20
	DefaultBurst         = 40
	DefaultQueueLen      = 1024
	DefaultAuthTimeout   = 10 * time.Second
	DefaultIdleTimeout   = 75 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
	DefaultPresence      = 10 * time.Second
	DefaultPresenceLimit = 500
	DefaultRoomCache     = 64 << 10
	DefaultCoalesce      = 20 * time.Millisecond

	// maxStrikes is how many frames in a row a connection may have refused
	// by the rate limiter before it is closed with 4008.
	maxStrikes = 50
)

// Edge is the WebSocket gateway of one process.
type Edge struct {
	cfg Config
	id  string // this edge's identity in presence announcements
	b   *broker.Broker
	m   *metrics.Metrics
	log *slog.Logger
	up  ws.Upgrader

	ctx    context.Context // ends at Shutdown; bounds background work
	cancel context.CancelFunc

	mu             sync.Mutex
	rooms          map[natter.RoomID]*room
	users          map[natter.UserID][]*conn // local connections by user, for user events
	followingUsers bool
	conns          map[*conn]struct{}
	draining       bool
	wg             sync.WaitGroup // open connections
	poll           *poller        // nil: a reader goroutine per connection
	runners        opRunners      // run the connections' op queues
	flush          *flusher
	rules          *rules                       // membership and moderation enforcement
	quotas         *broker.Quotas               // cluster-wide counters (quota.go)
	userQuotas     map[natter.UserID]*userQuota // per-user limits of local users, under mu
	rates          *userRates                   // shares the user send rate with other edges; nil if off
}

// defaultOrOff is the rule of the settings where zero means the default
// and a negative value means off (stored as 0).
func defaultOrOff[T int | float64 | time.Duration](v *T, d T) {
	switch {
	case *v == 0:
		*v = d
	case *v < 0:
		*v = 0
	}
}

// New returns an Edge. It starts nothing: connections arrive through
// ServeConn, ServeHTTP or Split.
func New(cfg Config) *Edge {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.MaxFrame, DefaultMaxFrame)
	def(&cfg.MaxText, DefaultMaxText)
	def(&cfg.Burst, DefaultBurst)
	def(&cfg.QueueLen, DefaultQueueLen)
	def(&cfg.PresenceLimit, DefaultPresenceLimit)
	defaultOrOff(&cfg.Coalesce, DefaultCoalesce)
	defaultOrOff(&cfg.RoomCache, DefaultRoomCache)
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	for _, d := range []struct {
		v *time.Duration
		d time.Duration
	}{{&cfg.StoreDownSpread, DefaultStoreDownSpread}, {&cfg.AuthTimeout, DefaultAuthTimeout}, {&cfg.IdleTimeout, DefaultIdleTimeout}, {&cfg.WriteTimeout, DefaultWriteTimeout}, {&cfg.PresenceInterval, DefaultPresence}} {
		if *d.v <= 0 {
			*d.v = d.d
		}
	}
	if cfg.StoreDownAfter == 0 {
		cfg.StoreDownAfter = DefaultStoreDownAfter
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Edge{
		cfg: cfg, b: cfg.Broker, m: cfg.Metrics, log: cfg.Log,
		ctx: ctx, cancel: cancel,
		rooms: map[natter.RoomID]*room{},
		users: map[natter.UserID][]*conn{},
		conns: map[*conn]struct{}{},
	}
	e.cfg.Quota = cfg.Quota.withDefaults(cfg.Rate, cfg.Burst)
	e.quotas, e.userQuotas = cfg.Broker.Quotas(), map[natter.UserID]*userQuota{}
	e.flush = newFlusher(ctx, cfg.Coalesce)
	e.runners = startOpRunners(ctx)
	e.rules = newRules(e)
	e.up = ws.Upgrader{ReadBufferSize: 2048, WriteBufferSize: 512}
	var id [8]byte
	_, _ = rand.Read(id[:])
	e.id = hex.EncodeToString(id[:])
	e.rates = e.startUserRates()
	go e.presenceLoop()
	go e.sweepLoop()
	go e.storeWatchLoop()
	if cfg.Sessions != nil {
		context.AfterFunc(ctx, cfg.Sessions.OnRevoke(e.revoked))
	}
	if p, err := newPoller(); err == nil {
		e.poll = p
	} else {
		e.log.Info("no epoll; one reader goroutine per connection", "err", err)
	}
	return e
}

// Shutdown stops accepting connections, closes every connection with 1001
// "going away" after flushing what is queued to it, and waits until all
// connection goroutines have ended or ctx expires (then it cuts them off).
// Messages acked before Shutdown are in JetStream: clients resume elsewhere
// or after the restart without loss.
func (e *Edge) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.draining = true
	conns := make([]*conn, 0, len(e.conns))
	for c := range e.conns {
		conns = append(conns, c)
	}
	e.mu.Unlock()
	for _, c := range conns {
		c.closeWith(ws.StatusGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		// Out of patience: cut the sockets; their readers (or finishers)
		// fail at once and tear down.
		for _, c := range conns {
			c.nc.Close()
			c.finishIfClosing()
		}
		<-done
	}
	e.cancel()
	e.poll.close()
	return nil
}

// sweepLoop closes connections that missed the auth deadline, went silent
// or outlived their token; one pass over all connections replaces a timer
// per connection.
func (e *Edge) sweepLoop() {
	every := min(time.Second, e.cfg.AuthTimeout/4, e.cfg.IdleTimeout/4)
	t := time.NewTicker(max(every, 10*time.Millisecond))
	defer t.Stop()
	var conns []*conn
	for {
		select {
		case <-e.ctx.Done():
			return
		case now := <-t.C:
			e.mu.Lock()
			conns = conns[:0]
			for c := range e.conns {
				conns = append(conns, c)
			}
			e.mu.Unlock()
			for _, c := range conns {
				c.checkTimeouts(now)
			}
		}
	}
}

// Connections is the number of open connections (authenticated or not).
func (e *Edge) Connections() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.conns)
}
