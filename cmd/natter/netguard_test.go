package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natter-chat/natter/edge/wsclient"
)

// rawConn is a keep-alive HTTP/1.1 connection under the test's control.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

// dialFrom opens a TCP connection to addr (host:port) from the loopback
// address src.
func dialFrom(t *testing.T, addr, src string) *rawConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, br: bufio.NewReader(c)}
}

// get sends one GET with the extra header lines and reads the answer:
// status and body, or the error that ended the connection instead.
func (c *rawConn) get(path string, header ...string) (int, string, error) {
	req := "GET " + path + " HTTP/1.1\r\nHost: natter\r\n"
	for _, h := range header {
		req += h + "\r\n"
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body), err
}

// closedByServer waits for the server to end c, within d; it returns how
// long that took, or fails the test.
func closedByServer(t *testing.T, c net.Conn, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(d))
	_, err := io.Copy(io.Discard, c) // a response, if any, then EOF
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", d)
	}
	return time.Since(start)
}

func hostPort(s *server) string { return strings.TrimPrefix(s.m.URL, "http://") }

// Finding 3: an idle keep-alive connection is closed after
// --http-idle-timeout (it used to stay open for ever).
func TestHTTPIdleKeepAliveIsClosed(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Net.IdleTimeout = 300 * time.Millisecond })
	c := dialFrom(t, hostPort(s), "127.0.0.1")
	if st, _, err := c.get("/healthz"); st != 200 {
		t.Fatalf("healthz: %d %v", st, err)
	}
	if took := closedByServer(t, c, 10*time.Second); took < 200*time.Millisecond {
		t.Fatalf("closed after %v, before the idle timeout", took)
	}
}

// Finding 3: a login body trickled a byte at a time is cut at
// --http-read-timeout (it used to be read for as long as the client liked).
func TestHTTPTrickledBodyIsCut(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Net.ReadTimeout = time.Second })
	c := dialFrom(t, hostPort(s), "127.0.0.1")
	body := `{"username":"alice","password":"a password that takes a while"}`
	head := fmt.Sprintf("POST /api/auth/login HTTP/1.1\r\nHost: natter\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(200 * time.Millisecond) // the whole body would take 13 s
		defer t.Stop()
		for i := 0; i < len(body); i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if _, err := c.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(8 * time.Second))
	resp, err := http.ReadResponse(c.br, nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("trickled login answered %s", resp.Status)
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("trickled body still being read after 8s")
	}
	closedByServer(t, c, 5*time.Second)
}

// The HTTP server's deadlines must not reach WebSockets: neither one
// upgraded through net/http on a reused keep-alive connection (hijacked),
// nor one upgraded straight off the socket.
func TestWebSocketsOutliveHTTPTimeouts(t *testing.T) {
	const short = 300 * time.Millisecond
	s := startServer(t, "", func(m *Main) {
		m.Net.ReadHeaderTimeout, m.Net.ReadTimeout, m.Net.WriteTimeout, m.Net.IdleTimeout = short, short, short, short
	})
	ctx := ctxFor(t, 30*time.Second)

	c := dialFrom(t, hostPort(s), "127.0.0.1")
	if st, _, err := c.get("/healthz"); st != 200 {
		t.Fatalf("healthz: %d %v", st, err)
	}
	u, _ := url.Parse(s.wsURL())
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br, _, err := ws.Dialer{}.Upgrade(struct {
		io.Reader
		io.Writer
	}{c.br, c.Conn}, u)
	if err != nil {
		t.Fatalf("upgrade on the keep-alive connection: %v", err)
	}
	var rd io.Reader = c.br
	if br != nil {
		rd = io.MultiReader(br, c.br)
	}
	rw := struct {
		io.Reader
		io.Writer
	}{rd, c.Conn}
	if err := wsutil.WriteClientText(c, fmt.Appendf(nil, `{"op":"auth","token":%q,"rid":1}`, s.token("hijacked"))); err != nil {
		t.Fatal(err)
	}
	if msg, err := wsutil.ReadServerText(rw); err != nil || !strings.Contains(string(msg), `"rid":1`) || strings.Contains(string(msg), `"error"`) {
		t.Fatalf("auth on the hijacked websocket: %q %v", msg, err)
	}
	_ = c.SetDeadline(time.Time{})
	direct := s.connect(ctx, "direct")

	// Several times every HTTP timeout: that is the property under test,
	// not a synchronisation.
	time.Sleep(5 * short)

	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := wsutil.WriteClientText(c, []byte(`{"op":"ping","rid":2}`)); err != nil {
		t.Fatalf("hijacked websocket: %v", err)
	}
	msg, err := wsutil.ReadServerText(rw)
	if err != nil || !strings.Contains(string(msg), `"pong"`) {
		t.Fatalf("hijacked websocket after the HTTP timeouts: %q %v", msg, err)
	}
	if _, err := direct.Request(ctx, map[string]any{"op": "ping"}); err != nil {
		t.Fatalf("zero-copy websocket after the HTTP timeouts: %v", err)
	}
}

// Finding 3: connections past --max-conns-per-ip from one address are
// refused with 503, over HTTP and WebSocket, while another address still
// gets in; a closed connection frees its place.
func TestPerIPConnectionCap(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Net.MaxConnsPerIP = 3 })
	ctx := ctxFor(t, 30*time.Second)
	var held []*rawConn
	for i := range 3 {
		c := dialFrom(t, hostPort(s), "127.0.0.1")
		if st, _, err := c.get("/healthz"); st != 200 {
			t.Fatalf("connection %d: %d %v", i, st, err)
		}
		held = append(held, c)
	}
	if st, body, _ := dialFrom(t, hostPort(s), "127.0.0.1").get("/healthz"); st != 503 || !strings.Contains(body, "unavailable") {
		t.Fatalf("4th connection from 127.0.0.1: %d %q, want 503", st, body)
	}
	if _, err := wsclient.Dial(ctx, s.wsURL()); err == nil {
		t.Fatal("WebSocket past the cap was upgraded")
	}
	other := dialFrom(t, hostPort(s), "127.0.0.2")
	if st, _, err := other.get("/healthz"); st != 200 {
		t.Fatalf("127.0.0.2: %d %v", st, err)
	}
	ws2, err := wsclient.DialOptions(ctx, s.wsURL(), wsclient.Options{LocalAddr: "127.0.0.2"})
	if err != nil {
		t.Fatalf("WebSocket from 127.0.0.2: %v", err)
	}
	defer ws2.Close()
	if n := metricVia(t, httpFrom(t, "127.0.0.2"), s.m.URL, `natter_connections_refused_total{reason="max_conns_per_ip"}`); n < 2 {
		t.Errorf("refused per ip = %v, want >= 2", n)
	}

	held[0].Close()
	waitFor(t, ctx, func() bool {
		st, _, _ := dialFrom(t, hostPort(s), "127.0.0.1").get("/healthz")
		return st == 200
	})
}

// httpFrom is an HTTP client whose connections come from src.
func httpFrom(t *testing.T, src string) *http.Client {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func status(t *testing.T, c *http.Client, method, u, body string, header ...string) int {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// --trusted-proxies: X-Forwarded-For and X-Real-IP name the client only
// when the peer is a trusted proxy, for the deny list and the per-IP cap at
// the WebSocket upgrade (account/limit_test.go shows the accounts' per-IP
// limits use it too); the proxy's own connections are not held to the
// per-IP cap.
func TestTrustedProxyForwardedFor(t *testing.T) {
	s := startServer(t, "", func(m *Main) {
		m.Net.TrustedProxies = "127.0.0.2/32"
		m.Net.DenyIPs = "203.0.113.7"
		m.Net.MaxConnsPerIP = 2
	})
	ctx := ctxFor(t, 60*time.Second)
	direct, proxy := httpFrom(t, "127.0.0.1"), httpFrom(t, "127.0.0.2")
	health := s.m.URL + "/healthz"
	for _, tc := range []struct {
		name   string
		c      *http.Client
		header []string
		want   int
	}{
		{"untrusted peer: X-Forwarded-For ignored", direct, []string{"X-Forwarded-For", "203.0.113.7"}, 200},
		{"untrusted peer: X-Real-IP ignored", direct, []string{"X-Real-IP", "203.0.113.7"}, 200},
		{"trusted proxy: forwarded client denied", proxy, []string{"X-Forwarded-For", "203.0.113.7"}, 403},
		{"trusted proxy: X-Real-IP", proxy, []string{"X-Real-IP", "203.0.113.7"}, 403},
		{"trusted proxy: a forged entry left of the client is no cover", proxy, []string{"X-Forwarded-For", "198.51.100.1, 203.0.113.7"}, 403},
		{"trusted proxy: the rightmost client counts", proxy, []string{"X-Forwarded-For", "203.0.113.7, 198.51.100.1"}, 200},
	} {
		if got := status(t, tc.c, "GET", health, "", tc.header...); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}

	// WebSockets through the proxy: two per forwarded client, whatever the
	// proxy's own count (four TCP connections, over the cap of two).
	dialAs := func(client string) error {
		c, err := wsclient.DialOptions(ctx, s.wsURL(), wsclient.Options{
			LocalAddr: "127.0.0.2", Header: http.Header{"X-Forwarded-For": {client}},
		})
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
		return err
	}
	for i := range 2 {
		if err := dialAs("198.51.100.9"); err != nil {
			t.Fatalf("websocket %d of 198.51.100.9: %v", i, err)
		}
	}
	var se ws.StatusError
	if err := dialAs("198.51.100.9"); !errors.As(err, &se) || int(se) != 503 {
		t.Fatalf("3rd websocket of 198.51.100.9: %v, want 503", err)
	}
	if err := dialAs("203.0.113.7"); !errors.As(err, &se) || int(se) != 403 {
		t.Fatalf("websocket of a denied client: %v, want 403", err)
	}
	for i := range 2 {
		if err := dialAs("198.51.100.10"); err != nil {
			t.Fatalf("websocket %d of 198.51.100.10: %v", i, err)
		}
	}

}

// Finding 8: every JSON API response and the web UI's files carry
// X-Content-Type-Options: nosniff.
func TestNosniffEverywhere(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 20*time.Second)
	for _, path := range []string{"/api/rooms", "/api/auth/config", "/api/public-rooms", "/", "/index.html", "/no-such-file"} {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.m.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s (%d, %s): X-Content-Type-Options %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), got)
		}
	}
}

// A client that stops reading its responses is cut at
// --http-write-timeout: pipelined requests for the web UI's largest file
// whose responses (10 MB) exceed what the sockets' buffers hold block the
// server's write, and the deadline ends it. Without it the server waited
// for the client for ever, with the connection and its goroutine held.
func TestHTTPWriteTimeoutCutsNonReader(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Net.WriteTimeout = 500 * time.Millisecond })
	// Enough pipelined responses to overflow Linux's largest send buffer
	// (4 MB) and our 64 KiB receive buffer, whatever the file's size.
	const file = "/natter.js"
	resp, err := http.Get(s.m.URL + file)
	if err != nil {
		t.Fatal(err)
	}
	size, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if size < 1<<10 {
		t.Fatalf("GET %s: %d bytes, too small to fill the buffers", file, size)
	}
	n := int((8<<20)/size) + 1
	c := dialFrom(t, hostPort(s), "127.0.0.1")
	if err := c.Conn.(*net.TCPConn).SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	go io.WriteString(c, strings.Repeat("GET "+file+" HTTP/1.1\r\nHost: natter\r\n\r\n", n))
	// Longer than the write timeout, while reading nothing: the property
	// under test, not a synchronisation.
	time.Sleep(2 * time.Second)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	got := 0
	for ; got < n; got++ {
		var resp *http.Response
		if resp, err = http.ReadResponse(c.br, nil); err != nil {
			break
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			break
		}
	}
	var ne net.Error
	if got == n || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%d of %d responses, then %v: want the connection cut", got, n, err)
	}
	t.Logf("%d of %d responses before the cut (%v)", got, n, err)
}
