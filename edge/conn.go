package edge

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/time/rate"

	"github.com/natter-chat/natter"
)

// conn is one client connection. Its reader — the goroutine of serve, or
// on Linux a short-lived goroutine per readable event (see poller) — owns
// user, limiter, strikes, frames and timed; successive readers are ordered
// by the reading flag. Everything under mu is shared with room fan-out and
// publish acks.
type conn struct {
	e       *Edge
	nc      net.Conn
	user    natter.UserID
	v       int // protocol version, set at auth (protoV1, protoV2)
	limiter *rate.Limiter
	strikes int
	frames  frameReader
	timed   bool       // the current message's frame deadline is set
	quota   *userQuota // shared by the user's connections here, set at auth
	ops     opQueue    // the operations read and not yet run

	raw      syscall.RawConn // the socket's descriptor, nil if it has none
	pollID   uint64
	polled   atomic.Bool                   // the poller watches the socket
	reading  atomic.Bool                   // a reader holds the connection
	authed   atomic.Bool                   // user is set (read by the sweeper)
	lastSeen atomic.Int64                  // unix nanos of the last frame received
	expires  atomic.Int64                  // unix nanos when the token expires, 0: never
	claims   atomic.Pointer[natter.Claims] // of the token in use (revocation checks)
	born     time.Time
	// sendMu is held by a send from its checks until the broker has the
	// message; a removal's kick takes it after unsubscribing (see kick).
	sendMu sync.Mutex

	hold guardHold // the client's address, and the guard's hold on it (ended at teardown)

	mu        sync.Mutex
	queue     [][]byte  // complete frames waiting for the writer
	lastWrite int64     // unix nanos of the flusher's last write (with Coalesce)
	writing   bool      // a writer (flusher turn or goroutine) owns the queue
	delayed   bool      // the writer's turn waits out the coalescing interval
	urgent    bool      // a frame the client waits for is queued: no interval
	closing   bool      // a close frame is queued: accept nothing more
	rooms     []*member // the rooms joined on this connection
}

func newConn(e *Edge, nc net.Conn) *conn {
	if pc, ok := nc.(*prefixConn); ok && len(pc.prefix) == 0 {
		nc = pc.Conn // the upgrade has read the peeked bytes: drop the wrapper
	}
	c := &conn{e: e, nc: nc, raw: rawConn(nc), born: time.Now()}
	c.frames = frameReader{r: nc, max: int64(e.cfg.MaxFrame), onHeader: c.frameHeader}
	c.ops.init()
	return c
}

// errClose ends the read loop after a close frame has been queued.
var errClose = errors.New("connection closing")

// serve reads the connection with a goroutine of its own until it ends:
// for sockets the poller cannot watch.
func (c *conn) serve() {
	for c.step(false) {
	}
	c.finish()
}

// readable reads and handles one message when the poller saw data, then
// re-arms the poller, or finishes the connection.
func (c *conn) readable() {
	// Messages already waiting are read in the same turn (up to
	// readBurst): one round trip through epoll and the scheduler per
	// message would cap a busy sender far below what the edge can take.
	for i := 0; ; i++ {
		if !c.step(true) {
			c.finish()
			return
		}
		if i+1 >= readBurst || !c.e.poll.pending(c) {
			break
		}
	}
	c.reading.Store(false)
	// A close queued while we held the connection is ours to finish; after
	// the release, whoever takes the flag first finishes it.
	if c.isClosing() || c.e.poll.arm(c) != nil {
		if c.reading.CompareAndSwap(false, true) {
			c.finish()
		}
	}
}

// readBurst bounds the messages one reader turn takes from a connection,
// so that a flooding client cannot keep a reader from the others.
const readBurst = 32

// step reads and handles one message; false means the connection is done.
func (c *conn) step(ready bool) bool {
	payload, err := c.readMessage(ready)
	if err != nil {
		// What was read before the failure runs before its close, as it
		// would have had the reader run it.
		c.ops.wait()
		c.readFailed(err)
		return false
	}
	c.e.m.FramesIn.Inc()
	if payload == nil {
		return !c.isClosing() // a control frame, answered
	}
	return c.handle(payload) == nil && !c.isClosing()
}

// finish ends the connection for its reader: stop watching, let its ops
// end, drain, tear down.
func (c *conn) finish() {
	c.e.poll.remove(c)
	c.ops.wait() // an operation still running must not outlive teardown
	c.drain()
	c.teardown()
}

// frameTimeout bounds the reading of one message once it has begun, so a
// client trickling a frame byte by byte cannot hold a reader.
const frameTimeout = 10 * time.Second

// lingerTimeout bounds how long a closing connection is drained.
const lingerTimeout = 2 * time.Second

// drain reads and discards until the peer closes or lingerTimeout passes,
// when we have queued a close frame. Closing a socket with unread input
// makes the kernel reset the connection, which can destroy the close frame
// (and its code) before the client reads it.
func (c *conn) drain() {
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if !closing {
		return
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	var buf [512]byte
	for {
		if _, err := c.nc.Read(buf[:]); err != nil {
			return
		}
	}
}

// alive records a sign of life for the idle sweep: any frame counts,
// WebSocket pings included.
func (c *conn) alive() { c.lastSeen.Store(time.Now().UnixNano()) }

// checkTimeouts closes c if it has not authenticated in time, has been
// silent for too long, or its token has expired. The edge's sweeper calls
// it; no timer is held per connection.
func (c *conn) checkTimeouts(now time.Time) {
	cfg := c.e.cfg
	switch {
	case !c.authed.Load():
		if now.Sub(c.born) > cfg.AuthTimeout {
			c.closeWith(CloseAuthTimeout, "authentication timeout")
		}
	case now.UnixNano()-c.lastSeen.Load() > int64(cfg.IdleTimeout):
		c.closeWith(CloseIdle, "idle timeout")
	case c.expires.Load() != 0 && now.UnixNano() > c.expires.Load():
		// A connection must not outlive its token: renew it with auth.
		c.send(event{Type: evError, Code: natter.EUNAUTHORIZED, Message: "token expired"})
		c.closeWith(CloseUnauthorized, "token expired")
	case c.sessionRevoked():
		// The revocation watcher closes these at once; this catches one
		// that authenticated while the revocation was on its way.
		c.endSession()
	}
}

// protocolError is a broken frame; it closes the connection with code.
type protocolError struct {
	code   ws.StatusCode
	reason string
}

func (e *protocolError) Error() string { return e.reason }

// readMessage returns the next complete text message, answering control
// frames on the way (see frameReader for the framing rules). Once a
// message has begun (at once when ready: the poller saw data) it must
// arrive within frameTimeout.
func (c *conn) readMessage(ready bool) ([]byte, error) {
	c.timed = ready
	if ready {
		_ = c.nc.SetReadDeadline(time.Now().Add(frameTimeout))
	}
	defer func() { _ = c.nc.SetReadDeadline(time.Time{}) }()
	for {
		op, p, err := c.frames.next()
		if err != nil {
			return nil, err
		}
		switch op {
		case ws.OpText:
			return p, nil
		case ws.OpPing:
			c.enqueueNow(controlFrame(ws.OpPong, p))
		case ws.OpClose:
			c.ops.wait() // the replies to what came before go out before the echo
			code, _ := ws.ParseCloseFrameData(p)
			if code.Empty() {
				code = ws.StatusNormalClosure
			}
			c.closeFrame(code, "", "peer")
			return nil, errClose
		}
		if !c.frames.inMessage() {
			// Done with what was ready: a keep-alive ping must not make
			// the reader wait (and time out) for a message.
			return nil, nil
		}
	}
}

// frameHeader runs for every frame header read: any frame is a sign of
// life, and the first one starts the clock for its message.
func (c *conn) frameHeader() {
	c.alive()
	if !c.timed {
		c.timed = true
		_ = c.nc.SetReadDeadline(time.Now().Add(frameTimeout))
	}
}

func (c *conn) readFailed(err error) {
	var pe *protocolError
	var ne net.Error
	switch {
	case errors.As(err, &pe):
		c.closeWith(pe.code, pe.reason)
	case errors.As(err, &ne) && ne.Timeout():
		c.closeWith(ws.StatusPolicyViolation, "frame too slow")
	}
	// Anything else: the peer is gone or the socket was closed by us.
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// send encodes ev and queues it.
// A reply to the client's own request (with its rid, or an ack, error or
// pong) goes out without waiting for the coalescing interval.
func (c *conn) send(ev event) bool {
	f := textFrame(encode(ev))
	if len(ev.RID) > 0 || ev.Type == evAck || ev.Type == evError || ev.Type == evPong {
		return c.enqueueNow(f)
	}
	return c.enqueue(f)
}

// enqueue queues one complete frame. It never blocks: a full queue closes
// the connection as a slow consumer. It reports whether the frame was queued.
func (c *conn) enqueue(frame []byte) bool { return c.queueFrame(frame, false) }

// enqueueNow queues a frame the client is waiting for (a reply, or its own
// message coming back): it goes out at once, with whatever is queued
// before it, instead of after the coalescing interval. Acks would
// otherwise pay the interval whenever the connection was written to less
// than that ago, as a sender always was (its own copy of the message).
func (c *conn) enqueueNow(frame []byte) bool { return c.queueFrame(frame, true) }

func (c *conn) queueFrame(frame []byte, urgent bool) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.e.cfg.QueueLen {
		c.mu.Unlock()
		c.e.m.SlowConsumers.Inc()
		c.closeWith(CloseSlowConsumer, "slow consumer")
		return false
	}
	c.queue = append(c.queue, frame)
	c.urgent = c.urgent || urgent
	c.startWriter()
	c.mu.Unlock()
	return true
}

// waitQueue waits, within the write timeout, until c's queue has room for
// n more frames (or c is closing): a replay queues in rounds, and a client
// taking a long backlog at its own pace must not look like a slow consumer.
func (c *conn) waitQueue(n int) {
	n = min(n, c.e.cfg.QueueLen)
	deadline := time.Now().Add(c.e.cfg.WriteTimeout)
	for {
		c.mu.Lock()
		room, closing := c.e.cfg.QueueLen-len(c.queue), c.closing
		c.mu.Unlock()
		if room >= n || closing || time.Now().After(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closeWith queues a close frame behind what is already queued; from then
// on nothing more is queued and no client frame is served. The writer
// half-closes the socket after the close frame and the reader drains it
// (see drain). A slow consumer's queue is discarded instead, and its socket
// cut after a second if the close frame cannot be written.
func (c *conn) closeWith(code ws.StatusCode, reason string) {
	c.closeFrame(code, reason, codeLabel(code))
}

// closeFrame is closeWith with the label the close is counted under: the
// code for closes we initiate, "peer" for echoes of a client's close (whose
// code is the client's choice and must not grow the metric's label set).
func (c *conn) closeFrame(code ws.StatusCode, reason, label string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	if code == CloseSlowConsumer {
		c.queue = nil // it cannot take them anyway
	}
	c.queue = append(c.queue, closeFrame(code, reason))
	c.startWriter()
	c.mu.Unlock()
	c.e.m.Closed.WithLabelValues(label).Inc()
	// Bound the wait for the client's reply (and unblock a reader waiting
	// for a next frame); a polled connection without a reader is finished
	// here.
	_ = c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	c.finishIfClosing()
}

// finishIfClosing starts finishing a polled, closing connection unless a
// reader holds it (that reader will, seeing it closing). Every path that
// closes a polled connection ends here or in a reader, so none is left
// closing with nobody to tear it down.
func (c *conn) finishIfClosing() {
	if c.polled.Load() && c.isClosing() && c.reading.CompareAndSwap(false, true) {
		go c.finish()
	}
}

func codeLabel(code ws.StatusCode) string {
	const digits = "0123456789"
	n := int(code)
	return string([]byte{digits[n/1000%10], digits[n/100%10], digits[n/10%10], digits[n%10]})
}

// closeWrite half-closes a TCP connection, or closes any other.
func closeWrite(nc net.Conn) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	nc.Close()
}

// teardown runs once when the reader ends (after drain): it leaves every
// room and releases the socket; a writer still blocked on it fails at once.
func (c *conn) teardown() {
	c.mu.Lock()
	rooms := c.rooms
	c.rooms = nil
	c.closing = true
	c.mu.Unlock()
	c.nc.Close()
	for _, m := range rooms {
		m.room.remove(c)
	}
	if c.user != "" {
		c.e.detach(c)
	}
	c.e.forget(c)
	c.e.wg.Done()
}
