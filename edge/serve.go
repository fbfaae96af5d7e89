package edge

import (
	"net"
	"net/http"
	"time"

	"github.com/gobwas/ws"
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
	if _, err := e.up.Upgrade(nc); err != nil {
		nc.Close()
		e.wg.Done()
		return
	}
	_ = nc.SetDeadline(time.Time{})
	e.run(newConn(e, nc))
}

// ServeHTTP upgrades through net/http, for requests that arrive on a reused
// keep-alive connection or behind another router.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !e.track() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	nc, _, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		e.wg.Done()
		return // UpgradeHTTP has answered the client
	}
	e.run(newConn(e, nc))
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
}
