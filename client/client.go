package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Config says where and how to connect. URL and Token are required.
type Config struct {
	// URL is the WebSocket endpoint, e.g. ws://127.0.0.1:8080/ws, or
	// wss://chat.example.com/ws through a TLS-terminating proxy.
	URL string
	// Token supplies the token of every connect and renewal.
	Token TokenSource
	// Header is sent with the upgrade request (optional).
	Header http.Header
	// TLS configures wss:// connections (nil: the system's roots, the
	// URL's host as the server name).
	TLS *tls.Config
	// MinBackoff and MaxBackoff bound the wait between reconnect attempts
	// (defaults 250ms and 30s); each wait doubles, with jitter.
	MinBackoff, MaxBackoff time.Duration
	// RenewBefore is how long before its expiry the token is renewed on
	// the open connection (default 30s, at most a quarter of its life). A
	// negative value turns renewal off: the server then closes the
	// connection at expiry (4001) and the client reconnects with a new
	// token and resumes.
	RenewBefore time.Duration
	// EventBuffer is the capacity of the Events channel (default 1024).
	// When it is full the client stops reading from the socket; the server
	// may then close the connection as a slow consumer, and the client
	// reconnects and resumes, so nothing is lost, but read promptly.
	EventBuffer int
	// Log receives the client's warnings (default: discarded).
	Log *slog.Logger
}

// Client is a connection to a Natter server that stays up: it reconnects
// after every loss, resumes every joined room and resends what was not
// acknowledged. Its methods are safe for concurrent use.
type Client struct {
	cfg    Config
	events chan Event
	quit   chan struct{} // closed by Close
	done   chan struct{} // closed when run has returned

	mu      sync.Mutex
	sess    *session // nil while disconnected
	user    string
	epoch   string
	rooms   map[string]*room
	pending map[string]*request      // by rid
	queue   []*request               // not written yet, in call order
	retries map[*request]*time.Timer // resends waiting to be queued again
	rid     int64
	closed  bool
}

// room is what the client keeps of a joined room to resume it.
type room struct {
	last      uint64 // the highest seq accepted
	epoch     string
	joinLast  uint64 // joined.last of the current subscription
	caughtUp  bool   // last >= joinLast: held resends may go
	rejoining bool   // a join of our own is under way: drop msgs until it answers
}

// request is one op waiting for its reply.
type request struct {
	op     map[string]any
	rid    string
	resend bool // has a cid: resent after a reconnect
	room   string
	cid    string
	reply  chan result
	sess   *session // written on this connection; nil: not yet written
	resume bool     // the client's own rejoin
	retry  int      // resends after unavailable/rate_limited
}

type result struct {
	f   *frame
	err error
}

// Dial makes the first connection (token, upgrade, auth) and returns the
// client once it is ready, or the error of that first attempt: a bad URL,
// a refused token or an unreachable server are reported here, not retried.
// After that the client keeps itself connected until Close.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.URL == "" || cfg.Token == nil {
		return nil, errors.New("client: Config.URL and Config.Token are required")
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.RenewBefore == 0 {
		cfg.RenewBefore = 30 * time.Second
	}
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = 1024
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, events: make(chan Event, cfg.EventBuffer), quit: make(chan struct{}),
		done: make(chan struct{}), rooms: map[string]*room{}, pending: map[string]*request{},
		retries: map[*request]*time.Timer{}}
	first := make(chan error, 1)
	go c.run(ctx, first)
	select {
	case err := <-first:
		if err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
}

// Events delivers what the server says, in order. It is closed after
// Close. Records of a room come exactly once each, in order.
func (c *Client) Events() <-chan Event { return c.events }

// User is the authenticated user id.
func (c *Client) User() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user
}

// Close ends the connection, fails the requests still waiting with
// ErrClosed, and returns once every goroutine of the client has ended.
func (c *Client) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.quit)
		if c.sess != nil {
			c.sess.conn.Close()
		}
	}
	c.mu.Unlock()
	<-c.done
	return nil
}

// run keeps the client connected until Close.
// first receives the outcome of the first connect.
func (c *Client) run(ctx context.Context, first chan<- error) {
	defer func() {
		c.mu.Lock()
		for _, r := range c.pending {
			r.reply <- result{err: ErrClosed}
		}
		for _, r := range c.queue {
			r.reply <- result{err: ErrClosed}
		}
		for r, t := range c.retries {
			t.Stop()
			r.reply <- result{err: ErrClosed}
		}
		c.pending, c.queue, c.retries = map[string]*request{}, nil, map[*request]*time.Timer{}
		c.mu.Unlock()
		close(c.events)
		close(c.done)
	}()
	firstCtx, reconnect := ctx, false
	for attempt := 0; ; attempt++ {
		ready, err := c.connect(firstCtx, reconnect, func() {
			if first != nil {
				first <- nil
				first = nil
			}
		})
		reconnect = true
		if first != nil {
			first <- err
			return
		}
		firstCtx = context.Background() // the caller's ctx bounds Dial only
		if ready {
			attempt = 0
		}
		if c.isClosed() {
			return
		}
		c.emit(&Disconnected{Err: err})
		c.cfg.Log.Warn("natter client: disconnected", "err", err)
		select {
		case <-c.quit:
			return
		case <-time.After(backoff(attempt, c.cfg.MinBackoff, c.cfg.MaxBackoff)):
		}
	}
}

func (c *Client) isClosed() bool {
	select {
	case <-c.quit:
		return true
	default:
		return false
	}
}

// emit hands ev to the application, waiting while Events is full (the
// socket is then not read: backpressure) unless the client is closed.
func (c *Client) emit(ev Event) {
	select {
	case c.events <- ev:
	case <-c.quit:
	}
}

// do runs one op and waits for its reply. A resend op (one with a cid)
// survives reconnects; any other fails with ErrConnectionLost if the
// connection it was written to ends first.
func (c *Client) do(ctx context.Context, op map[string]any, resend bool) (*frame, error) {
	r := &request{op: op, reply: make(chan result, 1)}
	if resend {
		r.resend = true
		r.cid, _ = op["cid"].(string)
		r.room, _ = op["room"].(string)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.queue = append(c.queue, r)
	c.flushLocked()
	c.mu.Unlock()
	select {
	case res := <-r.reply:
		return res.f, res.err
	case <-ctx.Done():
		c.mu.Lock()
		c.dropLocked(r)
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (c *Client) dropLocked(r *request) {
	if r.rid != "" && c.pending[r.rid] == r {
		delete(c.pending, r.rid)
	}
	if t := c.retries[r]; t != nil {
		t.Stop()
		delete(c.retries, r)
	}
	for i, q := range c.queue {
		if q == r {
			c.queue = append(c.queue[:i:i], c.queue[i+1:]...)
			break
		}
	}
}

// flushLocked writes the queued requests that may go now, in order: all of
// them, except a resend in a room still replaying after a resume (its
// original may be in the replay: section 7.1).
func (c *Client) flushLocked() {
	s := c.sess
	if s == nil {
		return
	}
	keep := c.queue[:0]
	for _, r := range c.queue {
		if rm := c.rooms[r.room]; r.resend && r.retry == 0 && rm != nil && !rm.caughtUp && !r.resume {
			keep = append(keep, r)
			continue
		}
		c.writeLocked(s, r)
	}
	clear(c.queue[len(keep):])
	c.queue = keep
}

// writeLocked gives r a fresh rid and hands it to the session's writer.
func (c *Client) writeLocked(s *session, r *request) {
	c.rid++
	r.rid = strconv.FormatInt(c.rid, 10)
	r.op["rid"] = r.rid
	r.sess = s
	c.pending[r.rid] = r
	b, _ := json.Marshal(r.op)
	s.write(b)
}
