package main

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// An epollReader reads the pool's member sockets once wsclient has dialled,
// authenticated and joined them: a few loops, each waiting in epoll_wait
// over its share of the sockets. A reader goroutine per socket cost the
// harness as much CPU per delivery as the server (a netpoller wake-up, a
// goroutine switch, a read that returns data and one that returns EAGAIN,
// a frame allocation); here a readable socket costs one read into the
// loop's buffer, parsed in place. The bench is Linux-only (see noPortBind).
type epollReader struct {
	loops []*epollLoop
	wake  int // an eventfd made readable by stop: wakes every loop for good
	wg    sync.WaitGroup
}

// epollLoop is one goroutine's epoll instance and the sockets in it.
type epollLoop struct {
	epfd  int
	mu    sync.Mutex
	conns []*wsConn // by fd: an event names a descriptor only
	// The read in flight (the loop reads one socket at a time): readFd is
	// bound once so that a read allocates no closure.
	buf    []byte
	rbuf   []byte
	rn     int
	rerr   error
	readFd func(fd uintptr) bool
}

// loopBuffer is each loop's read buffer: many frames per read, and any
// frame the server sends fits (larger ones get a buffer of their own).
const loopBuffer = 64 << 10

func newEpollReader(loops int) (*epollReader, error) {
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	r := &epollReader{wake: wake}
	for range max(loops, 1) {
		l, err := newEpollLoop(wake)
		if err != nil {
			r.stop()
			return nil, err
		}
		r.loops = append(r.loops, l)
	}
	for _, l := range r.loops {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); l.run(wake) }()
	}
	return r, nil
}

func newEpollLoop(wake int) (*epollLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll add eventfd: %w", err)
	}
	l := &epollLoop{epfd: epfd, buf: make([]byte, loopBuffer)}
	l.readFd = l.read
	return l, nil
}

// stop ends the loops and closes their epoll instances; the sockets still
// in them are left to their owners.
func (r *epollReader) stop() {
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	_, _ = unix.Write(r.wake, one) // level-triggered and never drained: every loop sees it
	r.wg.Wait()
	for _, l := range r.loops {
		unix.Close(l.epfd)
	}
	unix.Close(r.wake)
}

// wsConn is a member socket after wsclient has handed it over.
type wsConn struct {
	conn   net.Conn
	raw    syscall.RawConn
	loop   *epollLoop
	onText func(payload []byte)
	// wmu serialises writes: pongs from the loop, heartbeat pings and the
	// close frame from the pool.
	wmu sync.Mutex
	// partial is an incomplete frame left by the last read, touched by the
	// loop only; nil most of the time, so an idle socket holds no buffer.
	partial []byte
	ended   atomic.Bool // the server closed, or the socket failed
	once    sync.Once
}

// add takes over conn, with rest (bytes read but not parsed before the
// hand-over), and reads it from the loop that key picks. onText sees the
// payload of every text frame on that loop's goroutine; it must not block
// nor keep the slice.
func (r *epollReader) add(conn net.Conn, rest []byte, key int, onText func([]byte)) (*wsConn, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("epoll: not a socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	c := &wsConn{conn: conn, raw: raw, loop: r.loops[key%len(r.loops)], onText: onText}
	// Frames that arrived before the hand-over come first; no loop sees
	// the socket yet, so this goroutine is its only reader.
	rest, ok = c.consume(rest)
	if !ok {
		c.end()
		return c, nil
	}
	c.keep(rest)
	var aerr error
	err = raw.Control(func(fd uintptr) { aerr = c.loop.insert(int(fd), c) })
	if err == nil {
		err = aerr
	}
	if err != nil {
		return nil, fmt.Errorf("epoll add: %w", err)
	}
	return c, nil
}

// insert puts c in the table before epoll can report it.
func (l *epollLoop) insert(fd int, c *wsConn) error {
	l.mu.Lock()
	for len(l.conns) <= fd {
		l.conns = append(l.conns, nil)
	}
	l.conns[fd] = c
	l.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.remove(fd, c)
		return err
	}
	return nil
}

// remove takes c out of epoll and the table; c's descriptor is still open.
func (l *epollLoop) remove(fd int, c *wsConn) {
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	l.mu.Lock()
	if fd < len(l.conns) && l.conns[fd] == c {
		l.conns[fd] = nil
	}
	l.mu.Unlock()
}

func (l *epollLoop) lookup(fd int) *wsConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if fd < len(l.conns) {
		return l.conns[fd]
	}
	return nil
}

func (l *epollLoop) run(wake int) {
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(l.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue // the runtime's preemption signals
			}
			return
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == wake {
				return
			}
			// An event may outlive its socket: a descriptor released in
			// the meantime is no longer in the table, or belongs to a
			// newer socket that is simply read early (level-triggered).
			if c := l.lookup(fd); c != nil {
				l.service(c)
			}
		}
	}
}

// service does one non-blocking read of a readable socket and hands every
// complete frame to its connection; level-triggered epoll reports the
// socket again if more is waiting.
func (l *epollLoop) service(c *wsConn) {
	buf := l.buf
	if need := frameNeed(c.partial); need > len(buf) {
		buf = make([]byte, need) // a frame larger than the loop's buffer: rare
	}
	k := copy(buf, c.partial)
	l.rbuf, l.rn, l.rerr = buf[k:], 0, nil
	if err := c.raw.Read(l.readFd); err != nil {
		c.end() // closed by the pool meanwhile
		return
	}
	if errors.Is(l.rerr, unix.EAGAIN) {
		return
	}
	if l.rerr != nil || l.rn <= 0 {
		c.end() // EOF or a socket error
		return
	}
	rest, ok := c.consume(buf[:k+l.rn])
	if !ok {
		c.end()
		return
	}
	c.keep(rest)
}

// read is the RawConn.Read callback: one read, done either way (returning
// true keeps Go's poller from parking the loop on EAGAIN).
func (l *epollLoop) read(fd uintptr) bool {
	l.rn, l.rerr = unix.Read(int(fd), l.rbuf)
	return true
}

// consume hands the complete frames at the start of b to c and returns the
// rest; ok is false once the connection is over (a close frame, or bytes
// that are no server frame).
func (c *wsConn) consume(b []byte) (rest []byte, ok bool) {
	for {
		f, n := parseFrame(b)
		switch {
		case n == 0:
			return b, true
		case n < 0:
			return nil, false
		}
		switch f.op {
		case ws.OpText, ws.OpBinary: // binary: the NATS baseline's protocol
			c.onText(f.payload)
		case ws.OpClose:
			return nil, false
		case ws.OpPing:
			_ = c.write(ws.OpPong, f.payload)
		}
		b = b[n:]
	}
}

// keep holds rest, an incomplete frame, until the next read; the loop's
// buffer is reused by the next socket.
func (c *wsConn) keep(rest []byte) {
	if len(rest) == 0 {
		c.partial = nil
		return
	}
	c.partial = append([]byte(nil), rest...)
}

// write sends one masked frame.
func (c *wsConn) write(op ws.OpCode, p []byte) error {
	b, err := clientFrame(op, p)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = c.conn.Write(b)
	return err
}

// end records that the connection is over and releases it.
func (c *wsConn) end() {
	c.ended.Store(true)
	c.release()
}

// drop closes the socket abruptly (no close frame).
func (c *wsConn) drop() { c.release() }

// close sends a normal close frame and closes the socket.
func (c *wsConn) close() {
	_ = c.write(ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
	c.release()
}

// release takes the socket out of its loop's epoll instance, then closes
// it, once. Control keeps the descriptor open (and its number ours) until
// it is out of epoll; Close waits for a read in flight on the loop.
func (c *wsConn) release() {
	c.once.Do(func() {
		_ = c.raw.Control(func(fd uintptr) { c.loop.remove(int(fd), c) })
		c.conn.Close()
	})
}
