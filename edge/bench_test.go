package edge

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/metrics"
)

// Micro-benchmarks of the hot paths: encoding a room message once, reading
// a client frame, and fanning one message out to many local sockets.
// Run with: go test -run '^$' -bench . -benchmem ./edge

var benchMsg = natter.Message{Room: "lobby", Seq: 123456, Prev: 123455, Epoch: "k3x9z", From: "alice",
	Text: "hello there, this is a chat message of about a hundred bytes, as in the benchmarks", ClientID: "c-42",
	Time: time.Unix(1764000000, 0).UTC()}

func BenchmarkEncodeMessage(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		fa := newFrameAt(benchMsg)
		_ = fa.frame(protoV2)
	}
}

// frameConn is a net.Conn that reads a recorded byte stream and discards
// writes: just enough socket for the frame reader and the writer.
type frameConn struct {
	net.Conn
	r *bytes.Reader
}

func (f *frameConn) Read(p []byte) (int, error)       { return f.r.Read(p) }
func (f *frameConn) Write(p []byte) (int, error)      { return len(p), nil }
func (f *frameConn) SetReadDeadline(time.Time) error  { return nil }
func (f *frameConn) SetWriteDeadline(time.Time) error { return nil }
func (f *frameConn) Close() error                     { return nil }

func BenchmarkReadClientFrame(b *testing.B) {
	payload := []byte(`{"op":"send","room":"lobby","cid":"c-42","text":"hello there, this is a chat message of about a hundred bytes","rid":7}`)
	var stream bytes.Buffer
	frame := ws.MaskFrameInPlace(ws.NewTextFrame(append([]byte(nil), payload...)))
	if err := ws.WriteFrame(&stream, frame); err != nil {
		b.Fatal(err)
	}
	e := &Edge{cfg: Config{MaxFrame: DefaultMaxFrame}, m: metrics.New()}
	fc := &frameConn{r: bytes.NewReader(stream.Bytes())}
	c := newConn(e, fc)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		fc.r.Reset(stream.Bytes())
		if _, err := c.readMessage(true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFanout fans messages out to N members on real loopback
// sockets (each drained by a reader), through the flusher, with and
// without write coalescing, and waits until every frame is written.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		for _, coalesce := range []time.Duration{0, DefaultCoalesce} {
			b.Run(fmt.Sprintf("members=%d/coalesce=%v", n, coalesce), func(b *testing.B) {
				e := testEdge(b, coalesce)
				e.cfg.QueueLen, e.cfg.PresenceLimit = 1<<20, DefaultPresenceLimit
				r := &room{id: "lobby", e: e, members: map[*conn]*member{}, cache: roomCache{limit: DefaultRoomCache}}
				for i := 0; i < n; i++ {
					c, client := loopbackConn(b, e)
					go io.Copy(io.Discard, client)
					r.members[c] = &member{c: c, room: r, live: true, last: benchMsg.Seq}
				}
				msg := benchMsg
				b.ReportAllocs()
				for b.Loop() {
					msg.Prev, msg.Seq = msg.Seq, msg.Seq+1
					r.Message(msg)
				}
				want := float64(n * b.N)
				for testutil.ToFloat64(e.m.FramesOut) < want {
					time.Sleep(time.Millisecond)
				}
				b.ReportMetric(want/b.Elapsed().Seconds(), "deliveries/s")
				b.ReportMetric(want/testutil.ToFloat64(e.m.Writes), "frames/write")
			})
		}
	}
}
