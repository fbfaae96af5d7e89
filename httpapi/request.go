package httpapi

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"

	"github.com/natter-chat/natter"
)

// ReadJSON decodes a JSON body of at most limit bytes into v. It insists on
// application/json: a cross-site HTML form cannot send that without a CORS
// preflight, which Natter's APIs never grant.
func ReadJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return natter.Errorf(natter.EINVALID, "send a JSON body with Content-Type: application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return natter.Errorf(natter.ETOOLARGE, "request body too large")
		}
		return natter.Errorf(natter.EINVALID, "malformed JSON body")
	}
	return nil
}
