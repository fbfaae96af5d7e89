package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/auth"
	"github.com/natter-chat/natter/edge/wsclient"
)

// tokens mints a token per user with the server's HS256 key.
type tokens struct {
	once sync.Once
	keys *auth.Keys
	err  error
}

func (t *tokens) issue(secret, user string) (string, error) {
	t.once.Do(func() { t.keys, t.err = auth.New(auth.Config{Secret: []byte(secret)}) })
	if t.err != nil {
		return "", t.err
	}
	return t.keys.Issue(natter.UserID(user), 24*time.Hour)
}

var poolTokens tokens

// runNonce makes client message ids unique across bench runs against the
// same server: a repeated cid would be acked as a duplicate, not stored.
var runNonce = strconv.FormatInt(time.Now().UnixNano(), 36) + "-"

// dialNatter connects, authenticates and returns the client. onText sees
// every text frame (see wsclient.Options.OnText).
func dialNatter(ctx context.Context, url, secret, user, src string, onText func([]byte) bool) (*wsclient.Client, error) {
	tok, err := poolTokens.issue(secret, user)
	if err != nil {
		return nil, err
	}
	o := wsclient.Options{ReadBufferSize: 4096, OnText: onText}
	if src != "" {
		o.LocalAddr, o.Control = src, noPortBind
	}
	c, err := wsclient.DialOptions(ctx, url, o)
	if err != nil {
		return nil, err
	}
	if _, err := c.Auth(ctx, tok); err != nil {
		c.Close()
		return nil, fmt.Errorf("auth: %w", err)
	}
	return c, nil
}

var pingFrame = []byte(`{"op":"ping"}`)

// openNatter connects m, joins its rooms (live, or after its last seq when
// resuming) and installs the frame hook that counts and times messages.
// Dialling, auth and join go through wsclient (request and reply); then the
// socket moves to the pool's epoll reader, which costs far less CPU per
// delivery than wsclient's reader goroutine.
func (p *clientPool) openNatter(m *member, src string, resume bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := dialNatter(ctx, p.lay.URL, p.lay.Secret, m.user, src, func(b []byte) bool { return p.onText(m, b) })
	if err != nil {
		return err
	}
	for _, mr := range m.rooms {
		after, epoch := int64(-1), ""
		if resume {
			after, epoch = int64(mr.last.Load()), mr.epoch
		}
		if _, err := c.Join(ctx, string(mr.name), after, epoch); err != nil {
			c.Conn().Close()
			return fmt.Errorf("join %s: %w", mr.name, err)
		}
	}
	conn, rest, err := c.Detach()
	if err != nil {
		c.Conn().Close()
		return fmt.Errorf("detach: %w", err)
	}
	sc, err := p.ep.add(conn, rest, m.idx, func(b []byte) { p.onText(m, b) })
	if err != nil {
		conn.Close()
		return err
	}
	m.closeFn = sc.close
	m.dropFn = sc.drop
	m.pingFn = func() error { return sc.write(ws.OpText, pingFrame) }
	m.endedFn = sc.ended.Load
	m.up.Store(true)
	return nil
}

var (
	pMsg    = []byte(`{"type":"msg"`)
	pJoined = []byte(`{"type":"joined"`)
	pAck    = []byte(`{"type":"ack"`)
	pErr    = []byte(`{"type":"error"`)
	pRoom   = []byte(`"room":"`)
	pSeq    = []byte(`"seq":`)
	pPrev   = []byte(`"prev":`)
	pText   = []byte(`"text":"`)
	pLast   = []byte(`"last":`)
	pAfter  = []byte(`"after":`)
	pEpoch  = []byte(`"epoch":"`)
	pRID    = []byte(`"rid":`)
	// Events nobody in the bench waits for: dropped at once so that they
	// never pile up in the client's queue.
	ignored = [][]byte{[]byte(`{"type":"presence"`), []byte(`{"type":"typing"`), []byte(`{"type":"receipt"`),
		[]byte(`{"type":"member"`), []byte(`{"type":"room"`), []byte(`{"type":"pong"`)}
)

// field returns what follows key in b, or nil.
func field(b, key []byte) []byte {
	i := bytes.Index(b, key)
	if i < 0 {
		return nil
	}
	return b[i+len(key):]
}

// num parses the decimal digits at the start of b.
func num(b []byte) (uint64, []byte) {
	var n uint64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + uint64(b[i]-'0')
	}
	return n, b[i:]
}

// str returns the JSON string content at the start of b (no escapes: the
// bench's own room ids, epochs and texts have none).
func str(b []byte) []byte {
	if i := bytes.IndexByte(b, '"'); i >= 0 {
		return b[:i]
	}
	return nil
}

// stamp parses a bench text, "<phase>:<unix nanos>:<padding>".
func stamp(text []byte) (phase int64, sent int64) {
	ph, rest := num(text)
	if len(rest) == 0 || rest[0] != ':' {
		return -1, 0
	}
	ts, _ := num(rest[1:])
	return int64(ph), int64(ts)
}

// appendText appends a bench text of size bytes (at least the stamp).
func appendText(b []byte, phase int64, size int) []byte {
	start := len(b)
	b = strconv.AppendInt(b, phase, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, time.Now().UnixNano(), 10)
	b = append(b, ':')
	for len(b)-start < size {
		b = append(b, 'x')
	}
	return b
}

// onText is a member's frame hook: it keeps msg events off the JSON
// decoder and the event queue, checks their order, and counts and times
// those of the current phase.
func (p *clientPool) onText(m *member, b []byte) bool {
	if bytes.HasPrefix(b, pMsg) {
		now := time.Now().UnixNano()
		rest := field(b, pRoom)
		room := str(rest)
		mr := m.room(room)
		if mr == nil {
			return true // a stray after a re-join (PROTOCOL.md §15)
		}
		rest = field(rest, pSeq)
		seq, rest := num(rest)
		prev, rest := num(field(rest, pPrev))
		last := mr.last.Load()
		if seq <= last {
			m.dups.Add(1)
			return true
		}
		if prev != last {
			m.gaps.Add(1)
		}
		mr.last.Store(seq)
		if ph, ts := stamp(field(rest, pText)); ph == p.phase.Load() {
			m.recv.Add(1)
			if ts > 0 {
				p.lat.record(m.idx, time.Duration(now-ts))
			}
		}
		p.checkCaught(m)
		return true
	}
	if bytes.HasPrefix(b, pJoined) {
		rest := field(b, pRoom)
		if mr := m.room(str(rest)); mr != nil {
			epoch := str(field(b, pEpoch))
			last, _ := num(field(b, pLast))
			after, _ := num(field(b, pAfter))
			mr.epoch = string(epoch)
			mr.last.Store(after)
			mr.target.Store(last)
			mr.joined.Store(true)
			p.checkCaught(m)
		}
		return false // the Join call waits for it
	}
	for _, ig := range ignored {
		if bytes.HasPrefix(b, ig) {
			return true
		}
	}
	return false
}

func (m *member) room(name []byte) *memberRoom {
	for _, mr := range m.rooms {
		if bytes.Equal(mr.name, name) {
			return mr
		}
	}
	return nil
}

// checkCaught marks m caught up, during a resume, once every room has
// replied to its join and has been received up to the join's last seq.
func (p *clientPool) checkCaught(m *member) {
	if m.resumeAt.IsZero() || m.caught.Load() {
		return
	}
	for _, mr := range m.rooms {
		if !mr.joined.Load() || mr.last.Load() < mr.target.Load() {
			return
		}
	}
	p.caughtUp(m, time.Since(m.resumeAt), true)
}

// natterSender is a publishing connection of the parent: it sends bench
// texts to its rooms (which it has joined) and counts and times the acks.
type natterSender struct {
	id     int
	c      *wsclient.Client
	rooms  []string
	rid    int64
	slots  chan struct{} // in-flight window
	acks   atomic.Int64
	errs   atomic.Int64
	maxSeq atomic.Uint64 // highest seq acked, for the history scenario's archive wait
	errMsg atomic.Value
	lat    *shardedHist
	mu     sync.Mutex
	sentAt map[uint64]int64
	buf    []byte
}

func newNatterSender(ctx context.Context, id int, url, secret, user, src string, rooms []string, window int, lat *shardedHist) (*natterSender, error) {
	s := &natterSender{id: id, rooms: rooms, slots: make(chan struct{}, window), lat: lat, sentAt: map[uint64]int64{}, rid: 1 << 30}
	c, err := dialNatter(ctx, url, secret, user, src, s.onText)
	if err != nil {
		return nil, err
	}
	s.c = c
	for _, r := range rooms {
		if _, err := c.Join(ctx, r, -1, ""); err != nil {
			c.Close()
			return nil, fmt.Errorf("sender join %s: %w", r, err)
		}
	}
	return s, nil
}

func (s *natterSender) onText(b []byte) bool {
	ack := bytes.HasPrefix(b, pAck)
	if !ack && !bytes.HasPrefix(b, pErr) {
		return bytes.HasPrefix(b, pMsg) || !bytes.HasPrefix(b, pJoined) && !bytes.Contains(b, []byte(`"rid":"`))
	}
	rid, _ := num(field(b, pRID))
	if rid < 1<<30 {
		return false // a reply to a Request (auth, join)
	}
	now := time.Now().UnixNano()
	s.mu.Lock()
	at, ok := s.sentAt[rid]
	delete(s.sentAt, rid)
	s.mu.Unlock()
	if ack {
		s.acks.Add(1)
		if seq, _ := num(field(b, pSeq)); seq > s.maxSeq.Load() {
			s.maxSeq.Store(seq) // only this reader writes it
		}
		if ok {
			s.lat.record(s.id, time.Duration(now-at))
		}
	} else {
		s.errs.Add(1)
		s.errMsg.CompareAndSwap(nil, string(b))
	}
	select {
	case <-s.slots:
	default:
	}
	return true
}

// send sends one bench text to room i of the sender, once a window slot is
// free (or returns false at the deadline).
func (s *natterSender) send(i int, phase int64, size int, deadline <-chan time.Time) (bool, error) {
	select {
	case s.slots <- struct{}{}:
	case <-deadline:
		return false, nil
	}
	s.rid++
	b := append(s.buf[:0], `{"op":"send","room":"`...)
	b = append(b, s.rooms[i]...)
	b = append(b, `","cid":"`...)
	b = append(b, runNonce...)
	b = strconv.AppendInt(b, s.rid, 10)
	b = append(b, `","rid":`...)
	b = strconv.AppendInt(b, s.rid, 10)
	b = append(b, `,"text":"`...)
	b = appendText(b, phase, size)
	b = append(b, `"}`...)
	s.buf = b
	s.mu.Lock()
	s.sentAt[uint64(s.rid)] = time.Now().UnixNano()
	s.mu.Unlock()
	return true, s.c.WriteText(b)
}

// waitAcks waits until every send has been answered, or d passes.
func (s *natterSender) waitAcks(d time.Duration) error {
	deadline := time.Now().Add(d)
	for len(s.slots) > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("sender %d: %d sends unanswered after %v", s.id, len(s.slots), d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if e, ok := s.errMsg.Load().(string); ok {
		return errors.New("send refused: " + e)
	}
	return nil
}

func (s *natterSender) close() { s.c.Close() }

// loadSecret reads the HS256 key the way `natter token` does: the key is
// the hex text of <data>/jwt.secret.
func loadSecret(dataDir string) (string, error) {
	s, err := auth.LoadSecret(dataDir)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(s), nil
}
