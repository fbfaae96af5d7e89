package edge

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// frameMax is the message limit of the frame reader under test: small, so
// that the fuzzer reaches it.
const frameMax = 256

// clientFrame is one masked client frame carrying p.
func clientFrame(fin bool, op ws.OpCode, p []byte) []byte {
	return declaredFrame(fin, op, int64(len(p)), p)
}

// declaredFrame is a masked client frame whose header declares length,
// followed by p (which may be shorter: an attack on the length checks).
func declaredFrame(fin bool, op ws.OpCode, length int64, p []byte) []byte {
	h := ws.Header{Fin: fin, OpCode: op, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: length}
	var buf bytes.Buffer
	_ = ws.WriteHeader(&buf, h)
	masked := append([]byte(nil), p...)
	ws.Cipher(masked, h.Mask, 0)
	buf.Write(masked)
	return buf.Bytes()
}

// read is one result of frameReader.next.
type read struct {
	op   ws.OpCode
	p    string
	code ws.StatusCode // a protocolError's close code; 0: none
	err  error         // any other error
}

// readAll runs a frame reader over stream until it fails.
func readAll(stream []byte) []read {
	fr := frameReader{r: bytes.NewReader(stream), max: frameMax}
	var out []read
	for {
		op, p, err := fr.next()
		var pe *protocolError
		switch {
		case errors.As(err, &pe):
			return append(out, read{code: pe.code})
		case err != nil:
			return append(out, read{err: err})
		}
		out = append(out, read{op: op, p: string(p)})
	}
}

func TestFrameReader(t *testing.T) {
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	text := func(fin bool, p string) []byte { return clientFrame(fin, ws.OpText, []byte(p)) }
	cont := func(fin bool, p string) []byte { return clientFrame(fin, ws.OpContinuation, []byte(p)) }
	ping := clientFrame(true, ws.OpPing, []byte("hi"))
	eof := read{err: io.EOF}
	closed := func(code ws.StatusCode) read { return read{code: code} }
	full := strings.Repeat("a", frameMax)

	cases := []struct {
		name   string
		stream []byte
		want   []read
	}{
		{"one message", text(true, `{"op":"ping"}`), []read{{op: ws.OpText, p: `{"op":"ping"}`}, eof}},
		{"empty message", text(true, ""), []read{{op: ws.OpText}, eof}},
		{"message of exactly max", text(true, full), []read{{op: ws.OpText, p: full}, eof}},
		{"fragments", cat(text(false, "ab"), cont(false, ""), cont(true, "cd")), []read{{op: ws.OpText, p: "abcd"}, eof}},
		{"ping between fragments", cat(text(false, "ab"), ping, cont(true, "cd")),
			[]read{{op: ws.OpPing, p: "hi"}, {op: ws.OpText, p: "abcd"}, eof}},
		{"fragments of exactly max", cat(text(false, full[:100]), cont(true, full[100:])), []read{{op: ws.OpText, p: full}, eof}},
		{"pong and close", cat(clientFrame(true, ws.OpPong, nil), clientFrame(true, ws.OpClose, []byte{3, 232})),
			[]read{{op: ws.OpPong}, {op: ws.OpClose, p: "\x03\xe8"}, eof}},
		{"UTF-8 across fragments", cat(text(false, "\xe2\x82"), cont(true, "\xac")), []read{{op: ws.OpText, p: "€"}, eof}},

		// Issue 9, finding 1: the continuation's length overflowed the check
		// (len(msg)+Length) and went to make.
		{"continuation declaring 2^63-1", cat(text(false, "x"), declaredFrame(true, ws.OpContinuation, 1<<63-1, nil)),
			[]read{closed(ws.StatusMessageTooBig)}},
		{"continuation declaring 2^63-2", cat(text(false, "xy"), declaredFrame(false, ws.OpContinuation, 1<<63-2, nil)),
			[]read{closed(ws.StatusMessageTooBig)}},
		{"text declaring 2^63-1", declaredFrame(true, ws.OpText, 1<<63-1, nil), []read{closed(ws.StatusMessageTooBig)}},
		{"length MSB set", []byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, []read{closed(ws.StatusProtocolError)}},
		{"one over max", text(true, full+"a"), []read{closed(ws.StatusMessageTooBig)}},
		{"fragments over max", cat(text(false, full), cont(true, "a")), []read{closed(ws.StatusMessageTooBig)}},
		{"declared within max, never sent", declaredFrame(true, ws.OpText, frameMax, []byte("ab")), []read{{err: io.ErrUnexpectedEOF}}},

		{"unmasked", []byte{0x81, 0x01, 'a'}, []read{closed(ws.StatusProtocolError)}},
		{"RSV1", append([]byte{0xc1}, text(true, "a")[1:]...), []read{closed(ws.StatusProtocolError)}},
		{"binary", clientFrame(true, ws.OpBinary, []byte("a")), []read{closed(ws.StatusUnsupportedData)}},
		{"binary in a fragmented message", cat(text(false, "a"), clientFrame(true, ws.OpBinary, []byte("b"))), []read{closed(ws.StatusProtocolError)}},
		{"text in a fragmented message", cat(text(false, "a"), text(true, "b")), []read{closed(ws.StatusProtocolError)}},
		{"continuation without start", cont(true, "a"), []read{closed(ws.StatusProtocolError)}},
		{"fragmented ping", clientFrame(false, ws.OpPing, nil), []read{closed(ws.StatusProtocolError)}},
		{"ping over 125 bytes", clientFrame(true, ws.OpPing, make([]byte, 126)), []read{closed(ws.StatusProtocolError)}},
		{"invalid UTF-8", text(true, "\xff"), []read{closed(ws.StatusInvalidFramePayloadData)}},
		{"truncated header", text(true, "ab")[:1], []read{{err: io.ErrUnexpectedEOF}}},
	}
	for op := ws.OpCode(0x3); op <= 0xf; op++ {
		if op == ws.OpClose || op == ws.OpPing || op == ws.OpPong {
			continue
		}
		cases = append(cases, struct {
			name   string
			stream []byte
			want   []read
		}{"reserved opcode " + string("0123456789ABCDEF"[op]), clientFrame(true, op, nil), []read{closed(ws.StatusProtocolError)}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := readAll(tc.stream)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.op != w.op || g.p != w.p || g.code != w.code || !errors.Is(g.err, w.err) || (g.err == nil) != (w.err == nil) {
					t.Errorf("result %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// A declared length costs memory only as the payload arrives: a header
// promising a MiB with two bytes behind it must not make us allocate a MiB.
func TestFrameReaderAllocatesAsBytesArrive(t *testing.T) {
	stream := declaredFrame(true, ws.OpText, 1<<20, []byte("ab"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fr := frameReader{r: bytes.NewReader(stream), max: 1 << 20}
	if _, _, err := fr.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want unexpected EOF", err)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 4*prealloc {
		t.Errorf("allocated %d bytes for 2 bytes of payload", n)
	}
}

// FuzzReadMessage feeds arbitrary bytes to the frame reader: it must never
// panic, never return a message over its limit or that is not UTF-8, never
// a control payload over 125 bytes, and fail only with a protocolError or
// the reader's own error.
func FuzzReadMessage(f *testing.F) {
	f.Add(clientFrame(true, ws.OpText, []byte(`{"op":"ping","rid":7}`)))
	f.Fuzz(func(t *testing.T, stream []byte) {
		fr := frameReader{r: bytes.NewReader(stream), max: frameMax}
		for {
			op, p, err := fr.next()
			if err != nil {
				var pe *protocolError
				if !errors.As(err, &pe) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error %T %v", err, err)
				}
				return
			}
			switch op {
			case ws.OpText:
				if len(p) > frameMax || !utf8.Valid(p) || p == nil {
					t.Fatalf("message of %d bytes (valid UTF-8: %v, nil: %v)", len(p), utf8.Valid(p), p == nil)
				}
			case ws.OpPing, ws.OpPong, ws.OpClose:
				if len(p) > 125 {
					t.Fatalf("control frame %v of %d bytes", op, len(p))
				}
			default:
				t.Fatalf("returned op %v", op)
			}
		}
	})
}

// Messages split into random fragments, with random masks and control
// frames between the fragments, come out whole and unmasked, with the
// control frames in their places.
func TestFrameReaderReassembles(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 500 {
		msg := make([]byte, rng.IntN(frameMax+1))
		for i := range msg {
			msg[i] = byte('a' + rng.IntN(26))
		}
		var stream bytes.Buffer
		var want []read
		for start, first := 0, true; first || start < len(msg); first = false {
			end := start + rng.IntN(len(msg)-start+1)
			op := ws.OpContinuation
			if first {
				op = ws.OpText
			}
			h := ws.Header{Fin: end == len(msg), OpCode: op, Masked: true, Length: int64(end - start)}
			binary.LittleEndian.PutUint32(h.Mask[:], rng.Uint32())
			p := append([]byte(nil), msg[start:end]...)
			ws.Cipher(p, h.Mask, 0)
			_ = ws.WriteHeader(&stream, h)
			stream.Write(p)
			if !h.Fin && rng.IntN(3) == 0 {
				stream.Write(clientFrame(true, ws.OpPing, []byte("p")))
				want = append(want, read{op: ws.OpPing, p: "p"})
			}
			start = end
		}
		want = append(want, read{op: ws.OpText, p: string(msg)}, read{err: io.EOF})
		got := readAll(stream.Bytes())
		if len(got) != len(want) {
			t.Fatalf("message of %d bytes: got %d results, want %d", len(msg), len(got), len(want))
		}
		for i := range want {
			if got[i].op != want[i].op || got[i].p != want[i].p || got[i].code != 0 || !errors.Is(got[i].err, want[i].err) {
				t.Fatalf("message of %d bytes, result %d: got %+v, want %+v", len(msg), i, got[i], want[i])
			}
		}
	}
}
