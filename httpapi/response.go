package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/natter-chat/natter"
)

// Status maps an error code to its HTTP status. It is the only place that
// does: handlers of both APIs return natter errors and never pick a status
// themselves. Every code of the root package has an entry; anything else
// (a plain error, a code added without one) is a 500.
func Status(code string) int {
	switch code {
	case natter.EINVALID:
		return http.StatusBadRequest
	case natter.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case natter.EFORBIDDEN, natter.EBANNED, natter.EMUTED:
		return http.StatusForbidden
	case natter.ENOTFOUND:
		return http.StatusNotFound
	case natter.ECONFLICT, natter.EEPOCH:
		// A position from an old epoch conflicts with the stream as it is
		// now; the client must start over, not retry.
		return http.StatusConflict
	case natter.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case natter.ERATELIMIT, natter.EQUOTA, natter.ESLOWMODE:
		return http.StatusTooManyRequests
	case natter.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// ErrorBody is the JSON shape of every error response of both APIs:
// {"error":{"code":"...","message":"..."}}.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// WriteError writes err as a JSON error with the status of its code.
// Anything that maps to 500 is logged in full and shown only as "internal
// error", so that details of the server never reach a client; a 503 is
// logged as a warning, since it says a dependency is down. A nil log
// discards.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var body ErrorBody
	body.Error.Code = natter.ErrorCode(err)
	body.Error.Message = natter.ErrorMessage(err)
	st := Status(body.Error.Code)
	switch {
	case st == http.StatusInternalServerError:
		log.ErrorContext(r.Context(), "http api: internal error",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		body.Error.Code, body.Error.Message = natter.EINTERNAL, "internal error"
	case st >= 500:
		log.WarnContext(r.Context(), "http api: unavailable",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	case st == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	// ErrorBody always encodes; no need for WriteJSON's buffering.
	setJSON(w.Header())
	w.WriteHeader(st)
	json.NewEncoder(w).Encode(body)
}

// WriteJSON encodes v before writing the header, so that an encoding failure
// can still become a 500 (through WriteError) instead of a truncated 200.
func WriteJSON(w http.ResponseWriter, r *http.Request, log *slog.Logger, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		WriteError(w, r, log, err)
		return
	}
	setJSON(w.Header())
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// setJSON marks a response as JSON, and as nothing else: nosniff keeps a
// browser from reading a body that echoes client text as HTML or script.
func setJSON(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
}
