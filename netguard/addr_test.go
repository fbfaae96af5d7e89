package netguard

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func mustGuard(t testing.TB, trusted string) *Guard {
	t.Helper()
	p, err := ParseCIDRs(trusted)
	if err != nil {
		t.Fatal(err)
	}
	return &Guard{trusted: p} // Resolve needs nothing else
}

func TestResolve(t *testing.T) {
	g := mustGuard(t, "10.0.0.0/8, 2001:db8:ffff::/48")
	for _, tc := range []struct {
		name, peer string
		xff        []string
		realIP     string
		want       string
	}{
		{"direct client: headers ignored", "198.51.100.1", []string{"203.0.113.9"}, "203.0.113.8", "198.51.100.1"},
		{"proxy, no headers: the proxy", "10.0.0.2", nil, "", "10.0.0.2"},
		{"proxy: the address it appended", "10.0.0.2", []string{"203.0.113.9"}, "", "203.0.113.9"},
		{"a forged entry left of the real one is skipped", "10.0.0.2", []string{"192.0.2.66, 203.0.113.9"}, "", "203.0.113.9"},
		{"chain of trusted proxies", "10.0.0.2", []string{"203.0.113.9, 10.1.1.1", "10.2.2.2"}, "", "203.0.113.9"},
		{"every hop trusted: the leftmost", "10.0.0.2", []string{"10.3.3.3, 10.1.1.1"}, "", "10.3.3.3"},
		{"garbage ends the walk at the last trusted hop", "10.0.0.2", []string{"203.0.113.9, nonsense, 10.1.1.1"}, "", "10.1.1.1"},
		{"garbage right next to the proxy: the proxy", "10.0.0.2", []string{"203.0.113.9, unknown"}, "", "10.0.0.2"},
		{"ports and spaces", "10.0.0.2", []string{" 203.0.113.9:4711 "}, "", "203.0.113.9"},
		{"bracketed IPv6 with port", "10.0.0.2", []string{"[2001:db8::7]:443"}, "", "2001:db8::7"},
		{"IPv4-mapped is IPv4", "10.0.0.2", []string{"::ffff:203.0.113.9"}, "", "203.0.113.9"},
		{"X-Real-IP when no X-Forwarded-For", "10.0.0.2", nil, "203.0.113.5", "203.0.113.5"},
		{"X-Forwarded-For wins over X-Real-IP", "10.0.0.2", []string{"203.0.113.9"}, "203.0.113.5", "203.0.113.9"},
		{"bad X-Real-IP: the proxy", "10.0.0.2", nil, "not-an-ip", "10.0.0.2"},
		{"IPv6 proxy", "2001:db8:ffff:1::1", []string{"2001:db8:1::1"}, "", "2001:db8:1::1"},
		{"IPv6 outside the proxy range is a client", "2001:db8:fffe::1", []string{"203.0.113.9"}, "", "2001:db8:fffe::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := g.Resolve(netip.MustParseAddr(tc.peer), Forwarded{For: tc.xff, RealIP: tc.realIP})
			if got.String() != tc.want {
				t.Errorf("Resolve = %s, want %s", got, tc.want)
			}
		})
	}
	// A nil guard trusts nobody.
	var none *Guard
	if got := none.Resolve(netip.MustParseAddr("10.0.0.2"), Forwarded{For: []string{"203.0.113.9"}}); got.String() != "10.0.0.2" {
		t.Errorf("nil guard resolved %s", got)
	}
}

// The zero-copy upgrade's header callback and net/http's headers give the
// same Forwarded, whatever the case of the names.
func TestForwardedHeader(t *testing.T) {
	var f Forwarded
	for _, kv := range [][2]string{{"x-forwarded-for", "192.0.2.1"}, {"Host", "x"}, {"X-FORWARDED-FOR", "192.0.2.2, 10.0.0.1"}, {"x-real-ip", "192.0.2.3"}} {
		if err := f.Header([]byte(kv[0]), []byte(kv[1])); err != nil {
			t.Fatal(err)
		}
	}
	h := http.Header{}
	h.Add("X-Forwarded-For", "192.0.2.1")
	h.Add("X-Forwarded-For", "192.0.2.2, 10.0.0.1")
	h.Set("X-Real-Ip", "192.0.2.3")
	g := ForwardedFrom(h)
	if strings.Join(f.For, "|") != strings.Join(g.For, "|") || f.RealIP != g.RealIP {
		t.Errorf("OnHeader %+v, net/http %+v", f, g)
	}
	// Padding the header keeps its right end, which the proxy appended,
	// and costs no more than maxForwarded bytes.
	for _, pad := range []string{strings.Repeat("192.0.2.100, ", 1000), strings.Repeat("x", 10000)} {
		var big Forwarded
		for range 5 {
			big.Header([]byte("X-Forwarded-For"), []byte(pad))
		}
		big.Header([]byte("X-Forwarded-For"), []byte(pad+", 203.0.113.9"))
		if n := len(strings.Join(big.For, "")); n > maxForwarded {
			t.Errorf("kept %d bytes of X-Forwarded-For", n)
		}
		g := mustGuard(t, "10.0.0.0/8")
		if got := g.Resolve(netip.MustParseAddr("10.0.0.2"), big); got.String() != "203.0.113.9" {
			t.Errorf("padded header resolved to %s, want the address the proxy appended", got)
		}
	}
}

func TestParseCIDRs(t *testing.T) {
	got, err := ParseCIDRs("10.0.0.0/8, 192.0.2.7\n# a comment\n2001:db8::/32 # trailing\n\n::ffff:198.51.100.0/120\n10.1.2.3/8")
	if err != nil {
		t.Fatal(err)
	}
	want := "10.0.0.0/8 192.0.2.7/32 2001:db8::/32 198.51.100.0/24 10.0.0.0/8"
	var s []string
	for _, p := range got {
		s = append(s, p.String())
	}
	if strings.Join(s, " ") != want {
		t.Errorf("got %v, want %s", s, want)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1-10.0.0.9", "fe80::1%eth0", "::ffff:1.2.3.4/64"} {
		if _, err := ParseCIDRs(bad); err == nil {
			t.Errorf("ParseCIDRs(%q) accepted", bad)
		}
	}
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7": "192.0.2.7", "::ffff:192.0.2.7": "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64", "fe80::1%eth0": "fe80::/64",
	} {
		if got := Key(netip.MustParseAddr(in)); got != want {
			t.Errorf("Key(%s) = %s, want %s", in, got, want)
		}
	}
}

// FuzzClientAddr feeds the header and list parsers arbitrary bytes: they
// must not panic, and what Resolve returns must be the peer or an address
// that one of the headers named, never one made up.
func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.2", "203.0.113.9, 10.1.1.1", "", "10.0.0.0/8")
	f.Add("10.0.0.2", "[2001:db8::7]:443,nonsense", "192.0.2.1", "10.0.0.0/8,2001:db8::/32")
	f.Add("[::1]:80", "", "::ffff:1.2.3.4", "::1\n# c\n127.0.0.0/8")
	f.Fuzz(func(t *testing.T, peer, xff, realIP, trusted string) {
		nets, err := ParseCIDRs(trusted)
		if err != nil {
			return
		}
		for _, p := range nets {
			if q, err := ParseCIDRs(p.String()); err != nil || len(q) != 1 || q[0] != p {
				t.Fatalf("%s does not parse back: %v %v", p, q, err)
			}
		}
		g := &Guard{trusted: nets}
		p := PeerAddr(peer)
		if !p.IsValid() {
			p, _ = netip.ParseAddr(peer)
		}
		if !p.IsValid() {
			return
		}
		p = p.Unmap().WithZone("")
		var fwd Forwarded
		fwd.Header([]byte("X-Forwarded-For"), []byte(xff))
		fwd.Header([]byte("X-Real-IP"), []byte(realIP))
		got := g.Resolve(p, fwd)
		if !got.IsValid() {
			t.Fatalf("Resolve gave an invalid address for peer %s", p)
		}
		if !g.Proxied(p) && got != p {
			t.Fatalf("untrusted peer %s resolved to %s", p, got)
		}
		if got != p {
			named := false
			for _, e := range append(strings.Split(xff, ","), realIP) {
				if a, ok := forwardedAddr(e); ok && a == got {
					named = true
				}
			}
			if !named {
				t.Fatalf("resolved %s, which no header named", got)
			}
		}
		_ = Key(got)
	})
}
