package main

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/natter-chat/natter/edge/wsclient"
)

// rawServerFrame is a frame as a server writes it (unmasked).
func rawServerFrame(op ws.OpCode, fin bool, p []byte) []byte {
	return ws.MustCompileFrame(ws.NewFrame(op, fin, p))
}

func TestParseFrame(t *testing.T) {
	text := rawServerFrame(ws.OpText, true, []byte("hello"))
	long := rawServerFrame(ws.OpText, true, bytes.Repeat([]byte("x"), 300))
	masked, _ := clientFrame(ws.OpText, []byte("hello"))
	for _, tc := range []struct {
		name    string
		b       []byte
		n       int
		payload string
	}{
		{"text", text, len(text), "hello"},
		{"text and more", append(append([]byte(nil), text...), 0x81), len(text), "hello"},
		{"one byte", text[:1], 0, ""},
		{"no payload yet", text[:3], 0, ""},
		{"16-bit length", long, len(long), string(bytes.Repeat([]byte("x"), 300))},
		{"16-bit length, header cut", long[:3], 0, ""},
		{"masked", masked, -1, ""},
		{"fragment", rawServerFrame(ws.OpText, false, []byte("a")), -1, ""},
		{"continuation", rawServerFrame(ws.OpContinuation, true, []byte("a")), -1, ""},
	} {
		f, n := parseFrame(tc.b)
		if n != tc.n || string(f.payload) != tc.payload {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, n, f.payload, tc.n, tc.payload)
		}
	}
}

func TestConsumeAllocates0(t *testing.T) {
	var b []byte
	for i := range 20 {
		b = append(b, rawServerFrame(ws.OpText, true, []byte(`{"type":"msg","seq":`+strconv.Itoa(i)+`}`))...)
	}
	n := 0
	c := &wsConn{onText: func([]byte) { n++ }}
	allocs := testing.AllocsPerRun(100, func() {
		if rest, ok := c.consume(b); !ok || len(rest) != 0 {
			t.Fatalf("consume: ok %v, %d left", ok, len(rest))
		}
	})
	if allocs != 0 {
		t.Errorf("consume allocates %v times per call", allocs)
	}
}

// TestDetachHandOver streams numbered frames, some written in two halves,
// while the client is detached from wsclient and moved to an epoll loop:
// every frame must arrive once and in order, a ping must be answered, and
// a close frame must end the connection.
func TestDetachHandOver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const frames = 3000
	pong := make(chan []byte, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		if _, err := ws.Upgrade(conn); err != nil {
			return
		}
		for i := range frames {
			f := rawServerFrame(ws.OpText, true, []byte(strconv.Itoa(i)))
			if i%7 == 0 { // split: the client sees half a frame
				conn.Write(f[:1])
				time.Sleep(50 * time.Microsecond)
				f = f[1:]
			}
			if _, err := conn.Write(f); err != nil {
				return
			}
			if i%100 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		conn.Write(rawServerFrame(ws.OpPing, true, []byte("p1")))
		for {
			f, err := ws.ReadFrame(conn)
			if err != nil {
				return
			}
			if f.Header.OpCode == ws.OpPong {
				pong <- ws.UnmaskFrame(f).Payload
				break
			}
		}
		conn.Write(rawServerFrame(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
	}()

	var mu sync.Mutex
	var got []string
	record := func(b []byte) {
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wsclient.DialOptions(ctx, "ws://"+ln.Addr().String(), wsclient.Options{
		ReadBufferSize: 4096,
		OnText:         func(b []byte) bool { record(b); return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // detach mid-stream
	conn, rest, err := c.Detach()
	if err != nil {
		t.Fatal(err)
	}
	r, err := newEpollReader(2)
	if err != nil {
		t.Fatal(err)
	}
	defer r.stop()
	mu.Lock()
	t.Logf("before detach %d frames, %d bytes handed over", len(got), len(rest))
	mu.Unlock()
	sc, err := r.add(conn, rest, 0, record)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-pong:
		if string(p) != "p1" {
			t.Errorf("pong %q, want p1", p)
		}
	case <-ctx.Done():
		t.Fatal("no pong")
	}
	for !sc.ended.Load() {
		if ctx.Err() != nil {
			t.Fatal("the close frame did not end the connection")
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != frames {
		t.Fatalf("%d frames, want %d", len(got), frames)
	}
	for i, s := range got {
		if s != strconv.Itoa(i) {
			t.Fatalf("frame %d is %q", i, s)
		}
	}
}
