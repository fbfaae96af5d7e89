package edge

import (
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/gobwas/ws"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/httpapi"
	"github.com/natter-chat/natter/netguard"
)

// ServeConn upgrades a raw connection whose HTTP request has not been read
// yet (zero-copy: gobwas/ws parses the request straight off the socket) and
// runs the session. It returns when the connection ends.
func (e *Edge) ServeConn(nc net.Conn) {
	if !e.track() {
		nc.Close()
		return
	}
	_ = nc.SetDeadline(time.Now().Add(e.cfg.AuthTimeout))
	h := guardHold{client: netguard.PeerAddr(nc.RemoteAddr().String())}
	if _, err := e.upgrader(&h).Upgrade(nc); err != nil {
		h.done()
		nc.Close()
		e.wg.Done()
		return
	}
	_ = nc.SetDeadline(time.Time{})
	c := newConn(e, nc)
	c.hold = h
	e.run(c)
}

// guardHold is what the guard decided about a WebSocket's client.
type guardHold struct {
	client netip.Addr // as resolved: behind a trusted proxy, the forwarded address
	end    func()     // if set, ends the guard's hold on the client's place
}

// done ends the hold, if there is one.
func (h guardHold) done() {
	if h.end != nil {
		h.end()
	}
}

// upgrader is the zero-copy upgrader for a connection from h.client. From
// a trusted proxy, it reads the forwarding headers on the way and lets the
// guard judge the client they name before answering, into h.
func (e *Edge) upgrader(h *guardHold) ws.Upgrader {
	peer := h.client
	if !e.cfg.Guard.Proxied(peer) {
		return e.up // judged at accept
	}
	up := e.up
	var fwd netguard.Forwarded
	up.OnHeader = fwd.Header
	up.OnBeforeUpgrade = func() (ws.HandshakeHeader, error) {
		r, err := e.cfg.Guard.Upgrade(peer, fwd)
		if err != nil {
			return nil, rejection(err)
		}
		h.client, h.end = e.cfg.Guard.Resolve(peer, fwd), r
		return nil, nil
	}
	return up
}

// rejection is the HTTP answer to an upgrade the guard refused.
func rejection(err error) error {
	return ws.RejectConnectionError(ws.RejectionStatus(httpapi.Status(natter.ErrorCode(err))), ws.RejectionReason(natter.ErrorMessage(err)))
}

// ServeHTTP upgrades through net/http, for requests that arrive on a reused
// keep-alive connection or behind another router.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	release, err := e.cfg.Guard.Upgrade(netguard.PeerAddr(r.RemoteAddr), netguard.ForwardedFrom(r.Header))
	if err != nil {
		httpapi.WriteError(w, r, nil, err)
		return
	}
	if !e.track() {
		release()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	// Hijacking clears the deadlines of the HTTP server (ReadTimeout,
	// IdleTimeout): the session's own timeouts take over.
	nc, _, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		release()
		e.wg.Done()
		return // UpgradeHTTP has answered the client
	}
	c := newConn(e, nc)
	c.hold = guardHold{client: netguard.ClientAddr(r), end: release}
	e.run(c)
}

// CloseDenied closes, with 1008, every WebSocket whose client allowed
// rejects (after the IP lists changed), and returns how many.
func (e *Edge) CloseDenied(allowed func(netip.Addr) bool) int {
	e.mu.Lock()
	var denied []*conn
	for c := range e.conns {
		if !allowed(c.hold.client) {
			denied = append(denied, c)
		}
	}
	e.mu.Unlock()
	for _, c := range denied {
		c.closeWith(ws.StatusPolicyViolation, "address not allowed")
	}
	return len(denied)
}

// track counts a connection until its teardown, unless the edge is draining.
func (e *Edge) track() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.draining {
		return false
	}
	e.wg.Add(1)
	return true
}

// run records c so that Shutdown can close it, and serves it: through the
// poller (returning at once) where it can, else with a reader goroutine.
func (e *Edge) run(c *conn) {
	e.mu.Lock()
	e.conns[c] = struct{}{}
	draining := e.draining
	e.mu.Unlock()
	if draining {
		c.closeWith(ws.StatusGoingAway, "server shutting down")
	}
	if e.poll.add(c) {
		// A close queued before the poller knew c (by Shutdown, say) found
		// no reader to finish it: do it now.
		c.finishIfClosing()
		return
	}
	c.serve()
}

func (e *Edge) forget(c *conn) {
	e.mu.Lock()
	delete(e.conns, c)
	e.mu.Unlock()
	if c.user != "" {
		e.m.Connections.Dec()
	}
	c.hold.done()
}
