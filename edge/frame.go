package edge

import (
	"bytes"

	"github.com/gobwas/ws"
)

// textFrame returns payload as one complete, unmasked server text frame.
// Server frames are identical for every recipient, so a room message is
// framed once and the same bytes are queued to every local socket.
func textFrame(payload []byte) []byte {
	h := ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(len(payload))}
	out := make([]byte, ws.HeaderSize(h)+len(payload))
	buf := bytes.NewBuffer(out[:0])
	_ = ws.WriteHeader(buf, h)
	buf.Write(payload)
	return buf.Bytes()
}

// controlFrame returns a complete close or pong frame.
func controlFrame(op ws.OpCode, payload []byte) []byte {
	return ws.MustCompileFrame(ws.NewFrame(op, true, payload))
}

func closeFrame(code ws.StatusCode, reason string) []byte {
	return controlFrame(ws.OpClose, ws.NewCloseFrameBody(code, reason))
}

// Close codes Natter uses beyond RFC 6455's. docs/PROTOCOL.md lists them all.
const (
	CloseGoingAway    = 1001                // server shutting down or draining
	CloseUnauthorized = ws.StatusCode(4001) // bad or expired token
	CloseAuthTimeout  = ws.StatusCode(4002) // no auth frame in time
	CloseAuthRequired = ws.StatusCode(4003) // an operation before auth
	CloseRateLimited  = ws.StatusCode(4008) // kept flooding after rate_limited errors
	CloseSlowConsumer = ws.StatusCode(4009) // outgoing queue full
	CloseIdle         = ws.StatusCode(4010) // nothing received within the idle timeout
	CloseTooManyConns = ws.StatusCode(4029) // the user has the most connections allowed on this server
)
