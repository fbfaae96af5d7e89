package account

import (
	"encoding/json"
	"errors"
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

// retryAfter is the Retry-After value for a refused attempt: the time one
// token takes to come back, in whole seconds.
func retryAfter(l Limit) string {
	return strconv.Itoa(int((l.Every + time.Second - 1) / time.Second))
}
