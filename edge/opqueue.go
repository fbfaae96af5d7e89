package edge

import (
	"context"
	"sync"
)

// opQueue runs an authenticated connection's operations one at a time, in
// the order they arrived, on a goroutine that lives only while there are
// operations to run (an idle connection holds none). The reader hands each
// operation over and goes on reading, so that pings — WebSocket pings and
// the ping op — are answered while an operation waits on the store: a
// client that watches its pongs, as docs/PROTOCOL.md advises, must not
// take a slow join for a dead connection.
//
// The queue holds at most maxPendingOps; a reader with more waits for the
// runner, which bounds what one connection can have in flight.
type opQueue struct {
	mu      sync.Mutex
	cond    sync.Cond // signalled when an operation ends or the runner stops
	pending []request
	running bool
}

// maxPendingOps bounds the operations a connection may have queued behind
// the one running. With the default rate and burst a client reaches it
// only by pipelining requests faster than the store answers them.
const maxPendingOps = 16

func (q *opQueue) init() { q.cond.L = &q.mu }

// push queues req for c, starting a runner if none is running; while the
// queue is full it waits. It reports false, dropping req, if c is closing:
// nothing is run after the client was told to go.
func (q *opQueue) push(c *conn, req request) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.pending) >= maxPendingOps && !c.isClosing() {
		q.cond.Wait()
	}
	if c.isClosing() {
		return false
	}
	q.pending = append(q.pending, req)
	if !q.running {
		q.running = true
		c.e.runners.start(c)
	}
	return true
}

// run performs the queued operations until none is left. Once c is
// closing it drops the rest, as the reader drops frames it has not read.
func (q *opQueue) run(c *conn) {
	q.mu.Lock()
	for len(q.pending) > 0 {
		req := q.pending[0]
		q.pending[0] = request{}
		q.pending = q.pending[1:]
		q.mu.Unlock()
		if !c.isClosing() {
			c.perform(req)
		}
		q.mu.Lock()
		q.cond.Broadcast()
	}
	q.pending = nil
	q.running = false
	q.cond.Broadcast()
	q.mu.Unlock()
}

// wait returns once every queued operation has run or been dropped.
func (q *opQueue) wait() {
	q.mu.Lock()
	for q.running {
		q.cond.Wait()
	}
	q.mu.Unlock()
}

// opRunners are long-lived goroutines that run connections' op queues,
// for the reason the poller's readers live on: their stacks stay grown
// through the decoder and the publish path. A queue that finds none idle
// gets a goroutine of its own.
type opRunners chan *conn

// opRunnerCount is how many runners wait for op queues.
const opRunnerCount = 8

// startOpRunners starts the runners; they end with ctx.
func startOpRunners(ctx context.Context) opRunners {
	work := make(opRunners)
	for range opRunnerCount {
		go func() {
			for {
				select {
				case c := <-work:
					c.ops.run(c)
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	return work
}

// start runs c's op queue on an idle runner, or on a new goroutine.
func (r opRunners) start(c *conn) {
	select {
	case r <- c:
	default:
		go c.ops.run(c)
	}
}
