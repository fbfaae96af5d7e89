package account

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/natter-chat/natter/netguard"
)

func TestLimitersBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newLimiters(Limit{Every: time.Second, Burst: 2}, 3)
	// a is drained, b and c are busy.
	s.allow("a", t0)
	s.allow("a", t0)
	if s.allow("a", t0) {
		t.Fatal("a allowed a third time at once")
	}
	s.allow("b", t0.Add(time.Second/2))
	s.allow("c", t0.Add(time.Second/2))

	// A fourth key evicts the least recently used (a), which therefore
	// gets a fresh bucket when it comes back; that is the price of a bound.
	s.allow("d", t0.Add(time.Second))
	if n := s.len(); n != 3 {
		t.Fatalf("%d entries, want 3", n)
	}
	if _, ok := s.m["a"]; ok {
		t.Error("least recently used entry not evicted")
	}

	// Entries idle for a full refill (2 s) are dropped first, all at once.
	s.allow("e", t0.Add(2800*time.Millisecond))
	if n := s.len(); n != 2 {
		t.Errorf("%d entries after idle sweep, want 2 (d and e)", n)
	}
}

func TestLimitersUnderFlood(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newLimiters(Limit{Every: time.Minute, Burst: 1}, 100)
	s.allow("victim", t0)
	for i := range 1000 {
		s.allow(fmt.Sprint("junk", i), t0.Add(time.Millisecond))
		if s.len() > 100 {
			t.Fatalf("%d entries, bound is 100", s.len())
		}
	}
}

func TestClientIP(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:5555":                 "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":     "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443":     "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:80":          "192.0.2.7",
		"not an address":                 "not an address",
		"[2001:db8:1:3:3:4:5:6]:1":       "2001:db8:1:3::/64",
		"[fe80::1%eth0]:1":               "fe80::/64",
		"127.0.0.1:0":                    "127.0.0.1",
		"[2001:db8:ffff:ffff::9]:65535":  "2001:db8:ffff:ffff::/64",
		"[2001:db8::]:1":                 "2001:db8::/64",
		"[::1]:8080":                     "::/64",
		"203.0.113.200:443":              "203.0.113.200",
		"[2001:db8:0:0:1:0:0:1]:12":      "2001:db8::/64",
		"[2001:0db8:0000:0042::0001]:12": "2001:db8:0:42::/64",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		if got := clientIP(r); got != want {
			t.Errorf("clientIP(%q) = %q, want %q", addr, got, want)
		}
	}
}

// Behind a trusted proxy, the per-IP key is the client it forwards (as
// netguard's middleware resolved it); from anyone else the header is
// ignored.
func TestClientIPBehindTrustedProxy(t *testing.T) {
	trusted, _ := netguard.ParseCIDRs("10.0.0.0/8")
	g, err := netguard.New(netguard.Config{TrustedProxies: trusted, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	h := g.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = clientIP(r) }))
	for _, tc := range []struct{ peer, xff, want string }{
		{"10.0.0.2:80", "203.0.113.9, 10.1.1.1", "203.0.113.9"},
		{"10.0.0.2:80", "[2001:db8:1:2::99]:4711", "2001:db8:1:2::/64"},
		{"198.51.100.1:80", "203.0.113.9", "198.51.100.1"},
	} {
		r := httptest.NewRequest("POST", "/api/auth/login", nil)
		r.RemoteAddr = tc.peer
		r.Header.Set("X-Forwarded-For", tc.xff)
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: clientIP %q, want %q", tc.peer, tc.xff, got, tc.want)
		}
	}
}
