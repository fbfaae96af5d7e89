package edge

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// While this edge cannot reach JetStream (its NATS connection is down, the
// node it is connected to hangs or is cut off, or the store cannot write),
// its clients can neither send nor join, and pings alone give them no
// reason to leave. Once that has lasted StoreDownAfter, the edge tells
// them: in a cluster it closes them with 1013 "try again later", a few at
// a time over StoreDownSpread so that they do not all reconnect to the
// other edges at once; on a single node, where there is no other edge to
// go to, it sends each a `service` event and another when the store is
// back. A store that answers but cannot store (out of space) gets the
// event in a cluster too: every edge shares it, so moving would not help.
// docs/PROTOCOL.md and docs/RELIABILITY.md state the bounds.

// Defaults of the store-down settings.
const (
	DefaultStoreDownAfter  = 5 * time.Second
	DefaultStoreDownSpread = 2 * time.Second
)

// CloseTryAgainLater closes a connection whose edge cannot reach the store.
const CloseTryAgainLater = ws.StatusCode(1013)

// Service event: status "unavailable" (with the reason in message) or "ok".
const evService = "service"

const storeDownReason = "message store unavailable"

func (e *Edge) storeWatchLoop() {
	after := e.cfg.StoreDownAfter
	if after < 0 {
		return
	}
	every := max(min(after/4, time.Second), 10*time.Millisecond)
	timeout := max(min(after/2, 2*time.Second), 50*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	var downSince time.Time
	var down atomic.Bool     // ends a round of closes when the store is back
	told := map[*conn]bool{} // connections told (true: by an event) or being closed
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(e.ctx, timeout)
		err := e.b.Ready(ctx)
		cancel()
		if e.ctx.Err() != nil {
			return
		}
		if err == nil {
			if !downSince.IsZero() {
				e.log.Info("message store reachable again", "after", time.Since(downSince).Round(time.Millisecond))
				down.Store(false)
				e.storeBack(told)
				downSince, told = time.Time{}, map[*conn]bool{}
			}
			continue
		}
		if downSince.IsZero() {
			downSince = start
		}
		if time.Since(downSince) < after {
			continue
		}
		down.Store(true)
		// A store that is reachable but cannot store (out of space) is the
		// same from every edge: moving clients would not help them.
		closing := e.cfg.StoreDownClose && e.b.StoreFault() == nil
		fresh := e.untold(told, !closing)
		if len(fresh) == 0 {
			continue
		}
		e.log.Warn("message store unavailable: telling clients", "err", err, "for", time.Since(downSince).Round(time.Millisecond), "conns", len(fresh), "close", closing)
		if !closing {
			for _, c := range fresh {
				c.send(event{Type: evService, Status: "unavailable", Message: err.Error()})
			}
			continue
		}
		go e.closeSpread(fresh, &down)
	}
}

// untold returns the open connections not yet in told (authenticated ones
// only when they are to get an event), adds them, and forgets the closed.
func (e *Edge) untold(told map[*conn]bool, byEvent bool) []*conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	for c := range told {
		if _, open := e.conns[c]; !open {
			delete(told, c)
		}
	}
	var fresh []*conn
	for c := range e.conns {
		if _, seen := told[c]; !seen && (!byEvent || c.authed.Load()) {
			told[c] = byEvent
			fresh = append(fresh, c)
		}
	}
	return fresh
}

// storeBack tells the connections that got the unavailable event that the
// store is back.
func (e *Edge) storeBack(told map[*conn]bool) {
	var open []*conn
	e.mu.Lock()
	for c, byEvent := range told {
		if _, ok := e.conns[c]; ok && byEvent {
			open = append(open, c)
		}
	}
	e.mu.Unlock()
	for _, c := range open {
		c.send(event{Type: evService, Status: "ok"})
	}
}

// closeSpread closes conns with 1013 in random order, evenly over
// StoreDownSpread, unless the store comes back meanwhile.
func (e *Edge) closeSpread(conns []*conn, down *atomic.Bool) {
	rand.Shuffle(len(conns), func(i, j int) { conns[i], conns[j] = conns[j], conns[i] })
	gap := e.cfg.StoreDownSpread / time.Duration(len(conns))
	for i, c := range conns {
		if i > 0 && gap > 0 {
			select {
			case <-e.ctx.Done():
				return
			case <-time.After(gap):
			}
		}
		if !down.Load() {
			return
		}
		c.closeWith(CloseTryAgainLater, storeDownReason)
	}
}
