package netguard

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Listener is a net.Listener that applies a Guard at accept and never
// gives up on a failing accept: it backs off and retries, as net/http's
// Server does, and sheds pending connections while descriptors run out.
// Its Accept returns only connections and, once closed, net.ErrClosed.
type Listener struct {
	net.Listener
	g *Guard

	done chan struct{}
	once sync.Once

	mu    sync.Mutex
	spare *os.File // a descriptor held back for shedding; nil while lent
}

// Listen wraps l. It opens the spare descriptor that Accept lets go of
// when the process runs out: enough to accept one pending connection and
// refuse it.
func (g *Guard) Listen(l net.Listener) *Listener {
	spare, _ := os.Open(os.DevNull)
	return &Listener{Listener: l, g: g, done: make(chan struct{}), spare: spare}
}

// Backoff after a failed accept: 5ms doubling to 1s, as net/http's Server.
const (
	minDelay = 5 * time.Millisecond
	maxDelay = time.Second
)

// NextDelay is the wait before retrying an accept that failed after
// waiting d (0 for the first failure).
func NextDelay(d time.Duration) time.Duration {
	return min(max(2*d, minDelay), maxDelay)
}

// Accept returns the next connection that the Guard admits.
func (l *Listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			delay = NextDelay(delay)
			l.g.acceptFailed(err, delay)
			if exhausted(err) {
				l.shed()
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		if delay > 0 {
			l.g.acceptRecovered()
			delay = 0
		}
		if c := l.g.admit(nc); c != nil {
			return c, nil
		}
	}
}

// Close closes the listener and lets go of the spare descriptor.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	l.mu.Lock()
	if l.spare != nil {
		l.spare.Close()
		l.spare = nil
	}
	l.mu.Unlock()
	return l.Listener.Close()
}

// maxShed bounds the connections refused in one shedding round.
const maxShed = 64

// shed lends the spare descriptor to accept what is pending, refusing each
// connection at once (so that its client hears 503 instead of hanging in
// the backlog), then takes the spare back. libuv and nginx do the same.
func (l *Listener) shed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	dl, ok := l.Listener.(interface{ SetDeadline(time.Time) error })
	if l.spare == nil || !ok {
		l.spare, _ = os.Open(os.DevNull) // lost to someone else last time
		return
	}
	l.spare.Close()
	l.spare = nil
	// A short deadline makes Accept return once nothing is pending.
	_ = dl.SetDeadline(time.Now().Add(time.Millisecond))
	for range maxShed {
		nc, err := l.Listener.Accept()
		if err != nil {
			break
		}
		l.g.refused(reasonFD)
		refuse(nc)
	}
	_ = dl.SetDeadline(time.Time{})
	l.spare, _ = os.Open(os.DevNull)
}

// exhausted reports whether err says the process or the system is out of
// descriptors.
func exhausted(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// acceptFailed records a failed accept: metric, health, and a WARN line
// at most once per LogEvery.
func (g *Guard) acceptFailed(err error, retry time.Duration) {
	reason, text := errReason(err)
	g.m.AcceptErrors.WithLabelValues(reason).Inc()
	now := time.Now()
	g.mu.Lock()
	g.failed, g.failure = now, text
	n, ok := g.every("accept").tick(now)
	g.mu.Unlock()
	if ok {
		g.log.Warn("accept failing; retrying", "err", text, "errors", n, "per", g.cfg.LogEvery, "retry_in", retry)
	}
}

// acceptRecovered logs the end of a run of accept failures.
func (g *Guard) acceptRecovered() {
	g.mu.Lock()
	n := g.every("accept").rest()
	g.mu.Unlock()
	g.log.Info("accept recovered", "errors_not_logged", n)
}

// errReason is the metric label and the readable text of an accept error.
func errReason(err error) (reason, text string) {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EMFILE:
			return "emfile", errno.Error()
		case syscall.ENFILE:
			return "enfile", errno.Error()
		case syscall.ECONNABORTED:
			return "econnaborted", errno.Error()
		case syscall.ENOBUFS:
			return "enobufs", errno.Error()
		case syscall.ENOMEM:
			return "enomem", errno.Error()
		}
		return "other", errno.Error()
	}
	return "other", err.Error()
}

// refusal is the whole answer to a connection over a cap: written without
// reading the request, so that refusing costs nothing but the accept.
var refusal = func() []byte {
	body := `{"error":{"code":"unavailable","message":"too many connections, retry later"}}` + "\n"
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\n"+
		"Content-Type: application/json\r\n"+
		"X-Content-Type-Options: nosniff\r\n"+
		"Retry-After: 5\r\n"+
		"Connection: close\r\n"+
		"Content-Length: %d\r\n\r\n%s", len(body), body)
}()

// refuse answers 503 and closes nc. A new socket's send buffer is empty:
// the write never waits, the deadline is only a bound.
func refuse(nc net.Conn) {
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write(refusal)
	nc.Close()
}
