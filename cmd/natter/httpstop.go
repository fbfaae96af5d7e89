package main

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// quietGrace is how long a connection may stay open without sending a
// request once shutdown has begun. http.Server.Shutdown waits for such
// connections until they are 5 s old (its guard against closing one whose
// first request is on its way), and HTTP clients hold them routinely: Go's
// http.Transport keeps the connection of a dial that lost its race to a
// freed one, unused, in its pool. With --shutdown-timeout 5s that wait
// alone ran past the timeout (issue #10: exit 2, `context deadline
// exceeded`, in 3 of ~20 SIGTERMs of a history replica).
const quietGrace = time.Second

// quietConns are the HTTP connections on which no request has come yet.
type quietConns struct {
	mu sync.Mutex
	at map[net.Conn]time.Time // accepted at
}

// track is the server's ConnState hook.
func (q *quietConns) track(c net.Conn, s http.ConnState) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if s == http.StateNew {
		if q.at == nil {
			q.at = make(map[net.Conn]time.Time)
		}
		q.at[c] = time.Now()
		return
	}
	delete(q.at, c)
}

// closeOlder closes those accepted more than d ago.
func (q *quietConns) closeOlder(d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for c, at := range q.at {
		if time.Since(at) > d {
			c.Close()
			delete(q.at, c)
		}
	}
}

// shutdownHTTP stops the HTTP server: no new connections, requests in
// progress finish, connections without a request are closed after
// quietGrace; whatever still runs when ctx ends (--shutdown-timeout) is
// cut off, as documented, which is logged and is not an error.
func (m *Main) shutdownHTTP(ctx context.Context) {
	done := make(chan error, 1)
	go func() { done <- m.http.Shutdown(ctx) }()
	t := time.NewTicker(quietGrace / 4)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				m.http.Close()
				m.Log.Warn("http requests still running at --shutdown-timeout cut off", "err", err)
			}
			return
		case <-t.C:
			m.quiet.closeOlder(quietGrace)
		}
	}
}
