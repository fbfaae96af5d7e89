package edge

import (
	"errors"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// poller watches client sockets for readability with one epoll instance,
// so that an idle connection holds no goroutine and no read buffer: a
// reader goroutine exists only while a connection has a frame to read.
//
// Each socket is registered EPOLLONESHOT: after an event it stays disarmed
// until its reader re-arms it, so one connection never has two readers.
// The socket's descriptor is used through syscall.RawConn.Control, never
// duplicated (a dup would halve the connections that fit under the
// open-files limit) and never after the socket was closed.
type poller struct {
	epfd, wake int
	next       atomic.Uint64
	mu         sync.Mutex
	conns      map[uint64]*conn

	// work hands ready connections to idle readers. Readers live on, so
	// their stacks stay grown: a goroutine started per message would grow
	// a fresh stack through the decoder and the publish path every time.
	// When no reader is idle (all busy, or one held by a client trickling
	// a frame), the connection gets a goroutine of its own.
	work chan *conn
	done chan struct{}
}

// pollReaders is how many readers wait for ready connections.
const pollReaders = 8

const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	setEventID(&ev, 0) // id 0 is the wake-up
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, err
	}
	p := &poller{epfd: epfd, wake: wake, conns: map[uint64]*conn{}, work: make(chan *conn), done: make(chan struct{})}
	for range pollReaders {
		go p.reader()
	}
	go p.loop()
	return p, nil
}

func setEventID(ev *unix.EpollEvent, id uint64) {
	ev.Fd, ev.Pad = int32(uint32(id)), int32(uint32(id>>32))
}

func eventID(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// add starts watching c; it returns false if c cannot be watched (then
// the caller reads it with a goroutine).
func (p *poller) add(c *conn) bool {
	if p == nil {
		return false
	}
	if pc, ok := c.nc.(*prefixConn); c.raw == nil || ok && len(pc.prefix) > 0 {
		return false // no descriptor, or bytes to read that epoll cannot see
	}
	id := p.next.Add(1)
	c.pollID = id
	c.polled.Store(true)
	p.mu.Lock()
	p.conns[id] = c
	p.mu.Unlock()
	if err := p.ctl(c, unix.EPOLL_CTL_ADD); err != nil {
		p.mu.Lock()
		delete(p.conns, id)
		p.mu.Unlock()
		c.polled.Store(false)
		return false
	}
	return true
}

// arm re-enables the one-shot registration of c.
func (p *poller) arm(c *conn) error { return p.ctl(c, unix.EPOLL_CTL_MOD) }

// pending reports whether c's socket holds unread input (FIONREAD).
func (p *poller) pending(c *conn) bool {
	n := 0
	_ = c.raw.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	return n > 0
}

// remove stops watching c. Called before c's socket is closed.
func (p *poller) remove(c *conn) {
	if p == nil || !c.polled.Load() {
		return
	}
	_ = p.ctl(c, unix.EPOLL_CTL_DEL)
	p.mu.Lock()
	delete(p.conns, c.pollID)
	p.mu.Unlock()
}

func (p *poller) ctl(c *conn, op int) error {
	var err error
	cerr := c.raw.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: pollEvents}
		setEventID(&ev, c.pollID)
		err = unix.EpollCtl(p.epfd, op, int(fd), &ev)
	})
	return errors.Join(cerr, err)
}

func (p *poller) loop() {
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		for i := range events[:n] {
			id := eventID(&events[i])
			if id == 0 {
				unix.Close(p.epfd)
				unix.Close(p.wake)
				close(p.done)
				return
			}
			p.mu.Lock()
			c := p.conns[id]
			p.mu.Unlock()
			if c != nil && c.reading.CompareAndSwap(false, true) {
				select {
				case p.work <- c:
				default:
					go c.readable()
				}
			}
		}
	}
}

func (p *poller) reader() {
	for {
		select {
		case c := <-p.work:
			c.readable()
		case <-p.done:
			return
		}
	}
}

// close stops the loop (connections are closed by their owners).
func (p *poller) close() {
	if p == nil {
		return
	}
	var one = [8]byte{1}
	_, _ = unix.Write(p.wake, one[:])
}
