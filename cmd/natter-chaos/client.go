package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/natter-chat/natter/edge/wsclient"
)

// chatClient is one simulated user: a member of one room that sends at a
// steady rate (messages, and edits, deletions and reactions: records.go)
// and records every ack and every record it receives, which it applies to
// its projection of the room. It speaks protocol version 2. It reconnects
// on its own, to the other edge if its own is gone, resumes from its last
// seen sequence, and resends an unacknowledged op with the same client id.
type chatClient struct {
	id    int
	user  string
	room  string
	edges []string // preferred first
	token string
	rate  float64

	mu         sync.Mutex
	start      uint64 // room position of the first join: expect everything after it
	last       uint64 // last sequence received
	epoch      string
	received   map[uint64]int
	delivered  int
	dups       int
	reorders   int
	gaps       int
	acked      map[uint64]string // seq -> cid of this client's acked sends
	sent       int
	resends    int
	reconnects int
	maxOutage  time.Duration
	maxWait    time.Duration // longest a send waited for its ack or error (or the connection's end)
	timeouts   int           // sends that got no answer within the 10 s ack timeout
	lastAck    time.Time
	stalls     []span        // intervals of at least stallMin between two acks
	joined     chan struct{} // closed after the first successful join
	pending    string        // cid of the op awaiting its ack, "" if none
	op         op            // that op
	changes    map[uint64]op // this client's acked changes, by seq
	refused    int           // changes refused (their target deleted meanwhile)
	proj       *wsclient.Room
	nextCID    int
	sendingEnd bool
}

func newClient(id int, user, room string, edges []string, token string, rate float64) *chatClient {
	return &chatClient{id: id, user: user, room: room, edges: edges, token: token, rate: rate,
		received: map[uint64]int{}, acked: map[uint64]string{}, changes: map[uint64]op{}, proj: wsclient.NewRoom(),
		joined: make(chan struct{})}
}

// run keeps the client connected until ctx ends. Sending starts when send
// is closed and stops (after the pending message is acked) when stopSend is.
func (c *chatClient) run(ctx context.Context, send, stopSend <-chan struct{}) {
	var lostAt time.Time
	for attempt := 0; ctx.Err() == nil; attempt++ {
		ws, err := c.connect(ctx, attempt)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(min(time.Duration(attempt+1)*100*time.Millisecond, time.Second)):
			}
			continue
		}
		if !lostAt.IsZero() {
			c.mu.Lock()
			c.reconnects++
			c.maxOutage = max(c.maxOutage, time.Since(lostAt))
			c.mu.Unlock()
		}
		attempt = -1
		c.session(ctx, ws, send, stopSend)
		ws.Close()
		lostAt = time.Now()
	}
}

// connect dials an edge (rotating on failures), authenticates and joins,
// resuming after the last message received.
func (c *chatClient) connect(ctx context.Context, attempt int) (*wsclient.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	url := c.edges[attempt%len(c.edges)]
	ws, err := wsclient.Dial(dctx, url)
	if err != nil {
		return nil, err
	}
	if _, err := ws.AuthV(dctx, c.token, 2); err != nil {
		ws.Close()
		return nil, err
	}
	c.mu.Lock()
	first := c.epoch == ""
	after, epoch := int64(c.last), c.epoch
	c.mu.Unlock()
	if first {
		after = -1 // live from now: the checker expects what follows the join
	}
	j, err := ws.Join(dctx, c.room, after, epoch)
	if err != nil {
		ws.Close()
		return nil, err
	}
	c.mu.Lock()
	if first {
		c.start, c.last, c.epoch = j.After, j.After, j.Epoch
		close(c.joined)
	}
	c.mu.Unlock()
	return ws, nil
}

// session runs one connection: a receiver and the sender, until the
// connection ends.
func (c *chatClient) session(ctx context.Context, ws *wsclient.Client, send, stopSend <-chan struct{}) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		for {
			evs, err := ws.Messages(sctx, c.room, 1)
			if err != nil {
				return
			}
			c.receive(evs[0])
		}
	}()
	select {
	case <-send:
	case <-sctx.Done():
		<-done
		return
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / c.rate))
	defer tick.Stop()
	for {
		select {
		case <-sctx.Done():
			<-done
			return
		case <-tick.C:
		}
		o, resend := c.nextSend(stopSend)
		if o.cid == "" {
			continue // done sending; keep receiving
		}
		actx, acancel := context.WithTimeout(sctx, 10*time.Second)
		sentAt := time.Now()
		ack, err := o.do(actx, ws, c.room)
		c.answered(time.Since(sentAt), actx.Err() != nil && sctx.Err() == nil)
		acancel()
		var closed *wsclient.Closed
		switch {
		case err == nil:
			c.ackd(o, ack.Seq, resend)
		case errors.As(err, &closed):
			cancel()
		case refusal(err):
			c.drop(o)
		}
		// Other errors (unavailable, timeout): the same cid goes again.
	}
}

// answered records how long a send waited for its answer: an ack, an
// error (`unavailable` when the store went silent), or its connection's
// end. timedOut says that none came within the ack timeout.
func (c *chatClient) answered(d time.Duration, timedOut bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.maxWait = max(c.maxWait, d)
	if timedOut {
		c.timeouts++
	}
}

// nextSend returns the op to send: the pending one again, or a new one.
func (c *chatClient) nextSend(stopSend <-chan struct{}) (o op, resend bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending != "" {
		c.resends++
		return c.op, true
	}
	select {
	case <-stopSend:
		c.sendingEnd = true
		return op{}, false
	default:
	}
	c.nextCID++
	c.op = c.choose(fmt.Sprintf("c%d-%d", c.id, c.nextCID))
	c.pending = c.op.cid
	c.sent++
	return c.op, false
}

// stallMin is the shortest time between two acks that counts as a time
// without service: a client sends every 250 ms and waits for each ack, so
// on a busy but healthy cluster acks follow each other well within it.
const stallMin = time.Second

// span is an interval of wall-clock time.
type span struct{ from, to time.Time }

func (c *chatClient) ackd(o op, seq uint64, _ bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o.cid == c.pending {
		c.pending = ""
	}
	if seq == 0 {
		return // a reaction that changed nothing: no record
	}
	c.acked[seq] = o.cid
	if o.kind != "" {
		c.changes[seq] = o
	}
	now := time.Now()
	if !c.lastAck.IsZero() && now.Sub(c.lastAck) >= stallMin {
		c.stalls = append(c.stalls, span{c.lastAck, now})
	}
	c.lastAck = now
}

func (c *chatClient) receive(ev wsclient.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delivered++
	if c.received[ev.Seq] > 0 {
		c.dups++
	} else if ev.Seq <= c.last {
		c.reorders++
	}
	c.received[ev.Seq]++
	if ev.Seq > c.last {
		if ev.Prev != c.last {
			c.gaps++
		}
		c.last = ev.Seq
		c.proj.Apply(ev)
	}
}

// idle reports whether the client has nothing left to send.
func (c *chatClient) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sendingEnd && c.pending == ""
}

func (c *chatClient) lastSeen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
