package edge

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"golang.org/x/time/rate"

	"github.com/natter-chat/natter"
)

// conn is one client connection. The reader goroutine (serve) owns user,
// limiter and strikes; everything under mu is shared with room fan-out and
// publish-ack callbacks.
type conn struct {
	e       *Edge
	nc      net.Conn
	user    natter.UserID
	limiter *rate.Limiter
	strikes int

	mu      sync.Mutex
	queue   [][]byte // complete frames waiting for the writer
	writing bool     // a writer goroutine is running
	closing bool     // a close frame is queued: accept nothing more
	rooms   map[natter.RoomID]*member
}

func newConn(e *Edge, nc net.Conn) *conn {
	return &conn{e: e, nc: nc, rooms: map[natter.RoomID]*member{}}
}

// errClose ends the read loop after a close frame has been queued.
var errClose = errors.New("connection closing")

// serve runs the connection until it ends. It is the connection's reader.
func (c *conn) serve() {
	defer c.teardown()
	// The auth deadline is set once: frames before auth do not extend it.
	_ = c.nc.SetReadDeadline(time.Now().Add(c.e.cfg.AuthTimeout))
	for {
		payload, err := c.readMessage()
		if err != nil {
			c.readFailed(err)
			break
		}
		c.e.m.FramesIn.Inc()
		if err := c.handle(payload); err != nil {
			break
		}
	}
	c.drain()
}

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

// alive extends the idle deadline; any frame from an authenticated client,
// WebSocket pings included, counts as a sign of life.
func (c *conn) alive() {
	if c.user != "" {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.e.cfg.IdleTimeout))
	}
}

// protocolError is a broken frame; it closes the connection with code.
type protocolError struct {
	code   ws.StatusCode
	reason string
}

func (e *protocolError) Error() string { return e.reason }

// readMessage returns the next complete text message, answering control
// frames on the way. Lengths are checked from the header, before any
// payload is read, so an oversized frame costs nothing.
func (c *conn) readMessage() ([]byte, error) {
	var msg []byte
	fragmented := false
	for {
		h, err := ws.ReadHeader(c.nc)
		if errors.Is(err, ws.ErrHeaderLengthMSB) || errors.Is(err, ws.ErrHeaderLengthUnexpected) {
			return nil, &protocolError{ws.StatusProtocolError, "malformed frame header"}
		}
		if err != nil {
			return nil, err
		}
		c.alive()
		if !h.Masked {
			return nil, &protocolError{ws.StatusProtocolError, "client frames must be masked"}
		}
		if h.Rsv != 0 {
			return nil, &protocolError{ws.StatusProtocolError, "no extension negotiated"}
		}
		if h.OpCode.IsControl() {
			if h.Length > 125 || !h.Fin {
				return nil, &protocolError{ws.StatusProtocolError, "bad control frame"}
			}
			p, err := c.readPayload(h)
			if err != nil {
				return nil, err
			}
			switch h.OpCode {
			case ws.OpPing:
				c.enqueue(controlFrame(ws.OpPong, p))
			case ws.OpClose:
				code, _ := ws.ParseCloseFrameData(p)
				if code.Empty() {
					code = ws.StatusNormalClosure
				}
				c.closeFrame(code, "", "peer")
				return nil, errClose
			}
			continue
		}
		switch {
		case h.OpCode == ws.OpBinary:
			return nil, &protocolError{ws.StatusUnsupportedData, "binary frames are not supported"}
		case h.OpCode == ws.OpText && fragmented, h.OpCode == ws.OpContinuation && !fragmented:
			return nil, &protocolError{ws.StatusProtocolError, "bad fragmentation"}
		case h.OpCode != ws.OpText && h.OpCode != ws.OpContinuation:
			return nil, &protocolError{ws.StatusProtocolError, "reserved opcode"}
		}
		if int64(len(msg))+h.Length > int64(c.e.cfg.MaxFrame) {
			return nil, &protocolError{ws.StatusMessageTooBig, "frame too large"}
		}
		p, err := c.readPayload(h)
		if err != nil {
			return nil, err
		}
		msg = append(msg, p...)
		if !h.Fin {
			fragmented = true
			continue
		}
		if !utf8.Valid(msg) {
			return nil, &protocolError{ws.StatusInvalidFramePayloadData, "invalid UTF-8"}
		}
		return msg, nil
	}
}

func (c *conn) readPayload(h ws.Header) ([]byte, error) {
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.nc, p); err != nil {
		return nil, err
	}
	ws.Cipher(p, h.Mask, 0)
	return p, nil
}

func (c *conn) readFailed(err error) {
	var pe *protocolError
	var ne net.Error
	switch {
	case errors.As(err, &pe):
		c.closeWith(pe.code, pe.reason)
	case errors.As(err, &ne) && ne.Timeout():
		if c.user == "" {
			c.closeWith(CloseAuthTimeout, "authentication timeout")
		} else {
			c.closeWith(CloseIdle, "idle timeout")
		}
	}
	// Anything else: the peer is gone or the socket was closed by us.
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// send encodes ev and queues it.
func (c *conn) send(ev event) bool { return c.enqueue(textFrame(encode(ev))) }

// enqueue queues one complete frame. It never blocks: a full queue closes
// the connection as a slow consumer. It reports whether the frame was queued.
func (c *conn) enqueue(frame []byte) bool {
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
	c.startWriter()
	c.mu.Unlock()
	return true
}

// startWriter starts the writer unless one is running. Called with mu held.
// The writer exists only while there is something to write.
func (c *conn) startWriter() {
	if !c.writing {
		c.writing = true
		go c.writeLoop()
	}
}

func (c *conn) writeLoop() {
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 {
			c.writing = false
			closing := c.closing
			c.mu.Unlock()
			if closing {
				// The close frame is out: send FIN, and let the reader drain
				// until the client closes too (see drain).
				closeWrite(c.nc)
			}
			return
		}
		c.mu.Unlock()
		// All queued frames go out in one writev.
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.e.cfg.WriteTimeout))
		bufs := net.Buffers(batch)
		if _, err := bufs.WriteTo(c.nc); err != nil {
			c.mu.Lock()
			c.closing, c.writing, c.queue = true, false, nil
			c.mu.Unlock()
			c.nc.Close()
			return
		}
		c.e.m.FramesOut.Add(float64(len(batch)))
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
		c.queue = nil
		time.AfterFunc(time.Second, func() { c.nc.Close() })
	}
	c.queue = append(c.queue, closeFrame(code, reason))
	c.startWriter()
	c.mu.Unlock()
	c.e.m.Closed.WithLabelValues(label).Inc()
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
	c.rooms = map[natter.RoomID]*member{}
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
}
