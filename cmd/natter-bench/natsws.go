package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// The NATS WebSocket baseline's members are read like Natter's: dialled
// and subscribed here, then handed to the pool's epoll reader. The NATS
// protocol over WebSocket is plain text (INFO, CONNECT, SUB, PING/PONG,
// MSG) in binary frames, so the reader needs no NATS client. Before, each
// member was a nats.go connection with its own reader and flusher
// goroutines while Natter's members shared a few epoll loops: the harness
// spent more CPU per delivery on NATS's members, and understated NATS
// (issue #15: 45 msgs/s in the 1,000-member room against 84–320 in an
// independent harness).

// natsStream parses the NATS protocol a member receives, across frames.
type natsStream struct {
	pend           []byte // an incomplete line or message left by the last frame
	onMsg          func(payload []byte)
	onPing, onPong func()
	failed         string // the server's -ERR, if any
}

var crlf = []byte("\r\n")

// feed parses a frame's payload; false once the server sent -ERR.
func (s *natsStream) feed(b []byte) bool {
	if len(s.pend) > 0 {
		s.pend = append(s.pend, b...)
		b = s.pend
	}
	rest, ok := s.parse(b)
	if len(rest) == 0 {
		s.pend = nil
	} else {
		s.pend = append(s.pend[:0], rest...) // copy: b may be the loop's buffer
	}
	return ok
}

// parse handles the complete lines and messages at the start of b and
// returns what is left.
func (s *natsStream) parse(b []byte) (rest []byte, ok bool) {
	for len(b) > 0 {
		i := bytes.Index(b, crlf)
		if i < 0 {
			return b, true
		}
		line := b[:i]
		switch {
		case bytes.HasPrefix(line, []byte("MSG ")):
			// MSG <subject> <sid> [reply-to] <#bytes>
			n, ok := lastNumber(line)
			if !ok {
				s.failed = "bad MSG line: " + string(line)
				return nil, false
			}
			end := i + 2 + n + 2
			if len(b) < end {
				return b, true
			}
			s.onMsg(b[i+2 : i+2+n])
			b = b[end:]
			continue
		case bytes.Equal(line, []byte("PING")):
			if s.onPing != nil {
				s.onPing()
			}
		case bytes.Equal(line, []byte("PONG")):
			if s.onPong != nil {
				s.onPong()
			}
		case bytes.HasPrefix(line, []byte("-ERR")):
			s.failed = string(line)
			return nil, false
		}
		// INFO and +OK need nothing.
		b = b[i+2:]
	}
	return nil, true
}

// lastNumber is the decimal number that ends line.
func lastNumber(line []byte) (int, bool) {
	j := bytes.LastIndexByte(line, ' ')
	if j < 0 || j == len(line)-1 {
		return 0, false
	}
	n := 0
	for _, c := range line[j+1:] {
		if c < '0' || c > '9' || n > maxServerFrame {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// openNATSWS connects m to the baseline's WebSocket listener, subscribes
// it to its rooms' subjects, waits for the PONG that says the
// subscriptions are in place, and hands the socket to the epoll reader.
func (p *clientPool) openNATSWS(m *member, src string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nd := net.Dialer{}
	if src != "" {
		nd.LocalAddr, nd.Control = &net.TCPAddr{IP: net.ParseIP(src)}, noPortBind
	}
	d := ws.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nd.DialContext(ctx, network, addr)
	}}
	conn, br, _, err := d.Dial(ctx, p.lay.URL)
	if err != nil {
		return err
	}
	var rest []byte
	if br != nil {
		rest, _ = br.Peek(br.Buffered())
		rest = append([]byte(nil), rest...)
		ws.PutReader(br)
	}
	var sc atomic.Pointer[wsConn]
	st := &natsStream{onMsg: func(payload []byte) {
		now := time.Now().UnixNano()
		if ph, ts := stamp(payload); ph == p.phase.Load() {
			m.recv.Add(1)
			if ts > 0 {
				p.lat.record(m.idx, time.Duration(now-ts))
			}
		}
	}, onPing: func() {
		if c := sc.Load(); c != nil {
			_ = c.write(ws.OpBinary, []byte("PONG\r\n"))
		}
	}}
	rest, err = natsHandshake(ctx, conn, rest, st, m.user, m.rooms)
	if err != nil {
		conn.Close()
		return err
	}
	c, err := p.ep.add(conn, rest, m.idx, func(b []byte) {
		if !st.feed(b) {
			if c := sc.Load(); c != nil {
				c.drop()
			}
		}
	})
	if err != nil {
		conn.Close()
		return err
	}
	sc.Store(c)
	m.closeFn, m.dropFn = c.close, c.drop
	m.endedFn = c.ended.Load
	m.up.Store(true)
	return nil
}

// natsHandshake sends CONNECT, a SUB per room and a PING, and reads until
// the PONG; it returns the bytes read past it (still WebSocket frames).
func natsHandshake(ctx context.Context, conn net.Conn, buf []byte, st *natsStream, name string, rooms []*memberRoom) ([]byte, error) {
	var proto strings.Builder
	fmt.Fprintf(&proto, `CONNECT {"verbose":false,"pedantic":false,"protocol":1,"name":%q}`+"\r\n", name)
	for i, r := range rooms {
		fmt.Fprintf(&proto, "SUB %s %d\r\n", natsSubject(string(r.name)), i+1)
	}
	proto.WriteString("PING\r\n")
	f, err := clientFrame(ws.OpBinary, []byte(proto.String()))
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
		defer conn.SetDeadline(time.Time{})
	}
	if _, err := conn.Write(f); err != nil {
		return nil, err
	}
	ponged := false
	st.onPong = func() { ponged = true }
	defer func() { st.onPong = nil }()
	chunk := make([]byte, 4096)
	for {
		for !ponged {
			fr, n := parseFrame(buf)
			if n == 0 {
				break
			}
			if n < 0 || fr.op == ws.OpClose {
				return nil, errors.New("nats websocket: closed during the handshake")
			}
			if (fr.op == ws.OpBinary || fr.op == ws.OpText) && !st.feed(fr.payload) {
				return nil, fmt.Errorf("nats websocket: %s", st.failed)
			}
			buf = buf[n:]
		}
		if ponged {
			return buf, nil
		}
		k, err := conn.Read(chunk)
		if err != nil {
			return nil, fmt.Errorf("nats websocket handshake: %w", err)
		}
		buf = append(buf, chunk[:k]...)
	}
}
