package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/natter-chat/natter/netguard"
)

// NetConfig is the listener's defence: HTTP timeouts, connection caps,
// trusted proxies and IP lists (docs/SECURITY.md, "Connections and network
// limits").
type NetConfig struct {
	ReadHeaderTimeout time.Duration // request line and headers
	ReadTimeout       time.Duration // a whole request, body included
	WriteTimeout      time.Duration // a response, from the end of its request's headers
	IdleTimeout       time.Duration // a keep-alive connection between requests
	MaxConns          int           // open TCP connections (0: no cap)
	MaxConnsPerIP     int           // per client address (0: no cap)
	TrustedProxies    string        // CIDRs whose X-Forwarded-For / X-Real-IP count
	AllowIPs, DenyIPs string        // CIDR lists or @file, re-read on SIGHUP
}

func defaultNet() NetConfig {
	return NetConfig{
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 60 * time.Second,
		MaxConns: netguard.DefaultMaxConns(), MaxConnsPerIP: netguard.DefaultPerIP,
	}
}

func (c *NetConfig) flags(fs *flag.FlagSet) {
	fs.DurationVar(&c.ReadHeaderTimeout, "http-read-header-timeout", c.ReadHeaderTimeout, "time allowed for an HTTP request's line and headers")
	fs.DurationVar(&c.ReadTimeout, "http-read-timeout", c.ReadTimeout, "time allowed for a whole HTTP request, body included (a trickled body is cut)")
	fs.DurationVar(&c.WriteTimeout, "http-write-timeout", c.WriteTimeout, "time allowed to write an HTTP response, from the end of its request's headers (a client that stops reading is cut)")
	fs.DurationVar(&c.IdleTimeout, "http-idle-timeout", c.IdleTimeout, "close HTTP keep-alive connections idle for this long (WebSockets have --idle-timeout)")
	fs.IntVar(&c.MaxConns, "max-conns", c.MaxConns, "open TCP connections (HTTP and WebSocket) allowed in total; more are answered 503 at accept (default: RLIMIT_NOFILE less max(64, a tenth); 0: no cap)")
	fs.IntVar(&c.MaxConnsPerIP, "max-conns-per-ip", c.MaxConnsPerIP, "open connections allowed per client address (IPv4 address, IPv6 /64); more are answered 503 (0: no cap)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "comma-separated CIDRs of reverse proxies whose X-Forwarded-For / X-Real-IP name the client (for per-IP limits and the IP lists)")
	fs.StringVar(&c.AllowIPs, "allow-ips", c.AllowIPs, "if set, only these clients are served: comma-separated CIDRs, or @file with one per line (re-read on SIGHUP)")
	fs.StringVar(&c.DenyIPs, "deny-ips", c.DenyIPs, "clients never served (wins over --allow-ips): comma-separated CIDRs, or @file with one per line (re-read on SIGHUP)")
}

// listen opens m.Addr behind the guard.
func (m *Main) listen() (net.Listener, error) {
	trusted, err := netguard.ParseCIDRs(m.Net.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	m.guard, err = netguard.New(netguard.Config{
		MaxConns: m.Net.MaxConns, MaxConnsPerIP: m.Net.MaxConnsPerIP, TrustedProxies: trusted,
		Allow: m.Net.AllowIPs, Deny: m.Net.DenyIPs, Log: m.Log, Metrics: m.metrics,
	})
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", m.Addr)
	if err != nil {
		return nil, err
	}
	return m.guard.Listen(l), nil
}

// httpServer serves h behind the guard's middleware, with the timeouts.
// WebSockets upgraded through it are hijacked, which clears the deadlines
// (read and write alike).
func (m *Main) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           m.guard.Middleware(h),
		ReadHeaderTimeout: m.Net.ReadHeaderTimeout, ReadTimeout: m.Net.ReadTimeout,
		WriteTimeout: m.Net.WriteTimeout, IdleTimeout: m.Net.IdleTimeout,
		ConnState: m.quiet.track,
	}
}

// Reload re-reads the IP allow and deny lists (on SIGHUP) and closes the
// WebSockets of clients they no longer allow; on an error the lists in
// force stay.
func (m *Main) Reload() error {
	if m.guard == nil {
		return nil
	}
	if err := m.guard.Reload(); err != nil {
		m.Log.Error("reload: ip lists kept as they were", "err", err)
		return err
	}
	if m.edge != nil {
		if n := m.edge.CloseDenied(m.guard.Allowed); n > 0 {
			m.Log.Info("websockets of clients no longer allowed closed", "count", n)
		}
	}
	return nil
}
