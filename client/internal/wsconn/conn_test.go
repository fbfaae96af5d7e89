package wsconn

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
)

// serverFrame is an unmasked frame as a server sends it.
func serverFrame(fin bool, op byte, payload []byte) []byte {
	b := appendFrame(nil, op, payload)
	// appendFrame masks (client side): unmask for the server's form.
	hdr := 2
	switch b[1] & 0x7f {
	case 126:
		hdr += 2
	case 127:
		hdr += 8
	}
	out := append([]byte(nil), b[:hdr]...)
	out[1] &^= 0x80
	if !fin {
		out[0] &^= 0x80
	}
	return append(out, payload...)
}

func TestReadMessage(t *testing.T) {
	var pongs [][]byte
	pong := func(p []byte) error { pongs = append(pongs, p); return nil }
	in := bytes.Join([][]byte{
		serverFrame(false, opText, []byte(`{"a":`)),
		serverFrame(true, opPing, []byte("x")),
		serverFrame(true, opContinuation, []byte(`1}`)),
		serverFrame(true, opText, bytes.Repeat([]byte("y"), 70000)),
		serverFrame(true, opClose, append([]byte{0x0f, 0xa1}, "token expired"...)),
	}, nil)
	r := bufio.NewReader(bytes.NewReader(in))
	m, err := readMessage(r, 1<<20, pong)
	if err != nil || string(m) != `{"a":1}` || len(pongs) != 1 {
		t.Fatalf("got %q %v pongs %d", m, err, len(pongs))
	}
	if m, err = readMessage(r, 1<<20, pong); err != nil || len(m) != 70000 {
		t.Fatalf("long: %d %v", len(m), err)
	}
	_, err = readMessage(r, 1<<20, pong)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "token expired" {
		t.Fatalf("close: %v", err)
	}
}

func TestReadMessageRefuses(t *testing.T) {
	for name, in := range map[string][]byte{
		"too big":         serverFrame(true, opText, make([]byte, 200)),
		"binary":          serverFrame(true, opBinary, []byte("x")),
		"lone continue":   serverFrame(true, opContinuation, []byte("x")),
		"long control":    serverFrame(true, opPing, make([]byte, 126)),
		"reserved opcode": serverFrame(true, 0x3, nil),
		"huge length":     {0x81, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		_, err := readMessage(bufio.NewReader(bytes.NewReader(in)), 100, func([]byte) error { return nil })
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzReadMessage: no server bytes crash the reader or make it allocate
// past its limit.
func FuzzReadMessage(f *testing.F) {
	f.Add(serverFrame(true, opText, []byte(`{"type":"pong"}`)))
	f.Add(append(serverFrame(false, opText, []byte("a")), serverFrame(true, opContinuation, []byte("b"))...))
	f.Add(serverFrame(true, opClose, []byte{0x03, 0xe9}))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		for range 8 {
			m, err := readMessage(r, 1024, func([]byte) error { return nil })
			if err != nil {
				return
			}
			if len(m) > 1024 {
				t.Fatalf("message of %d bytes past the limit", len(m))
			}
		}
	})
}
