package edge

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/natter-chat/natter/netguard"
)

// Split shares one listener between WebSocket upgrades and plain HTTP. It
// peeks at each new connection's request line: a GET of path is upgraded
// with ServeConn straight off the socket (gobwas/ws's zero-copy upgrade,
// no net/http buffers); everything else is handed, bytes intact, to the
// returned listener, which an http.Server serves. Closing the returned
// listener closes l.
func (e *Edge) Split(l net.Listener, path string) net.Listener {
	s := &splitListener{Listener: l, conns: make(chan net.Conn), done: make(chan struct{})}
	prefix := []byte("GET " + path)
	go s.accept(func(nc net.Conn) {
		head, err := peekRequestLine(nc, len(prefix)+1)
		if err != nil {
			nc.Close()
			return
		}
		pc := &prefixConn{Conn: nc, prefix: head}
		if len(head) > len(prefix) && bytes.HasPrefix(head, prefix) && (head[len(prefix)] == ' ' || head[len(prefix)] == '?') {
			e.ServeConn(pc)
			return
		}
		select {
		case s.conns <- pc:
		case <-s.done:
			nc.Close()
		}
	})
	return s
}

// peekRequestLine reads at least n bytes (or up to the first newline) of
// a new connection, within a short deadline.
func peekRequestLine(nc net.Conn, n int) ([]byte, error) {
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 0, max(n, 64))
	for len(buf) < n && bytes.IndexByte(buf, '\n') < 0 {
		k, err := nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err != nil {
			return nil, err
		}
	}
	_ = nc.SetReadDeadline(time.Time{})
	return buf, nil
}

type splitListener struct {
	net.Listener
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// accept routes connections until the listener is closed. Any other
// error (EMFILE above all: descriptors come back as connections close) is
// waited out with a backoff, never taken as the end; a netguard.Listener
// underneath does this itself, and refuses load, before it gets here.
func (s *splitListener) accept(route func(net.Conn)) {
	var delay time.Duration
	for {
		nc, err := s.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				s.Close()
				return
			}
			delay = netguard.NextDelay(delay)
			select {
			case <-time.After(delay):
				continue
			case <-s.done:
				return
			}
		}
		delay = 0
		go route(nc)
	}
}

// Accept returns the next non-WebSocket connection.
func (s *splitListener) Accept() (net.Conn, error) {
	select {
	case nc := <-s.conns:
		return nc, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

func (s *splitListener) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		err = s.Listener.Close()
	})
	return err
}

// rawConn returns the socket's descriptor under nc, or nil if it has none.
func rawConn(nc net.Conn) syscall.RawConn {
	if pc, ok := nc.(*prefixConn); ok {
		nc = pc.Conn
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// prefixConn replays the peeked bytes before reading from the socket.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		if p.prefix = p.prefix[n:]; len(p.prefix) == 0 {
			p.prefix = nil // an empty tail would keep the peek buffer alive
		}
		return n, nil
	}
	return p.Conn.Read(b)
}

// CloseWrite half-closes the socket underneath, so that a close frame can be
// followed by FIN while the connection is drained.
func (p *prefixConn) CloseWrite() error {
	if cw, ok := p.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return p.Conn.Close()
}
