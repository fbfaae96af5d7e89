package netguard

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/natter-chat/natter/metrics"
)

// accepted serves a guarded loopback listener, handing over every
// connection it admits.
type accepted struct {
	l     *Listener
	conns chan net.Conn
}

func listenGuarded(t *testing.T, cfg Config) (*accepted, *Guard) {
	t.Helper()
	cfg.Log = slog.New(slog.DiscardHandler)
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &accepted{l: g.Listen(raw), conns: make(chan net.Conn, 100)}
	t.Cleanup(func() { a.l.Close() })
	go func() {
		for {
			c, err := a.l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			a.conns <- c
		}
	}()
	return a, g
}

// dialFrom connects from the loopback address src.
func (a *accepted) dialFrom(t *testing.T, src string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", a.l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// admitted waits for the server side of the next admitted connection.
func (a *accepted) admitted(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-a.conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("connection not admitted")
		return nil
	}
}

// refused expects the guard's 503 on c, then the end of the connection.
func refused(t *testing.T, c net.Conn, want int) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if want == 0 {
		var ne net.Error
		switch {
		case err == nil:
			t.Fatalf("got %s, want the connection closed", resp.Status)
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatal("connection left open, want it closed")
		}
		return
	}
	if err != nil {
		t.Fatalf("want %d, got %v", want, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want || resp.Header.Get("X-Content-Type-Options") != "nosniff" || len(body) == 0 {
		t.Fatalf("got %s %q %v", resp.Status, body, resp.Header)
	}
}

func TestListenerCaps(t *testing.T) {
	m := metrics.New()
	a, _ := listenGuarded(t, Config{MaxConns: 4, MaxConnsPerIP: 2, Metrics: m})

	// Two from 127.0.0.1, and the third is refused; 127.0.0.2 still gets in.
	a.dialFrom(t, "127.0.0.1")
	first := a.admitted(t)
	a.dialFrom(t, "127.0.0.1")
	a.admitted(t)
	refused(t, a.dialFrom(t, "127.0.0.1"), 503)
	a.dialFrom(t, "127.0.0.2")
	a.admitted(t)
	if n := testutil.ToFloat64(m.Refused.WithLabelValues(reasonPerIP)); n != 1 {
		t.Errorf("refused per ip = %v, want 1", n)
	}

	// Closing one frees its place (server side: the edge or net/http close).
	first.Close()
	a.dialFrom(t, "127.0.0.1")
	a.admitted(t)

	// Four open: the total is reached, for any address.
	a.dialFrom(t, "127.0.0.3")
	a.admitted(t)
	refused(t, a.dialFrom(t, "127.0.0.4"), 503)
	if n := testutil.ToFloat64(m.Refused.WithLabelValues(reasonTotal)); n != 1 {
		t.Errorf("refused total = %v, want 1", n)
	}
	if n := testutil.ToFloat64(m.OpenConns); n != 4 {
		t.Errorf("open = %v, want 4", n)
	}
}

func TestListenerLists(t *testing.T) {
	deny := filepath.Join(t.TempDir(), "deny")
	if err := os.WriteFile(deny, []byte("# nobody yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, g := listenGuarded(t, Config{Allow: "127.0.0.0/29, ::1", Deny: "@" + deny})
	a.dialFrom(t, "127.0.0.2")
	a.admitted(t)
	refused(t, a.dialFrom(t, "127.0.0.9"), 0) // not on the allow list: closed

	if err := os.WriteFile(deny, []byte("127.0.0.2 # this one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	refused(t, a.dialFrom(t, "127.0.0.2"), 0)
	a.dialFrom(t, "127.0.0.3")
	a.admitted(t)

	// A broken file keeps the lists in force.
	if err := os.WriteFile(deny, []byte("127.0.0.300\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); err == nil {
		t.Fatal("reload of a broken list succeeded")
	}
	refused(t, a.dialFrom(t, "127.0.0.2"), 0)
}

// A trusted proxy is not held to the per-IP cap; its clients are, at the
// upgrade, by the address it forwards.
func TestUpgradeCountsForwardedClient(t *testing.T) {
	trusted, _ := ParseCIDRs("127.0.0.2")
	a, g := listenGuarded(t, Config{MaxConnsPerIP: 1, TrustedProxies: trusted, Deny: "192.0.2.66"})
	for range 3 {
		a.dialFrom(t, "127.0.0.2")
		a.admitted(t)
	}
	proxy := netip.MustParseAddr("127.0.0.2")
	client := Forwarded{For: []string{"198.51.100.7"}}
	release, err := g.Upgrade(proxy, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Upgrade(proxy, client); !errors.Is(err, ErrTooMany) {
		t.Fatalf("second upgrade for one client: %v, want ErrTooMany", err)
	}
	if _, err := g.Upgrade(proxy, Forwarded{For: []string{"198.51.100.8"}}); err != nil {
		t.Fatalf("another client: %v", err)
	}
	if _, err := g.Upgrade(proxy, Forwarded{RealIP: "192.0.2.66"}); !errors.Is(err, ErrDenied) {
		t.Fatalf("denied client: %v", err)
	}
	release()
	release() // twice is once
	if _, err := g.Upgrade(proxy, client); err != nil {
		t.Fatalf("after release: %v", err)
	}
	// A direct client forging the header is judged by its own address.
	if _, err := g.Upgrade(netip.MustParseAddr("127.0.0.1"), Forwarded{For: []string{"192.0.2.66"}}); err != nil {
		t.Fatalf("forged header from an untrusted peer counted: %v", err)
	}
}

func TestMaxConnsFor(t *testing.T) {
	for n, want := range map[uint64]int{256: 192, 1024: 922, 20000: 18000, 100: 50, 1: 1, 1 << 40: 0} {
		if got := maxConnsFor(n); got != want {
			t.Errorf("maxConnsFor(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestEveryRateLimitsLogLines(t *testing.T) {
	e := every{period: time.Second}
	t0 := time.Unix(1000, 0)
	if n, ok := e.tick(t0); !ok || n != 1 {
		t.Fatalf("first: %d %v", n, ok)
	}
	for i := range 99 {
		if _, ok := e.tick(t0.Add(time.Duration(i) * time.Millisecond)); ok {
			t.Fatal("logged twice in a period")
		}
	}
	if n, ok := e.tick(t0.Add(time.Second)); !ok || n != 100 {
		t.Fatalf("after the period: %d %v, want 100 true", n, ok)
	}
}
