// Package wsclient is a small Go client for Natter's WebSocket protocol
// (docs/PROTOCOL.md). The project's tests and tools use it; it follows the
// documented protocol only, nothing internal to the edge.
package wsclient

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Event is any server frame; fields not used by its type are zero.
type Event struct {
	Type      string          `json:"type"`
	RID       json.RawMessage `json:"rid,omitempty"`
	Room      string          `json:"room,omitempty"`
	Seq       uint64          `json:"seq,omitempty"`
	Prev      uint64          `json:"prev,omitempty"`
	Epoch     string          `json:"epoch,omitempty"`
	From      string          `json:"from,omitempty"`
	User      string          `json:"user,omitempty"`
	Text      string          `json:"text,omitempty"`
	CID       string          `json:"cid,omitempty"`
	TS        time.Time       `json:"ts,omitempty"`
	Kind      string          `json:"kind,omitempty"`
	Owner     string          `json:"owner,omitempty"`
	Last      uint64          `json:"last,omitempty"`
	After     uint64          `json:"after,omitempty"`
	Reset     bool            `json:"reset,omitempty"`
	Dup       bool            `json:"dup,omitempty"`
	Status    string          `json:"status,omitempty"`
	Action    string          `json:"action,omitempty"`
	Code      string          `json:"code,omitempty"`
	Message   string          `json:"message,omitempty"`
	Read      uint64          `json:"read,omitempty"`
	Users     []string        `json:"users,omitempty"`
	Online    []string        `json:"online,omitempty"`
	By        string          `json:"by,omitempty"`
	Role      string          `json:"role,omitempty"`
	Seconds   int             `json:"seconds,omitempty"`
	Retention int             `json:"retention,omitempty"`
	WaitMS    int64           `json:"wait_ms,omitempty"`

	Invited     bool         `json:"invited,omitempty"`
	Invitations []Invitation `json:"invitations,omitempty"`
	AddPolicy   string       `json:"add_policy,omitempty"`
}

// Invitation is one entry of the invitations event.
type Invitation struct {
	Room  string    `json:"room"`
	Kind  string    `json:"kind"`
	Owner string    `json:"owner"`
	From  string    `json:"from"`
	At    time.Time `json:"at"`
}

// Closed is returned once the connection has ended; Code and Reason are
// from the server's close frame (0 if none arrived).
type Closed struct {
	Code   int
	Reason string
}

func (c *Closed) Error() string { return fmt.Sprintf("closed %d %s", c.Code, c.Reason) }

// Client is one connection. Events are read by a background goroutine into
// an unbounded in-memory queue, so a test that reads slowly never makes the
// server see a slow consumer (use a raw socket for that).
type Client struct {
	conn   net.Conn
	r      io.Reader // conn, or a bufio.Reader on it (Options.ReadBufferSize)
	onText func([]byte) bool
	wmu    sync.Mutex
	rid    atomic.Int64

	mu     sync.Mutex
	cond   *sync.Cond
	events []Event
	closed *Closed
	paused bool

	// Detach: br is r when it is a bufio.Reader, hs the handshake reader
	// still feeding it; done is closed when readLoop returns, handed says
	// it returned for Detach at a frame boundary.
	br        *bufio.Reader
	hs        *bufio.Reader
	done      chan struct{}
	detaching bool
	handed    bool
}

// Options tune how a client connects.
type Options struct {
	// LocalAddr binds the client socket to this source IP (for load tools
	// that spread connections over 127.0.0.x).
	LocalAddr string
	// ReadBuffer, if > 0, sets the socket's receive buffer (SO_RCVBUF),
	// e.g. small to make a paused client back up quickly. Keep it well
	// above the MSS (64 KiB on loopback): smaller windows can stall the
	// sender in silly-window avoidance.
	ReadBuffer int
	// Control, if set, is the dialer's net.Dialer.Control hook: a load tool
	// sets IP_BIND_ADDRESS_NO_PORT there so that LocalAddr does not pin an
	// ephemeral port at bind time.
	Control func(network, address string, c syscall.RawConn) error
	// ReadBufferSize, if > 0, reads the socket through a bufio.Reader of
	// this size: one read syscall for many small frames instead of several
	// per frame.
	ReadBufferSize int
	// OnText, if set, sees the payload of every text frame first, on the
	// read goroutine; if it returns true the frame is consumed and never
	// decoded or queued for Next. Load tools use it to keep JSON decoding
	// and the event queue off their hot path. It must not block, nor keep
	// the slice.
	OnText func(payload []byte) bool
	// Header is sent with the upgrade request (X-Forwarded-For, say, to
	// play a proxy).
	Header http.Header
}

// Dial connects to a ws:// URL.
func Dial(ctx context.Context, url string) (*Client, error) {
	return DialOptions(ctx, url, Options{})
}

// DialOptions connects with options.
func DialOptions(ctx context.Context, url string, o Options) (*Client, error) {
	nd := net.Dialer{Control: o.Control}
	if o.LocalAddr != "" {
		nd.LocalAddr = &net.TCPAddr{IP: net.ParseIP(o.LocalAddr)}
	}
	d := ws.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := nd.DialContext(ctx, network, addr)
		if err == nil && o.ReadBuffer > 0 {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(o.ReadBuffer)
			}
		}
		return conn, err
	}}
	if o.Header != nil {
		d.Header = ws.HandshakeHeaderHTTP(o.Header)
	}
	conn, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, r: conn, onText: o.OnText, done: make(chan struct{})}
	if o.ReadBufferSize > 0 {
		var src io.Reader = conn
		if br != nil && br.Buffered() > 0 {
			src = io.MultiReader(br, conn) // frames that came with the handshake
			c.hs = br
		}
		c.br = bufio.NewReaderSize(src, o.ReadBufferSize)
		c.r = c.br
	} else if br != nil {
		ws.PutReader(br)
	}
	c.cond = sync.NewCond(&c.mu)
	go c.readLoop()
	return c, nil
}

func (c *Client) readLoop() {
	defer close(c.done)
	for {
		c.mu.Lock()
		for c.paused && c.closed == nil && !c.detaching {
			c.cond.Wait()
		}
		if c.detaching {
			c.handed = true
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if c.br != nil {
			if err := c.wholeFrame(); err != nil {
				if c.handOver() {
					return
				}
				c.finish(&Closed{})
				return
			}
		}
		msgs, err := wsutil.ReadServerMessage(c.r, nil)
		if err != nil {
			// A Detach that lands here cut a frame larger than the read
			// buffer: the stream cannot be handed over, so it ends.
			c.finish(&Closed{})
			return
		}
		for _, m := range msgs {
			switch m.OpCode {
			case ws.OpText:
				if c.onText != nil && c.onText(m.Payload) {
					continue
				}
				var ev Event
				if err := json.Unmarshal(m.Payload, &ev); err != nil {
					ev = Event{Type: "bad-json", Message: string(m.Payload)}
				}
				c.mu.Lock()
				c.events = append(c.events, ev)
				c.cond.Broadcast()
				c.mu.Unlock()
			case ws.OpClose:
				code, reason := ws.ParseCloseFrameData(m.Payload)
				c.finish(&Closed{Code: int(code), Reason: reason})
				return
			case ws.OpPing:
				c.wmu.Lock()
				_ = wsutil.WriteClientMessage(c.conn, ws.OpPong, m.Payload)
				c.wmu.Unlock()
			}
		}
	}
}

// wholeFrame waits until the next frame is entirely in c.br's buffer (if
// it fits there). Peek consumes nothing, so a Detach that interrupts the
// wait leaves the stream at a frame boundary; the frame is then parsed
// from memory, which a read deadline cannot interrupt.
func (c *Client) wholeFrame() error {
	h, err := c.br.Peek(2)
	if err != nil {
		return err
	}
	n := 2
	switch h[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if h[1]&0x80 != 0 {
		n += 4 // a mask key (servers send none, but the length is the length)
	}
	if h, err = c.br.Peek(n); err != nil {
		return err
	}
	size := uint64(h[1] & 0x7f)
	switch size {
	case 126:
		size = uint64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		size = binary.BigEndian.Uint64(h[2:10])
	}
	if size <= uint64(c.br.Size()-n) {
		_, err = c.br.Peek(n + int(size))
	}
	return err
}

// handOver reports whether a read ended because Detach asked for it; if
// so readLoop stops without closing anything.
func (c *Client) handOver() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.detaching && c.closed == nil {
		c.handed = true
	}
	return c.handed
}

// ErrNotDetachable is returned by Detach for a client dialled without
// Options.ReadBufferSize: its frames are read straight from the socket, so
// an interrupted read could lose part of one.
var ErrNotDetachable = errors.New("wsclient: Detach needs Options.ReadBufferSize")

// detached is what Next and Wait return once the socket has been handed
// over: the client reads nothing more.
var detached = &Closed{Reason: "detached"}

// Detach stops the client's reader at a frame boundary and hands the socket
// over to the caller, with the bytes already read from it but not yet
// parsed (the start of the next frames). A load tool uses it to read many
// sockets from one epoll loop after dialling, auth and join went through
// the client. Afterwards the client reads nothing (Next and Wait return a
// *Closed with Reason "detached"); the caller owns the socket and closes
// it. If the connection ended first, Detach returns that *Closed.
func (c *Client) Detach() (net.Conn, []byte, error) {
	if c.br == nil {
		return nil, nil, ErrNotDetachable
	}
	c.mu.Lock()
	if c.closed != nil {
		cl := c.closed
		c.mu.Unlock()
		return nil, nil, cl
	}
	c.detaching = true
	c.cond.Broadcast() // a paused reader
	c.mu.Unlock()
	// The reader may be blocked in a read: a deadline in the past wakes
	// it, and handOver tells it that this is the detach, not a failure.
	_ = c.conn.SetReadDeadline(time.Unix(1, 0))
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.handed {
		return nil, nil, c.closed
	}
	if err := c.conn.SetReadDeadline(time.Time{}); err != nil {
		c.closed = detached
		c.cond.Broadcast()
		c.conn.Close()
		return nil, nil, err
	}
	rest, _ := c.br.Peek(c.br.Buffered())
	rest = append([]byte(nil), rest...)
	if c.hs != nil && c.hs.Buffered() > 0 {
		more, _ := c.hs.Peek(c.hs.Buffered())
		rest = append(rest, more...)
	}
	c.closed = detached
	c.cond.Broadcast()
	return c.conn, rest, nil
}

func (c *Client) finish(cl *Closed) {
	c.mu.Lock()
	if c.closed == nil {
		c.closed = cl
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	c.conn.Close()
}

// Send writes one operation (any JSON-encodable value).
func (c *Client) Send(op any) error {
	b, err := json.Marshal(op)
	if err != nil {
		return err
	}
	return c.WriteText(b)
}

// WriteText writes raw bytes as one text frame.
func (c *Client) WriteText(b []byte) error { return c.WriteFrame(ws.OpText, b) }

// WriteFrame writes one masked frame of any opcode (for testing bad input).
func (c *Client) WriteFrame(op ws.OpCode, b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return wsutil.WriteClientMessage(c.conn, op, b)
}

// Conn exposes the socket, for tests that write malformed frames by hand.
func (c *Client) Conn() net.Conn { return c.conn }

// Next returns the next event, waiting until ctx ends. After the server
// closed the connection and all events were read it returns *Closed.
func (c *Client) Next(ctx context.Context) (Event, error) {
	return c.take(ctx, func(Event) bool { return true })
}

// Expect returns the first event of one of the given types, dropping the
// events before it.
func (c *Client) Expect(ctx context.Context, types ...string) (Event, error) {
	for {
		ev, err := c.Next(ctx)
		if err != nil {
			return ev, err
		}
		for _, t := range types {
			if ev.Type == t {
				return ev, nil
			}
		}
	}
}

// wakeOnDone wakes the waiters on c.cond when ctx ends, so that they can
// notice; the returned func stops it.
func (c *Client) wakeOnDone(ctx context.Context) func() bool {
	return context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
}

// take removes and returns the first queued event that match accepts,
// leaving the others in place.
func (c *Client) take(ctx context.Context, match func(Event) bool) (Event, error) {
	defer c.wakeOnDone(ctx)()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for i, ev := range c.events {
			if match(ev) {
				c.events = append(c.events[:i:i], c.events[i+1:]...)
				return ev, nil
			}
		}
		if c.closed != nil {
			return Event{}, c.closed
		}
		if err := ctx.Err(); err != nil {
			return Event{}, err
		}
		c.cond.Wait()
	}
}

// Request sends op with a fresh rid and returns the reply carrying that
// rid (an "error" event is returned as an *Error). Other events stay queued
// for Next.
func (c *Client) Request(ctx context.Context, op map[string]any) (Event, error) {
	rid := strconv.FormatInt(c.rid.Add(1), 10)
	op["rid"] = rid
	if err := c.Send(op); err != nil {
		return Event{}, err
	}
	want := []byte(strconv.Quote(rid))
	ev, err := c.take(ctx, func(ev Event) bool { return string(ev.RID) == string(want) })
	if err != nil {
		return ev, err
	}
	if ev.Type == "error" {
		return ev, &Error{Code: ev.Code, Message: ev.Message}
	}
	return ev, nil
}

// Error is an error event returned by Request.
type Error struct{ Code, Message string }

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ErrorCode returns the protocol error code of err, or "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Auth authenticates with a token.
func (c *Client) Auth(ctx context.Context, token string) (Event, error) {
	return c.Request(ctx, map[string]any{"op": "auth", "token": token})
}

// Join joins room; after < 0 means "from my delivered cursor".
func (c *Client) Join(ctx context.Context, room string, after int64, epoch string) (Event, error) {
	op := map[string]any{"op": "join", "room": room}
	if after >= 0 {
		op["after"] = after
		if epoch != "" {
			op["epoch"] = epoch
		}
	}
	return c.Request(ctx, op)
}

// SendText sends a message and waits for its ack.
func (c *Client) SendText(ctx context.Context, room, cid, text string) (Event, error) {
	return c.Request(ctx, map[string]any{"op": "send", "room": room, "cid": cid, "text": text})
}

// Messages waits for n msg events of room and returns them in arrival order.
func (c *Client) Messages(ctx context.Context, room string, n int) ([]Event, error) {
	out := make([]Event, 0, n)
	for len(out) < n {
		ev, err := c.take(ctx, func(ev Event) bool { return ev.Type == "msg" && ev.Room == room })
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// Pause stops reading from the socket (between frames), so the server's
// writes back up as for a client that has stopped reading. Resume undoes it.
func (c *Client) Pause() { c.setPaused(true) }

// Resume restarts reading after Pause.
func (c *Client) Resume() { c.setPaused(false) }

func (c *Client) setPaused(p bool) {
	c.mu.Lock()
	c.paused = p
	c.cond.Broadcast()
	c.mu.Unlock()
}

// Close sends a normal close frame and closes the socket.
func (c *Client) Close() error {
	c.wmu.Lock()
	_ = wsutil.WriteClientMessage(c.conn, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
	c.wmu.Unlock()
	c.finish(&Closed{Code: int(ws.StatusNormalClosure)})
	return nil
}

// Wait blocks until the server closes the connection (or ctx ends) and
// returns the close frame it sent.
func (c *Client) Wait(ctx context.Context) (*Closed, error) {
	defer c.wakeOnDone(ctx)()
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.closed == nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.cond.Wait()
	}
	return c.closed, nil
}
