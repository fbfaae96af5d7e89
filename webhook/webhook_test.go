package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/natter-chat/natter"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.216.34": true, "2606:4700::1111": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fc00::1": false, "100.64.0.1": false,
		"0.0.0.0": false, "::": false, "224.0.0.1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false,
	} {
		if got := public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("public(%s) = %v, want %v", addr, got, want)
		}
	}
}

// Without AllowPrivate a loopback endpoint is never contacted: the refusal
// happens at dial time, after name resolution.
func TestSSRFRefused(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	for _, u := range []string{srv.URL, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)} {
		s, err := New(Config{URL: u, Secret: []byte("0123456789abcdef")})
		if err != nil {
			t.Fatal(err)
		}
		err = s.post(context.Background(), payload(natter.Message{Room: "r", Seq: 1, Epoch: "e"}))
		if err == nil || !strings.Contains(err.Error(), "not a public address") {
			t.Fatalf("%s: post error %v, want a refusal", u, err)
		}
		allowed, _ := New(Config{URL: u, Secret: []byte("0123456789abcdef"), AllowPrivate: true})
		if err := allowed.post(context.Background(), payload(natter.Message{Room: "r", Seq: 1, Epoch: "e"})); err != nil {
			t.Fatalf("%s with AllowPrivate: %v", u, err)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("endpoint hit %d times, want 2 (only with AllowPrivate)", n)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []Config{
		{URL: "ftp://example.com/", Secret: []byte("0123456789abcdef")},
		{URL: "http:///nohost", Secret: []byte("0123456789abcdef")},
		{URL: "https://example.com/", Secret: []byte("short")},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}
