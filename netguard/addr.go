package netguard

import (
	"bytes"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strings"
)

// ParseCIDRs parses a list of networks separated by commas, spaces or
// newlines; "#" starts a comment that runs to the end of the line. A bare
// address is a network of one (/32 or /128). IPv4-mapped IPv6 networks are
// taken as the IPv4 networks they map, since that is how their clients'
// addresses are compared.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, line := range strings.Split(s, "\n") {
		line, _, _ = strings.Cut(line, "#")
		for _, f := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' }) {
			p, err := parsePrefix(f)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR network", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR network", s)
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("%q: an IPv4-mapped network needs at least /96", s)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// LoadCIDRs reads a list given on the command line: the list itself, or
// "@path" for a file that holds it (one network per line, # comments).
func LoadCIDRs(spec string) ([]netip.Prefix, error) {
	if path, ok := strings.CutPrefix(strings.TrimSpace(spec), "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		p, err := ParseCIDRs(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return p, nil
	}
	return ParseCIDRs(spec)
}

func contains(nets []netip.Prefix, a netip.Addr) bool {
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// PeerAddr is the address of an "ip:port" (a net.Conn's RemoteAddr, an
// http.Request's RemoteAddr), IPv4-mapped addresses as IPv4 and without a
// zone; the zero Addr if s is not one.
func PeerAddr(s string) netip.Addr {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap().WithZone("")
}

// Key is what per-IP limits count by: an IPv4 address, or an IPv6 address's
// /64, since one host usually holds a whole /64.
func Key(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// Forwarded is what a request says about its client through proxies: its
// X-Forwarded-For values (in order) and X-Real-IP. It is only believed
// from a trusted proxy (see Guard.Resolve).
type Forwarded struct {
	For    []string
	RealIP string
	size   int
}

// maxForwarded bounds the X-Forwarded-For bytes kept. What goes is the
// left end, written by the client or by proxies further out: the right
// end, which our proxy appended, is what Resolve reads first, so padding
// the header can neither hide the client nor cost memory.
const maxForwarded = 4096

var (
	headerFor    = []byte("X-Forwarded-For")
	headerRealIP = []byte("X-Real-Ip")
)

// Header collects the forwarding headers of a WebSocket upgrade; it fits
// gobwas/ws's Upgrader.OnHeader, whose arguments are only valid during the
// call.
func (f *Forwarded) Header(key, value []byte) error {
	switch {
	case bytes.EqualFold(key, headerFor):
		f.addFor(string(value))
	case bytes.EqualFold(key, headerRealIP) && len(value) <= 64:
		f.RealIP = string(value)
	}
	return nil
}

// addFor appends an X-Forwarded-For value, dropping the oldest entries
// past maxForwarded: whole values, or a value's entries up to a comma (a
// cut address could read as another one).
func (f *Forwarded) addFor(v string) {
	f.For = append(f.For, v)
	f.size += len(v)
	for f.size > maxForwarded {
		first := f.For[0]
		excess := f.size - maxForwarded
		if k := strings.IndexByte(first[min(excess, len(first)):], ','); excess < len(first) && k >= 0 {
			rest := first[excess+k+1:]
			f.size -= len(first) - len(rest)
			f.For[0] = rest
			continue
		}
		f.For = f.For[1:]
		f.size -= len(first)
	}
}

// ForwardedFrom reads the forwarding headers of an HTTP request.
func ForwardedFrom(h http.Header) Forwarded {
	var f Forwarded
	for _, v := range h.Values("X-Forwarded-For") {
		f.addFor(v)
	}
	if v := h.Get("X-Real-IP"); len(v) <= 64 {
		f.RealIP = v
	}
	return f
}

// Resolve returns the client's address of a connection from peer that
// carried f. Only a trusted proxy is believed: from anyone else the peer is
// the client. From a trusted proxy, the client is the rightmost
// X-Forwarded-For address that is not itself a trusted proxy (addresses to
// its left were written by the client or by proxies we do not know, and can
// be anything); with no X-Forwarded-For, X-Real-IP; with neither, the
// peer. An unparsable entry ends the walk at the last trusted hop: whatever
// lies beyond it cannot be told apart from a forgery.
func (g *Guard) Resolve(peer netip.Addr, f Forwarded) netip.Addr {
	if !g.Proxied(peer) {
		return peer
	}
	hop := peer
	if len(f.For) > 0 {
		for i := len(f.For) - 1; i >= 0; i-- {
			entries := strings.Split(f.For[i], ",")
			for j := len(entries) - 1; j >= 0; j-- {
				a, ok := forwardedAddr(entries[j])
				if !ok {
					return hop
				}
				if !contains(g.trusted, a) {
					return a
				}
				hop = a
			}
		}
		return hop
	}
	if a, ok := forwardedAddr(f.RealIP); ok {
		return a
	}
	return peer
}

// Proxied reports whether peer is a trusted proxy, whose forwarding
// headers count.
func (g *Guard) Proxied(peer netip.Addr) bool {
	return g != nil && contains(g.trusted, peer)
}

// forwardedAddr parses one X-Forwarded-For entry: an address, possibly with
// a port ("192.0.2.1:4711", "[2001:db8::1]:4711") as some proxies write.
func forwardedAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}
