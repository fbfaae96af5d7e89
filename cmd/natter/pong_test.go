package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natter-chat/natter/edge/wsclient"
)

// hangingProxy forwards TCP connections to target. While paused it
// forwards nothing, in either direction, and keeps every connection open:
// to the client behind it, the server has hung (a SIGSTOPped NATS node).
type hangingProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	cond   *sync.Cond
	paused bool
	conns  []net.Conn
}

func newHangingProxy(t *testing.T, target string) *hangingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &hangingProxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *hangingProxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

func (p *hangingProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		for p.paused {
			p.cond.Wait()
		}
		p.mu.Unlock()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *hangingProxy) pause(paused bool) {
	p.mu.Lock()
	p.paused = paused
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *hangingProxy) close() {
	p.ln.Close()
	p.pause(false)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// serverFrame is one frame the server sent: a pong, or a text event.
type serverFrame struct {
	pong    []byte // a WebSocket pong's payload
	isPong  bool
	ev      wsclient.Event
	readErr error
}

// readServerFrames reads the frames of a detached client's socket.
func readServerFrames(r io.Reader, out chan<- serverFrame) {
	for {
		h, err := ws.ReadHeader(r)
		if err != nil {
			out <- serverFrame{readErr: err}
			return
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(r, p); err != nil {
			out <- serverFrame{readErr: err}
			return
		}
		switch h.OpCode {
		case ws.OpPong:
			out <- serverFrame{isPong: true, pong: p}
		case ws.OpText:
			var ev wsclient.Event
			if err := json.Unmarshal(p, &ev); err != nil {
				out <- serverFrame{readErr: err}
				return
			}
			if ev.Type != "presence" {
				out <- serverFrame{ev: ev}
			}
		}
	}
}

// Issue 10, finding 4: a join stuck on a hung NATS node must not hold the
// pongs of its connection (WebSocket and ping op), and the operations
// after it still run in order, after it.
func TestPongsDoNotWaitForSlowOps(t *testing.T) {
	s1 := startServer(t, "", func(m *Main) { m.NATSListen = "127.0.0.1:-1" })
	u, err := url.Parse(s1.m.embedded.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := newHangingProxy(t, u.Host)
	secret, err := os.ReadFile(filepath.Join(s1.dir, "jwt.secret"))
	if err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, "", func(m *Main) {
		m.Role = "edge"
		m.NATS = "nats://" + proxy.ln.Addr().String()
		m.JWTSecret = strings.TrimSpace(string(secret))
	})
	t.Cleanup(func() { proxy.pause(false) }) // before s2 stops, whatever failed
	ctx := ctxFor(t, 60*time.Second)

	c, err := wsclient.DialOptions(ctx, s2.wsURL(), wsclient.Options{ReadBufferSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Auth(ctx, s2.token("alice")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Join(ctx, "lobby", -1, ""); err != nil {
		t.Fatal(err)
	}
	nc, rest, err := c.Detach()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	frames := make(chan serverFrame, 64)
	go readServerFrames(io.MultiReader(bytes.NewReader(rest), nc), frames)

	text := func(p string) []byte {
		return rawFrame(ws.Header{Fin: true, OpCode: ws.OpText, Masked: true}, []byte(p))
	}
	proxy.pause(true)
	// The join needs the directory (NATS KV): it can end only when NATS
	// answers, or after the 10 s operation timeout. The leave after it
	// needs no store, but must wait its turn.
	if _, err := nc.Write(bytes.Join([][]byte{
		text(`{"op":"join","room":"elsewhere","rid":"j"}`),
		text(`{"op":"leave","room":"lobby","rid":"l"}`),
		text(`{"op":"ping","rid":"p"}`),
		rawFrame(ws.Header{Fin: true, OpCode: ws.OpPing, Masked: true}, []byte("hi")),
	}, nil)); err != nil {
		t.Fatal(err)
	}
	next := func(within time.Duration) serverFrame {
		t.Helper()
		select {
		case f := <-frames:
			if f.readErr != nil {
				t.Fatalf("reading: %v", f.readErr)
			}
			return f
		case <-time.After(within):
			t.Fatalf("nothing from the server within %v", within)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		return serverFrame{}
	}
	// Well inside the operation timeout, so that before the fix, when the
	// pongs came after the join's timeout error, this fails.
	deadline := time.Now().Add(8 * time.Second)
	var op, wsPong bool
	for !op || !wsPong {
		f := next(time.Until(deadline))
		switch {
		case f.isPong && string(f.pong) == "hi":
			wsPong = true
		case f.ev.Type == "pong" && string(f.ev.RID) == `"p"`:
			op = true
		default:
			t.Fatalf("got %+v before both pongs: the pongs waited for the join", f)
		}
	}
	proxy.pause(false)
	if f := next(30 * time.Second); string(f.ev.RID) != `"j"` || (f.ev.Type != "joined" && f.ev.Type != "error") {
		t.Fatalf("after the pongs: %+v, want the join's reply", f)
	}
	if f := next(30 * time.Second); f.ev.Type != "left" || string(f.ev.RID) != `"l"` {
		t.Fatalf("after the join's reply: %+v, want the leave's", f)
	}
}
