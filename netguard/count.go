package netguard

import (
	"net"
	"net/netip"
	"sync"
)

// Reasons of natter_connections_refused_total.
const (
	reasonTotal = "max_conns"        // MaxConns reached
	reasonPerIP = "max_conns_per_ip" // the client's address has MaxConnsPerIP open
	reasonACL   = "denied"           // deny list, or not on a non-empty allow list
	reasonFD    = "fd_exhausted"     // shed while descriptors ran out
)

// counts are the open connections, in total and by client Key.
type counts struct {
	mu    sync.Mutex
	total int
	perIP map[string]int
}

// take reserves a connection for key ("": not counted per IP) and, if
// total, one in the total; it returns the reason of a refusal, or "".
func (g *Guard) take(key string, total bool) string {
	c := &g.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	if total && g.cfg.MaxConns > 0 && c.total >= g.cfg.MaxConns {
		return reasonTotal
	}
	if key != "" && g.cfg.MaxConnsPerIP > 0 && c.perIP[key] >= g.cfg.MaxConnsPerIP {
		return reasonPerIP
	}
	if total {
		c.total++
		g.m.OpenConns.Inc()
	}
	if key != "" {
		c.perIP[key]++
	}
	return ""
}

// put releases what take reserved.
func (g *Guard) put(key string, total bool) {
	c := &g.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	if total {
		c.total--
		g.m.OpenConns.Dec()
	}
	if key != "" {
		if c.perIP[key]--; c.perIP[key] <= 0 {
			delete(c.perIP, key)
		}
	}
}

// slot is one reservation, released once.
type slot struct {
	g     *Guard
	key   string
	total bool
	once  sync.Once
}

func (s *slot) release() { s.once.Do(func() { s.g.put(s.key, s.total) }) }

// admit judges a connection just accepted: it returns it wrapped so that
// closing it releases its reservation, or refuses it and returns nil.
func (g *Guard) admit(nc net.Conn) net.Conn {
	peer := PeerAddr(nc.RemoteAddr().String())
	key := ""
	if !g.Proxied(peer) {
		// A trusted proxy speaks for many clients: they are judged by
		// the address it forwards, per request and per upgrade.
		if !g.Allowed(peer) {
			g.refused(reasonACL)
			nc.Close()
			return nil
		}
		key = Key(peer)
	}
	if reason := g.take(key, true); reason != "" {
		g.refused(reason)
		refuse(nc)
		return nil
	}
	s := &slot{g: g, key: key, total: true}
	if tc, ok := nc.(*net.TCPConn); ok {
		return &tcpConn{TCPConn: tc, slot: s}
	}
	return &otherConn{Conn: nc, slot: s}
}

// tcpConn embeds *net.TCPConn, not net.Conn, so that what the edge relies
// on stays visible: SyscallConn for epoll and writev, CloseWrite, and the
// writev path of net.Buffers.
type tcpConn struct {
	*net.TCPConn
	slot *slot
}

func (c *tcpConn) Close() error {
	c.slot.release()
	return c.TCPConn.Close()
}

type otherConn struct {
	net.Conn
	slot *slot
}

func (c *otherConn) Close() error {
	c.slot.release()
	return c.Conn.Close()
}

// Upgrade admits a WebSocket upgrade of a connection from peer that
// carried the forwarding headers f. A direct client was counted at accept;
// a trusted proxy's client is counted here, by the address it forwards,
// until release is called (once the WebSocket has closed). Both are checked
// against the lists again, which may have been reloaded since the accept.
func (g *Guard) Upgrade(peer netip.Addr, f Forwarded) (release func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	client := g.Resolve(peer, f)
	if !g.Allowed(client) {
		g.refused(reasonACL)
		return nil, ErrDenied
	}
	if !g.Proxied(peer) {
		return func() {}, nil
	}
	key := Key(client)
	if reason := g.take(key, false); reason != "" {
		g.refused(reason)
		return nil, ErrTooMany
	}
	s := &slot{g: g, key: key}
	return s.release, nil
}

// maxConnsFor is the connection cap for a descriptor limit of n: n less
// max(64, n/10), or half of n if that leaves too little. A limit too large
// to matter (RLIM_INFINITY) gives no cap.
func maxConnsFor(n uint64) int {
	if n >= 1<<31 {
		return 0
	}
	reserve := max(64, n/10)
	if n < 2*reserve {
		return int(max(n/2, 1))
	}
	return int(n - reserve)
}
