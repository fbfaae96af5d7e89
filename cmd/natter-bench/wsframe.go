package main

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// maxServerFrame bounds the length a server frame may declare: Natter's
// largest events (an 8,192-character text, JSON-escaped) are far smaller,
// and a corrupt length must not make the reader allocate gigabytes.
const maxServerFrame = 1 << 20

// serverFrame is one WebSocket frame as the server sends it: unmasked and
// never fragmented (docs/PROTOCOL.md §2).
type serverFrame struct {
	op      ws.OpCode
	payload []byte // points into the buffer it was parsed from
}

// parseFrame parses the frame at the start of b. It returns the frame and
// its length in b; 0 if b holds only part of it, -1 if it is not a frame
// the server sends (masked, fragmented, oversized). It does not allocate.
func parseFrame(b []byte) (serverFrame, int) {
	h, size, ok := frameHeader(b)
	if !ok {
		return serverFrame{}, 0
	}
	if b[0]&0x80 == 0 || b[1]&0x80 != 0 || size > maxServerFrame {
		return serverFrame{}, -1
	}
	op := ws.OpCode(b[0] & 0x0f)
	if op == ws.OpContinuation {
		return serverFrame{}, -1
	}
	n := h + int(size)
	if len(b) < n {
		return serverFrame{}, 0
	}
	return serverFrame{op: op, payload: b[h:n]}, n
}

// frameHeader returns the header length and the payload length of the
// frame at the start of b; ok is false until b holds the whole header.
func frameHeader(b []byte) (h int, size uint64, ok bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	h, size = 2, uint64(b[1]&0x7f)
	switch size {
	case 126:
		h = 4
	case 127:
		h = 10
	}
	if b[1]&0x80 != 0 {
		h += 4
	}
	if len(b) < h {
		return 0, 0, false
	}
	switch size {
	case 126:
		size = uint64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		size = binary.BigEndian.Uint64(b[2:10])
	}
	return h, size, true
}

// frameNeed returns how many bytes the frame starting in partial takes in
// all, or 0 if its header is not complete yet (a header always fits).
func frameNeed(partial []byte) int {
	h, size, ok := frameHeader(partial)
	if !ok || size > maxServerFrame {
		return 0
	}
	return h + int(size)
}

// clientFrame returns p as one complete, masked client frame (RFC 6455
// §5.3): what the bench writes itself once a socket has left wsclient.
func clientFrame(op ws.OpCode, p []byte) ([]byte, error) {
	return ws.CompileFrame(ws.MaskFrame(ws.NewFrame(op, true, p)))
}
