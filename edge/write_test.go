package edge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/natter-chat/natter/metrics"
)

// loopbackConn returns a conn of e over a real loopback TCP connection and
// the client's end of it.
func loopbackConn(t testing.TB, e *Edge) (*conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return newConn(e, server), client
}

func testEdge(t testing.TB, coalesce time.Duration) *Edge {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &Edge{cfg: Config{QueueLen: 1024, WriteTimeout: time.Second, Coalesce: coalesce}, m: metrics.New()}
	e.flush = newFlusher(ctx, coalesce)
	return e
}

// readFor reads whatever arrives within d.
func readFor(t *testing.T, nc net.Conn, d time.Duration) []byte {
	t.Helper()
	var out []byte
	buf := make([]byte, 64<<10)
	_ = nc.SetReadDeadline(time.Now().Add(d))
	for {
		n, err := nc.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			var ne net.Error
			if errors.Is(err, io.EOF) || (errors.As(err, &ne) && ne.Timeout()) {
				return out
			}
			t.Fatal(err)
		}
	}
}

// interval is the coalescing interval of the write tests: long, so that a
// loaded machine cannot blur it.
const interval = time.Second

func frame(i int) []byte { return textFrame([]byte{'a' + byte(i)}) }

// justWritten is a connection with coalescing whose first frame, frame(0),
// a quiet connection's, was written at once.
func justWritten(t *testing.T) (*Edge, *conn, net.Conn) {
	t.Helper()
	e := testEdge(t, interval)
	c, client := loopbackConn(t, e)
	c.enqueue(frame(0))
	if got := readFor(t, client, interval/4); !bytes.Equal(got, frame(0)) {
		t.Fatalf("first frame: got %q, want it at once", got)
	}
	return e, c, client
}

// A quiet connection's frame is written at once; frames that follow within
// the coalescing interval wait for it and go out in one write.
func TestCoalescedWrites(t *testing.T) {
	e, c, client := justWritten(t)
	// Nine more, spaced out, all within the interval since the first write.
	var want []byte
	for i := 1; i < 10; i++ {
		c.enqueue(frame(i))
		want = append(want, frame(i)...)
		time.Sleep(5 * time.Millisecond)
	}
	if got := readFor(t, client, interval/10); len(got) != 0 {
		t.Fatalf("frames arrived before the interval ended: %q", got)
	}
	if got := readFor(t, client, 2*interval); !bytes.Equal(got, want) {
		t.Fatalf("coalesced frames: got %q, want %q", got, want)
	}
	if writes := testutil.ToFloat64(e.m.Writes); writes != 2 {
		t.Fatalf("%v socket writes for 10 frames, want 2", writes)
	}
}

// Without coalescing every frame is written as soon as a worker takes it.
func TestUncoalescedWrites(t *testing.T) {
	e := testEdge(t, 0)
	c, client := loopbackConn(t, e)
	for i := 0; i < 5; i++ {
		f := textFrame([]byte{'a' + byte(i)})
		c.enqueue(f)
		if got := readFor(t, client, 200*time.Millisecond); !bytes.Equal(got, f) {
			t.Fatalf("frame %d: got %q", i, got)
		}
	}
}

// A frame the client waits for (enqueueNow: an ack, a reply, its own
// message) is not held for the coalescing interval: it goes out at once,
// with what was queued before it, in order; what follows it coalesces
// again.
func TestUrgentFramesSkipCoalescing(t *testing.T) {
	_, c, client := justWritten(t)
	c.enqueue(frame(1)) // waits for the interval...
	c.enqueueNow(frame(2))
	// ... until the urgent one takes it along, at once.
	want := append(frame(1), frame(2)...)
	if got := readFor(t, client, interval/4); !bytes.Equal(got, want) {
		t.Fatalf("after an urgent frame: got %q, want %q at once", got, want)
	}
	// Just written: a plain frame waits for the interval again, an urgent
	// one (on a quiet queue) does not.
	c.enqueue(frame(3))
	if got := readFor(t, client, interval/10); len(got) != 0 {
		t.Fatalf("plain frame right after a write arrived before the interval: %q", got)
	}
	if got := readFor(t, client, 2*interval); !bytes.Equal(got, frame(3)) {
		t.Fatalf("plain frame: got %q", got)
	}
	c.enqueueNow(frame(4))
	if got := readFor(t, client, interval/4); !bytes.Equal(got, frame(4)) {
		t.Fatalf("urgent frame right after a write: got %q, want it at once", got)
	}
	// The delayed entry that the urgent frame overtook finds nothing to
	// do, and nothing is written twice.
	if got := readFor(t, client, 2*interval); len(got) != 0 {
		t.Fatalf("written again: %q", got)
	}
}
