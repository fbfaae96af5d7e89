package history

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/natter-chat/natter"
)

// status maps an error code to its HTTP status. It is the only place that
// does: handlers return natter errors and never pick a status themselves.
func status(code string) int {
	switch code {
	case natter.EINVALID:
		return http.StatusBadRequest
	case natter.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case natter.EFORBIDDEN:
		return http.StatusForbidden
	case natter.ENOTFOUND:
		return http.StatusNotFound
	case natter.ECONFLICT:
		return http.StatusConflict
	case natter.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case natter.ERATELIMIT:
		return http.StatusTooManyRequests
	case natter.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorBody is the JSON shape of every error response:
// {"error":{"code":"...","message":"..."}}.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// fail writes err as a JSON error. Anything that maps to 500 (a plain error,
// or a code this API does not serve) is logged in full and shown only as
// "internal error", so that details of the server never reach a client.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var body errorBody
	body.Error.Code = natter.ErrorCode(err)
	body.Error.Message = natter.ErrorMessage(err)
	st := status(body.Error.Code)
	switch {
	case st == http.StatusInternalServerError:
		h.log.ErrorContext(r.Context(), "history api: internal error",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		body.Error.Code, body.Error.Message = natter.EINTERNAL, "internal error"
	case st >= 500:
		h.log.WarnContext(r.Context(), "history api: unavailable",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	case st == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	// errorBody always encodes; no need for writeJSON's buffering.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st)
	json.NewEncoder(w).Encode(body)
}
