package account

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/natter-chat/natter"
)

// maxBody bounds a register or login body: a username and a password.
const maxBody = 4 << 10

// readJSON decodes a JSON body into v. It insists on application/json: a
// cross-site HTML form cannot send that without a CORS preflight, which
// this API never grants.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return natter.Errorf(natter.EINVALID, "send a JSON body with Content-Type: application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return natter.Errorf(natter.ETOOLARGE, "request body too large")
		}
		return natter.Errorf(natter.EINVALID, "malformed JSON body")
	}
	return nil
}

func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// statusOf maps the error codes this API produces to HTTP statuses, as the
// history API does for the same codes.
var statusOf = map[string]int{
	natter.EINVALID:      http.StatusBadRequest,
	natter.EUNAUTHORIZED: http.StatusUnauthorized,
	natter.ENOTFOUND:     http.StatusNotFound,
	natter.ECONFLICT:     http.StatusConflict,
	natter.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	natter.ERATELIMIT:    http.StatusTooManyRequests,
	natter.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// fail writes err as {"error":{"code","message"}}, the body every Natter
// HTTP error has. Internal errors are logged and shown as "internal error".
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := natter.ErrorCode(err), natter.ErrorMessage(err)
	st, ok := statusOf[code]
	if !ok {
		h.log.ErrorContext(r.Context(), "auth api: internal error", slog.String("path", r.URL.Path), slog.Any("err", err))
		st, code, msg = http.StatusInternalServerError, natter.EINTERNAL, "internal error"
	}
	if st == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// retryAfter is the Retry-After value for a refused attempt: the time one
// token takes to come back, in whole seconds.
func retryAfter(l Limit) string {
	return strconv.Itoa(int((l.Every + time.Second - 1) / time.Second))
}
