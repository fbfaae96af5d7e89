package edge

import (
	"context"
	"net"
	"runtime"
	"sync"
	"time"
)

// flusher writes queued frames to sockets with a few goroutines shared by
// every connection, instead of a goroutine per connection with something to
// write. A connection with queued frames is scheduled once; whatever is
// queued by the time a worker reaches it goes out in one writev, so under
// load each write carries several frames and the syscalls per delivered
// frame fall as the rate rises.
//
// Workers never wait on a socket: a write that would block hands the rest
// of that connection's output to a goroutine of its own (writeLoop), so a
// slow client holds up nobody else.
type flusher struct {
	ready chan *conn

	// Connections written less than the coalescing interval ago wait here
	// until their turn (see startWriter).
	mu    sync.Mutex
	later []delayed
	wake  chan struct{}
	tick  time.Duration
}

type delayed struct {
	c   *conn
	due int64 // unix nanos
}

// flushQueue bounds the connections waiting for a worker; beyond it a
// connection gets a writer goroutine of its own (correct, just dearer).
const flushQueue = 1 << 16

func newFlusher(ctx context.Context, coalesce time.Duration) *flusher {
	f := &flusher{ready: make(chan *conn, flushQueue), wake: make(chan struct{}, 1),
		tick: max(time.Millisecond, coalesce/8)}
	for range max(2, runtime.GOMAXPROCS(0)) {
		go f.run(ctx)
	}
	if coalesce > 0 {
		go f.runLater(ctx)
	}
	return f
}

// delay schedules c for when it is due.
func (f *flusher) delay(c *conn, due int64) {
	f.mu.Lock()
	f.later = append(f.later, delayed{c, due})
	first := len(f.later) == 1
	f.mu.Unlock()
	if first {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// runLater hands delayed connections to the workers when they are due,
// checking every tick while any wait, and sleeping while none do.
func (f *flusher) runLater(ctx context.Context) {
	var due []*conn
	tick := time.NewTimer(f.tick)
	defer tick.Stop()
	for {
		select {
		case <-f.wake:
		case <-ctx.Done():
			return
		}
		for {
			tick.Reset(f.tick)
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
			now := time.Now().UnixNano()
			f.mu.Lock()
			kept := f.later[:0]
			for _, d := range f.later {
				if d.due > now {
					kept = append(kept, d)
				} else {
					due = append(due, d.c)
				}
			}
			clear(f.later[len(kept):])
			f.later = kept
			empty := len(kept) == 0
			f.mu.Unlock()
			for _, c := range due {
				// Unless an urgent frame took the turn meanwhile.
				c.mu.Lock()
				mine := c.delayed
				c.delayed = false
				c.mu.Unlock()
				if mine {
					f.hand(c)
				}
			}
			clear(due)
			due = due[:0]
			if empty {
				break
			}
		}
	}
}

func (f *flusher) run(ctx context.Context) {
	for {
		select {
		case c := <-f.ready:
			c.flush()
		case <-ctx.Done():
			return
		}
	}
}

// hand queues c for a worker or, if there is no room (or no flusher),
// gives it a writer goroutine of its own.
func (f *flusher) hand(c *conn) {
	if f != nil {
		select {
		case f.ready <- c:
			return
		default:
		}
	}
	go c.writeLoop(nil)
}

// startWriter makes someone responsible for writing c's queue unless
// someone already is. Called with mu held.
func (c *conn) startWriter() {
	if c.writing {
		if c.urgent && c.delayed {
			// Waiting out the interval: an urgent frame takes the turn
			// now, and the delayed entry finds it taken (runLater).
			c.delayed = false
			c.e.flush.hand(c)
		}
		return
	}
	c.writing = true
	if d := c.e.cfg.Coalesce; d > 0 && c.e.flush != nil && !c.urgent {
		// Written less than the interval ago: wait for the rest of it, so
		// that a connection receiving many frames a second gets them in
		// few writes. A quiet connection's first frame goes out at once,
		// and so does a frame the client waits for (enqueueNow).
		if due := c.lastWrite + int64(d); due > time.Now().UnixNano() {
			c.delayed = true
			c.e.flush.delay(c, due)
			return
		}
	}
	c.e.flush.hand(c)
}

// flush is a worker's turn at c: write what is queued without blocking,
// then reschedule c if more arrived meanwhile, so that one busy connection
// cannot keep a worker from the others.
func (c *conn) flush() {
	c.mu.Lock()
	batch := c.queue
	c.queue, c.urgent = nil, false
	if c.e.cfg.Coalesce > 0 {
		c.lastWrite = time.Now().UnixNano()
	}
	c.mu.Unlock()
	if len(batch) > 0 {
		rest, err := c.writeNow(batch)
		if err != nil {
			c.writeFailed()
			return
		}
		c.e.m.FramesOut.Add(float64(len(batch) - len(rest)))
		c.e.m.Writes.Inc()
		if len(rest) > 0 {
			// The socket is full: wait for it on a goroutine of its own.
			go c.writeLoop(rest)
			return
		}
	}
	c.mu.Lock()
	if len(c.queue) > 0 {
		// More arrived meanwhile: take a new turn (after the interval).
		c.writing = false
		c.startWriter()
		c.mu.Unlock()
		return
	}
	c.wrote()
}

// writeLoop writes batch, then whatever is queued, with blocking writes
// bounded by WriteTimeout, until the queue is empty: the writer of a
// connection whose socket is full, or of one the flusher cannot take.
func (c *conn) writeLoop(batch [][]byte) {
	for {
		if len(batch) > 0 {
			// All queued frames go out in one writev.
			_ = c.nc.SetWriteDeadline(time.Now().Add(c.e.cfg.WriteTimeout))
			bufs := net.Buffers(batch)
			if _, err := bufs.WriteTo(c.nc); err != nil {
				c.writeFailed()
				return
			}
			c.e.m.FramesOut.Add(float64(len(batch)))
			c.e.m.Writes.Inc()
		}
		c.mu.Lock()
		batch = c.queue
		c.queue, c.urgent = nil, false
		if len(batch) == 0 {
			// No deadline may outlive this writer: the flusher's raw writes
			// would fail on an expired one.
			_ = c.nc.SetWriteDeadline(time.Time{})
			c.wrote()
			return
		}
		c.mu.Unlock()
	}
}

// wrote ends a writer's turn with an empty queue. Called with mu held; it
// releases it.
func (c *conn) wrote() {
	c.writing = false
	closing := c.closing
	c.mu.Unlock()
	if closing {
		// The close frame is out: send FIN, and let the reader drain until
		// the client closes too (see drain).
		closeWrite(c.nc)
	}
}

// writeFailed handles a failed write: the peer is gone. The socket is
// closed by teardown, never here: a polled socket closed behind the
// reader's back would vanish from epoll and its connection never be torn
// down.
func (c *conn) writeFailed() {
	c.mu.Lock()
	c.closing, c.writing, c.queue = true, false, nil
	c.mu.Unlock()
	_ = c.nc.SetReadDeadline(time.Now()) // wake a blocked reader
	c.finishIfClosing()
}
