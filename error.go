package natter

import (
	"errors"
	"fmt"
)

// Error codes shared by the WebSocket protocol (error events) and the HTTP
// API (JSON error bodies). Clients branch on these; they never change meaning.
const (
	EINVALID      = "invalid"        // malformed request, bad id, missing field
	EUNAUTHORIZED = "unauthorized"   // no, bad or expired token
	EFORBIDDEN    = "forbidden"      // authenticated but not allowed (not a member, not the owner)
	ENOTFOUND     = "not_found"      // room or user does not exist
	ECONFLICT     = "conflict"       // e.g. registering a taken username, racing password changes
	ETOOLARGE     = "too_large"      // text or frame over the limit
	ERATELIMIT    = "rate_limited"   // per-connection or per-IP limit hit
	EUNAVAILABLE  = "unavailable"    // NATS/JetStream not reachable; retry later
	EINTERNAL     = "internal"       // a bug or an unexpected failure; details only in the server log
	EEPOCH        = "epoch_changed"  // the room's stream was recreated; positions from the old epoch are void
	EQUOTA        = "quota_exceeded" // a per-user or per-room quota is used up (rooms, members, connections)
	EBANNED       = "banned"         // banned from the room: cannot join or re-join it
	EMUTED        = "muted"          // muted in the room: may read, cannot send
	ESLOWMODE     = "slow_mode"      // the room's slow mode: wait before sending again
)

// Error is an error with a machine-readable code and a message safe to show
// to the user.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: the code of the first *Error in its
// chain, EINTERNAL for any other non-nil error, "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err. Internal errors are
// reduced to "internal error" so that details stay in the server log.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
