package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/natter-chat/natter/client/internal/wsconn"
)

// authTimeout bounds the wait for ready (the server's own auth deadline
// is 10s by default).
const authTimeout = 15 * time.Second

// session is one connection's goroutines: its writer, pinger and renewer
// run until ctx ends; the reader is connect's own goroutine.
type session struct {
	conn   *wsconn.Conn
	pace   pacer
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	wmu    sync.Mutex
	out    [][]byte
	signal chan struct{}
}

func (s *session) write(b []byte) {
	s.wmu.Lock()
	s.out = append(s.out, b)
	s.wmu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// writer writes queued frames in order, so that no lock is held over a
// socket write.
func (s *session) writer() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.signal:
		}
		s.wmu.Lock()
		out := s.out
		s.out = nil
		s.wmu.Unlock()
		for _, b := range out {
			if !s.pace.wait(s.ctx) {
				return
			}
			if err := s.conn.WriteText(b); err != nil {
				s.conn.Close() // the reader notices and ends the session
				return
			}
		}
	}
}

// connect runs one connection from dial to its end. ready says it got as
// far as ready (the backoff then starts again from its minimum).
// onReady is called once authenticated.
func (c *Client) connect(ctx context.Context, reconnect bool, onReady func()) (ready bool, err error) {
	tok, err := c.cfg.Token(ctx)
	if err != nil {
		return false, fmt.Errorf("client: token: %w", err)
	}
	dctx, cancel := context.WithTimeout(ctx, authTimeout)
	defer cancel()
	conn, err := wsconn.Dial(dctx, c.cfg.URL, c.cfg.Header, c.cfg.TLS)
	if err != nil {
		return false, err
	}
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	defer stop()
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		conn.Close()
		return false, ErrClosed
	}
	f, err := authenticate(conn, tok)
	if err != nil {
		conn.Close()
		return false, err
	}
	if !stop() {
		conn.Close()
		return false, dctx.Err()
	}

	s := &session{conn: conn, signal: make(chan struct{}, 1), pace: newPacer(f.Limits.Rate, f.Limits.Burst)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		s.cancel()
		conn.Close()
		return false, ErrClosed
	}
	c.sess, c.user, c.epoch = s, f.User, f.Epoch
	c.resumeLocked(s)
	c.mu.Unlock()
	s.wg.Add(3)
	go s.writer()
	go c.pinger(s, f.Limits.IdleTimeout)
	go c.renewer(s, tok)
	c.emit(&Connected{User: f.User, Epoch: f.Epoch, Limits: f.Limits, Reconnect: reconnect})
	onReady()

	err = c.read(s, f.Limits.IdleTimeout)

	s.cancel()
	conn.Close()
	s.wg.Wait()
	c.mu.Lock()
	c.sess = nil
	c.lostLocked(s)
	c.mu.Unlock()
	return true, err
}

// authenticate sends auth (protocol version 2) and reads up to ready.
func authenticate(conn *wsconn.Conn, tok string) (*frame, error) {
	b, _ := json.Marshal(map[string]any{"op": "auth", "token": tok, "v": 2, "rid": "auth"})
	if err := conn.WriteText(b); err != nil {
		return nil, err
	}
	for {
		msg, err := conn.Read()
		if err != nil {
			return nil, err
		}
		var f frame
		if err := json.Unmarshal(msg, &f); err != nil {
			return nil, fmt.Errorf("client: bad server frame: %w", err)
		}
		switch f.Type {
		case "ready":
			return &f, nil
		case "error":
			return nil, f.err()
		}
	}
}

// resumeLocked rejoins every room from its last seq and epoch (section
// 7.1), ahead of every other queued op: ops run in order, so a resend
// written after the join finds the room joined.
func (c *Client) resumeLocked(s *session) {
	var joins []*request
	for name, rm := range c.rooms {
		rm.rejoining, rm.caughtUp = true, false
		joins = append(joins, &request{op: map[string]any{"op": "join", "room": name, "after": rm.last, "epoch": rm.epoch},
			room: name, resume: true, reply: make(chan result, 1)})
	}
	for _, r := range joins {
		c.writeLocked(s, r)
	}
	c.flushLocked()
}

// lostLocked settles the requests written on a session that ended: a
// resend goes back to the queue (it is written again, same cid, after the
// next resume); anything else fails, its outcome unknown.
func (c *Client) lostLocked(s *session) {
	var back []*request
	for rid, r := range c.pending {
		if r.sess != s {
			continue
		}
		delete(c.pending, rid)
		switch {
		case r.resume:
		case r.resend:
			r.sess = nil
			back = append(back, r)
		default:
			r.reply <- result{err: ErrConnectionLost}
		}
	}
	// Keep call order: the rids were handed out in order.
	sortByRID(back)
	c.queue = append(back, c.queue...)
}

// pinger keeps the connection from idling out (the server closes after
// idle_timeout seconds without a frame) by pinging at a third of it.
func (c *Client) pinger(s *session, idle int) {
	defer s.wg.Done()
	if idle <= 0 {
		return
	}
	t := time.NewTicker(time.Duration(idle) * time.Second / 3)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.write([]byte(`{"op":"ping"}`))
		}
	}
}

// renewer sends auth again with a fresh token before the current one
// expires, so that the connection outlives it (section 3).
func (c *Client) renewer(s *session, tok string) {
	defer s.wg.Done()
	if c.cfg.RenewBefore < 0 {
		return
	}
	for {
		exp := expiry(tok)
		if exp.IsZero() {
			return
		}
		t := time.NewTimer(time.Until(renewAt(time.Now(), exp, c.cfg.RenewBefore)))
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		next, err := c.cfg.Token(s.ctx)
		if err == nil {
			_, err = c.do(s.ctx, map[string]any{"op": "auth", "token": next}, false)
		}
		if err != nil {
			if s.ctx.Err() == nil {
				c.cfg.Log.Warn("natter client: token renewal failed; the server closes at expiry and the client reconnects", "err", err)
			}
			return
		}
		tok = next
	}
}

// read handles server frames until the connection ends. A connection that
// says nothing for two ping intervals and more is dead.
func (c *Client) read(s *session, idle int) error {
	for {
		if idle > 0 {
			_ = s.conn.SetReadDeadline(time.Now().Add(time.Duration(idle)*time.Second + 10*time.Second))
		}
		msg, err := s.conn.Read()
		if err != nil {
			if c.isClosed() {
				return ErrClosed
			}
			return err
		}
		var f frame
		if err := json.Unmarshal(msg, &f); err != nil {
			c.cfg.Log.Warn("natter client: bad server frame", "err", err)
			continue
		}
		f.raw = msg
		for _, ev := range c.handle(s, &f) {
			c.emit(ev)
		}
	}
}

var errNoRID = errors.New("no rid")

func ridOf(f *frame) (string, error) {
	if len(f.RID) == 0 {
		return "", errNoRID
	}
	var rid string
	if err := json.Unmarshal(f.RID, &rid); err != nil {
		return "", err
	}
	return rid, nil
}
