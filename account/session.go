package account

import (
	"net/http"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/auth"
	"github.com/natter-chat/natter/httpapi"
)

// logout serves POST /api/auth/logout: the token's session (the login it
// came from and every refresh of it) is revoked on every node. 204.
func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.bearer(w, r)
	if !ok {
		return
	}
	if err := h.cfg.Sessions.RevokeSession(r.Context(), claims.User, claims.Session); err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	h.log.Info("logged out", "user", claims.User)
	w.WriteHeader(http.StatusNoContent)
}

// logoutAll serves POST /api/auth/logout-all: every token of the user
// issued until now is revoked, this one included. 204.
func (h *handler) logoutAll(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.bearer(w, r)
	if !ok {
		return
	}
	if err := h.cfg.Sessions.RevokeUser(r.Context(), claims.User, time.Now(), ""); err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	h.log.Info("logged out everywhere", "user", claims.User)
	w.WriteHeader(http.StatusNoContent)
}

// errWrongCurrent answers a password change with a wrong current password:
// 403, not 401, since the token itself is fine.
var errWrongCurrent = natter.Errorf(natter.EFORBIDDEN, "the current password is wrong")

// passwordChange is the body of POST /api/auth/password.
type passwordChange struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// password serves POST /api/auth/password: with the current password, the
// account gets a new one, every token of the user issued until now is
// revoked (other browsers, and any stolen copy of this one's token), and
// the reply is a token in a new session for the caller.
//
// A wrong current password counts as a failed login (backoff per account
// and IP): a stolen token must not be a way to guess the password.
func (h *handler) password(w http.ResponseWriter, r *http.Request) {
	claims, ok := h.bearer(w, r)
	if !ok {
		return
	}
	var pc passwordChange
	if err := readJSON(w, r, &pc); err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	if err := checkPassword(pc.New); err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	acc, err := h.cfg.Store.Get(r.Context(), claims.User)
	if natter.ErrorCode(err) == natter.ENOTFOUND || (err == nil && (acc.User != claims.User || len(acc.Hash) == 0)) {
		httpapi.WriteError(w, r, h.log, natter.Errorf(natter.EFORBIDDEN, "this user has no password here"))
		return
	}
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	ip := clientIP(r)
	if !h.admit(w, r, ip, acc.User) {
		return
	}
	if !h.verifyPassword(w, r, ip, acc.User, acc.Hash, true, pc.Current, errWrongCurrent) {
		return
	}
	hash, err := h.hash(w, r, func() ([]byte, error) {
		return bcrypt.GenerateFromPassword([]byte(pc.New), h.cfg.Cost)
	})
	if err != nil {
		return
	}
	if err := h.cfg.Store.SetPassword(r.Context(), acc.User, acc.Hash, hash); err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	// The new session is exempt from the revocation, so the token issued
	// for it in this same second is not born revoked.
	sid := auth.NewSession()
	if err := h.cfg.Sessions.RevokeUser(r.Context(), acc.User, time.Now(), sid); err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	h.log.Info("password changed; other sessions ended", "user", acc.User, "ip", ip)
	h.issue(w, r, http.StatusOK, natter.Claims{User: acc.User, Session: sid})
}
