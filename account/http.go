package account

import (
	"net/http"
	"strconv"
	"time"

	"github.com/natter-chat/natter/httpapi"
)

// maxBody bounds a register or login body: a username and a password.
const maxBody = 4 << 10

// readJSON decodes a JSON body into v (see httpapi.ReadJSON).
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return httpapi.ReadJSON(w, r, maxBody, v)
}

// retryAfter is the Retry-After value for a refused attempt: the time one
// token takes to come back, in whole seconds.
func retryAfter(l Limit) string {
	return strconv.Itoa(int((l.Every + time.Second - 1) / time.Second))
}
