package history

import (
	"context"
	"net/http"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/httpapi"
)

type userKey struct{}

// userFrom returns the user authenticated by authenticate. Handlers behind
// that middleware can rely on it being valid.
func userFrom(ctx context.Context) natter.UserID {
	u, _ := ctx.Value(userKey{}).(natter.UserID)
	return u
}

// authenticate requires "Authorization: Bearer <token>" and puts the user it
// verifies into the request context. Every failure is the same 401 with a
// fixed message: why a token was rejected is of use to an attacker only.
func (h *handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := httpapi.Bearer(r.Header.Get("Authorization"))
		if !ok {
			httpapi.WriteError(w, r, h.log, natter.Errorf(natter.EUNAUTHORIZED, "missing bearer token"))
			return
		}
		claims, err := h.tokens.Verify(token)
		user := claims.User
		if err == nil {
			// A verifier bug must not let an empty or malformed user through.
			err = user.Validate()
		}
		if err != nil {
			httpapi.WriteError(w, r, h.log, natter.Errorf(natter.EUNAUTHORIZED, "invalid or expired token"))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
}
