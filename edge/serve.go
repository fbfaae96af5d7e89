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
	defer e.wg.Done()
	_ = nc.SetDeadline(time.Now().Add(e.cfg.AuthTimeout))
	if _, err := e.up.Upgrade(nc); err != nil {
		nc.Close()
		return
	}
	e.run(newConn(e, nc))
}

// ServeHTTP upgrades through net/http, for requests that arrive on a reused
// keep-alive connection or behind another router.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !e.track() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer e.wg.Done()
	nc, _, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		return // UpgradeHTTP has answered the client
	}
	e.run(newConn(e, nc))
}

// track counts a connection goroutine, unless the edge is draining.
func (e *Edge) track() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.draining {
		return false
	}
	e.wg.Add(1)
	return true
}

// run records c so that Shutdown can close it, and serves it.
func (e *Edge) run(c *conn) {
	e.mu.Lock()
	if e.draining {
		e.mu.Unlock()
		c.closeWith(ws.StatusGoingAway, "server shutting down")
		return
	}
	e.conns[c] = struct{}{}
	e.mu.Unlock()
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
