package edge

import (
	"errors"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// frameReader turns the bytes a client sends into control frames and
// complete text messages, enforcing RFC 6455's framing rules and our size
// limit. It touches nothing but r (no socket, no deadline), so the same
// code serves connections and the fuzz tests.
//
// Every length it acts on is checked first against what the message may
// still take (max minus what it holds), a subtraction that cannot
// overflow, and no buffer is sized from a length the client declared
// beyond prealloc: a header promising 64 KiB costs memory only as the
// bytes arrive.
type frameReader struct {
	r   io.Reader
	max int64 // the largest message, all fragments together

	// onHeader, if set, runs after each frame header is read: the
	// connection's sign of life and the start of its frame deadline.
	onHeader func()

	hdr [ws.MaxHeaderSize - 2]byte // ws.ReadHeaderBuffer's scratch space
	msg []byte                     // the fragments of a message begun
	in  bool                       // a fragmented message has begun
}

// prealloc is the most a declared payload length makes us allocate before
// the payload arrives; beyond it the buffer grows with the data.
const prealloc = 8 << 10

// next returns the next frame that needs an answer or a message: op is
// ws.OpText for a complete, valid UTF-8 message (never nil, possibly
// empty), or ws.OpPing, ws.OpPong or ws.OpClose with the control frame's
// unmasked payload. Control frames may come between a message's fragments
// (see inMessage). A broken frame is a *protocolError; anything else is the
// reader's error. After an error the reader must not be used again.
func (fr *frameReader) next() (ws.OpCode, []byte, error) {
	for {
		h, err := ws.ReadHeaderBuffer(fr.r, fr.hdr[:])
		if errors.Is(err, ws.ErrHeaderLengthMSB) || errors.Is(err, ws.ErrHeaderLengthUnexpected) {
			return 0, nil, &protocolError{ws.StatusProtocolError, "malformed frame header"}
		}
		if err != nil {
			return 0, nil, err
		}
		if fr.onHeader != nil {
			fr.onHeader()
		}
		if err := fr.check(h); err != nil {
			return 0, nil, err
		}
		if h.OpCode.IsControl() {
			p, err := fr.payload(nil, h)
			return h.OpCode, p, err
		}
		if fr.msg, err = fr.payload(fr.msg, h); err != nil {
			return 0, nil, err
		}
		if !h.Fin {
			fr.in = true
			continue
		}
		msg := fr.msg
		fr.msg, fr.in = nil, false
		if !utf8.Valid(msg) {
			return 0, nil, &protocolError{ws.StatusInvalidFramePayloadData, "invalid UTF-8"}
		}
		if msg == nil {
			msg = []byte{} // an empty message is a message
		}
		return ws.OpText, msg, nil
	}
}

// inMessage reports whether a fragmented message has begun and not ended.
func (fr *frameReader) inMessage() bool { return fr.in }

// check applies the framing rules to h, in the order of the close codes'
// precedence: a frame that is wrong in several ways gets the first.
func (fr *frameReader) check(h ws.Header) error {
	switch {
	case !h.Masked:
		return &protocolError{ws.StatusProtocolError, "client frames must be masked"}
	case h.Rsv != 0:
		return &protocolError{ws.StatusProtocolError, "no extension negotiated"}
	case h.Length < 0: // ReadHeader rules it out; a guard for the arithmetic below
		return &protocolError{ws.StatusProtocolError, "malformed frame header"}
	}
	switch h.OpCode {
	case ws.OpPing, ws.OpPong, ws.OpClose:
		if h.Length > 125 || !h.Fin {
			return &protocolError{ws.StatusProtocolError, "bad control frame"}
		}
		return nil
	case ws.OpText, ws.OpBinary:
		if fr.in {
			return &protocolError{ws.StatusProtocolError, "bad fragmentation"}
		}
	case ws.OpContinuation:
		if !fr.in {
			return &protocolError{ws.StatusProtocolError, "bad fragmentation"}
		}
	default: // 0x3-0x7 and 0xB-0xF
		return &protocolError{ws.StatusProtocolError, "reserved opcode"}
	}
	if h.OpCode == ws.OpBinary {
		return &protocolError{ws.StatusUnsupportedData, "binary frames are not supported"}
	}
	if h.Length > fr.max-int64(len(fr.msg)) {
		return &protocolError{ws.StatusMessageTooBig, "frame too large"}
	}
	return nil
}

// payload appends h's payload, unmasked, to buf. Its length has been
// checked, but is still the client's word: the buffer grows by at most
// prealloc ahead of the bytes that have come (append's doubling on top).
func (fr *frameReader) payload(buf []byte, h ws.Header) ([]byte, error) {
	start := len(buf)
	for left := h.Length; left > 0; {
		n := int(min(left, prealloc))
		buf = slices.Grow(buf, n)
		end := len(buf) + n
		if _, err := io.ReadFull(fr.r, buf[len(buf):end]); err != nil {
			return nil, err
		}
		buf = buf[:end]
		left -= int64(n)
	}
	ws.Cipher(buf[start:], h.Mask, 0)
	return buf, nil
}
