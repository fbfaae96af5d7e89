package client

import (
	"errors"
	"time"

	"github.com/natter-chat/natter/client/internal/wsconn"
)

// Error is an error event the server answered a request with. Code is
// one of PROTOCOL.md section 11 (invalid, unauthorized, forbidden, …);
// branch on it, not on Message.
type Error struct {
	Code, Message string
	Room, CID     string
	Wait          time.Duration // slow_mode: how long until a send is accepted
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ErrorCode returns the protocol error code of err, or "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// CloseError is how the server ended a connection: its close code and
// reason (PROTOCOL.md section 12), or Code 0 and Err when the connection
// was lost without one.
type CloseError = wsconn.CloseError

// HandshakeError is an HTTP answer other than 101 to the upgrade, e.g.
// 503 when the server is over its connection limits.
type HandshakeError = wsconn.HandshakeError

var (
	// ErrClosed is returned by calls on a client after Close.
	ErrClosed = errors.New("client: closed")
	// ErrConnectionLost is returned by a request that is not resent (all
	// but send, edit, delete, react and topic) when the connection it was
	// written to ended before its reply: its outcome is unknown.
	ErrConnectionLost = errors.New("client: connection lost before the reply")
)
