package account

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http/httptest"
	"testing"

	"github.com/natter-chat/natter"
)

// FuzzReadJSON decodes arbitrary register and login bodies with arbitrary
// content types, and checks what the handlers check next (username,
// password, the limiter key). It must never panic; it refuses only with
// invalid or too_large (the latter only for a body over maxBody); it
// accepts only application/json; and every body within the limit that
// json.Unmarshal takes, it takes too, with the same result.
func FuzzReadJSON(f *testing.F) {
	f.Add([]byte(`{"username":"alice","password":"correct horse battery"}`), "application/json")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		r := httptest.NewRequest("POST", "/api/auth/login", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		var c credentials
		err := readJSON(httptest.NewRecorder(), r, &c)
		mt, _, mtErr := mime.ParseMediaType(contentType)
		jsonType := mtErr == nil && mt == "application/json"
		var ref credentials
		plain := json.Unmarshal(body, &ref) == nil && len(body) <= maxBody
		switch code := natter.ErrorCode(err); {
		case err == nil:
			if !jsonType {
				t.Fatalf("accepted content type %q", contentType)
			}
		case code == natter.ETOOLARGE:
			if len(body) <= maxBody {
				t.Fatalf("a body of %d bytes is too large", len(body))
			}
			return
		case code != natter.EINVALID:
			t.Fatalf("error %v", err)
		}
		if jsonType && plain && (err != nil || c != ref) {
			t.Fatalf("readJSON = %+v, %v; json.Unmarshal = %+v", c, err, ref)
		}
		_ = c.Username.Validate()
		if err := checkPassword(c.Password); err != nil && natter.ErrorCode(err) != natter.EINVALID {
			t.Fatalf("checkPassword: %v", err)
		}
		if k := accountKey(c.Username); len(k) > natter.MaxIDLen+1 {
			t.Fatalf("limiter key of %d bytes", len(k))
		}
	})
}
