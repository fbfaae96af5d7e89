package account

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
	"github.com/natter-chat/natter/oidc"
)

// OIDC logs people in with an OpenID provider; *oidc.Provider implements it.
type OIDC interface {
	Start(ctx context.Context) (oidc.Login, error)
	Finish(ctx context.Context, code, verifier, nonce string) (oidc.Identity, error)
	Claim() string
}

// Paths of the OpenID login. The callback is what --oidc-redirect-url
// must point at.
const (
	OIDCLoginPath    = "/api/auth/oidc/login"
	OIDCCallbackPath = "/api/auth/oidc/callback"
)

const (
	// loginCookie keeps a login in progress in the browser that started
	// it: only that browser can finish it (state), and only with the
	// code verifier that never left it unhashed (PKCE).
	loginCookie = "natter_oidc"
	// loginLifetime is how long a person may take at the provider.
	loginLifetime = 10 * time.Minute
	// maxLoginCookie bounds what we decode; ours are about 250 bytes.
	maxLoginCookie = 1 << 10
)

// pendingLogin is the cookie's content.
type pendingLogin struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Nonce    string `json:"n"`
	Return   string `json:"r"` // path of the UI to come back to
	Expires  int64  `json:"e"` // unix seconds
}

func encodeLogin(p pendingLogin) string {
	b, _ := json.Marshal(p) // strings and an int: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeLogin reads a cookie value; ok is false for anything we did not
// write or that has expired.
func decodeLogin(v string, now time.Time) (pendingLogin, bool) {
	if len(v) > maxLoginCookie {
		return pendingLogin{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return pendingLogin{}, false
	}
	var p pendingLogin
	if json.Unmarshal(b, &p) != nil || p.State == "" || p.Verifier == "" || p.Nonce == "" ||
		p.Return != returnPath(p.Return) || now.Unix() >= p.Expires {
		return pendingLogin{}, false
	}
	return p, true
}

// returnPath is the path of return_to if it is a plain path on this
// server, else "/": the token goes into the fragment of the URL we send
// the browser to, so that URL must never be another site's (an open
// redirect would hand the token over).
func returnPath(returnTo string) string {
	u, err := url.Parse(returnTo)
	if err != nil || len(u.Path) > 256 || len(u.Path) == 0 || u.Path[0] != '/' {
		return "/"
	}
	for i := 0; i < len(u.Path); i++ {
		c := u.Path[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '/', c == '-', c == '_', c == '.':
		default:
			return "/"
		}
	}
	if len(u.Path) > 1 && u.Path[1] == '/' { // //host is another site
		return "/"
	}
	return u.Path
}

// oidcLogin serves GET /api/auth/oidc/login?return_to=…: it remembers a
// new login in a cookie and sends the browser to the provider.
func (h *handler) oidcLogin(w http.ResponseWriter, r *http.Request) {
	if !h.loginIP.allow(clientIP(r), h.cfg.Now()) {
		h.refused.note("login_ip", clientIP(r))
		w.Header().Set("Retry-After", retryAfter(h.cfg.LoginPerIP))
		loginPage(w, http.StatusTooManyRequests, "Too many login attempts from here; try again in a minute.")
		return
	}
	l, err := h.cfg.OIDC.Start(r.Context())
	if err != nil {
		h.log.Warn("OpenID login: provider unavailable", "err", err)
		loginPage(w, http.StatusServiceUnavailable, "The identity provider cannot be reached; try again later.")
		return
	}
	p := pendingLogin{State: l.State, Verifier: l.Verifier, Nonce: l.Nonce,
		Return: returnPath(r.URL.Query().Get("return_to")), Expires: h.cfg.Now().Add(loginLifetime).Unix()}
	http.SetCookie(w, h.loginCookie(r, encodeLogin(p), int(loginLifetime/time.Second)))
	http.Redirect(w, r, l.URL, http.StatusFound)
}

// loginCookie is the cookie of a login in progress: sent only back to the
// callback, never readable by scripts, and sent on the provider's
// redirect back to us (a top-level GET, which SameSite=Lax allows).
func (h *handler) loginCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: loginCookie, Value: value, Path: OIDCCallbackPath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.cfg.OIDCSecureCookie || r.TLS != nil,
	}
}

// oidcCallback serves GET /api/auth/oidc/callback: the provider sends the
// browser back with a code, which we trade for the person's identity; the
// browser then goes back to the UI with a Natter token in the fragment
// (#token=…, as from an external login page: docs/WEB-UI.md).
func (h *handler) oidcCallback(w http.ResponseWriter, r *http.Request) {
	ip := clientIP(r)
	now := h.cfg.Now()
	if !h.loginIP.allow(ip, now) {
		h.refused.note("login_ip", ip)
		w.Header().Set("Retry-After", retryAfter(h.cfg.LoginPerIP))
		loginPage(w, http.StatusTooManyRequests, "Too many login attempts from here; try again in a minute.")
		return
	}
	// Whatever happens, this login is over.
	http.SetCookie(w, h.loginCookie(r, "", -1))
	var p pendingLogin
	ok := false
	if c, err := r.Cookie(loginCookie); err == nil {
		p, ok = decodeLogin(c.Value, now)
	}
	q := r.URL.Query()
	if ok && subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(p.State)) != 1 {
		ok = false
	}
	if !ok {
		loginPage(w, http.StatusBadRequest, "This login has expired or was started in another browser. Start again from the login page.")
		return
	}
	if e := q.Get("error"); e != "" {
		msg := q.Get("error_description")
		if msg == "" {
			msg = e
		}
		loginPage(w, http.StatusUnauthorized, "The identity provider did not log you in: "+truncate(msg, 200))
		return
	}
	id, err := h.cfg.OIDC.Finish(r.Context(), q.Get("code"), p.Verifier, p.Nonce)
	if err != nil {
		h.log.Warn("OpenID login failed", "ip", ip, "err", err)
		loginPage(w, http.StatusBadGateway, "The identity provider's answer could not be verified. Start again from the login page.")
		return
	}
	user := natter.UserID(id.Value)
	if user.Validate() != nil {
		h.log.Info("OpenID login refused: claim is not a user id", "claim", h.cfg.OIDC.Claim(), "value", truncate(id.Value, 80), "subject", id.Subject)
		loginPage(w, http.StatusForbidden, fmt.Sprintf("Your %s, %q, is not a valid user id here (1 to 64 letters, digits, _ or -). Ask the administrator.", h.cfg.OIDC.Claim(), truncate(id.Value, 80)))
		return
	}
	acc, err := h.link(r.Context(), user, id)
	if err != nil {
		if natter.ErrorCode(err) == natter.EFORBIDDEN {
			h.log.Info("OpenID login refused", "user", user, "subject", id.Subject, "err", err)
			loginPage(w, http.StatusForbidden, natter.ErrorMessage(err))
			return
		}
		h.log.Warn("OpenID login: account store", "err", err)
		loginPage(w, http.StatusServiceUnavailable, "Logging in is not possible right now; try again later.")
		return
	}
	token, _, err := h.mint(r.Context(), natter.Claims{User: acc.User})
	if err != nil {
		h.log.Warn("OpenID login: token", "err", err)
		loginPage(w, http.StatusServiceUnavailable, "Logging in is not possible right now; try again later.")
		return
	}
	h.log.Info("logged in with OpenID", "user", acc.User, "issuer", id.Issuer, "subject", id.Subject, "ip", ip)
	http.Redirect(w, r, p.Return+"#token="+token, http.StatusSeeOther)
}

// link returns the account of user for identity id, creating it on the
// first login. A user id is owned by whoever took it first: a password
// account, or one identity of the provider. Neither can take over the
// other's, so that a person who registered "ann" with a password cannot
// be logged into by the provider's "ann", nor the other way round.
func (h *handler) link(ctx context.Context, user natter.UserID, id oidc.Identity) (broker.Account, error) {
	owner := id.Issuer + " " + id.Subject
	for range 2 {
		acc, err := h.cfg.Store.Get(ctx, user)
		switch {
		case err == nil && len(acc.Hash) > 0:
			return broker.Account{}, natter.Errorf(natter.EFORBIDDEN, "The user id %q belongs to an account with a password on this server; it cannot be used with this identity provider.", acc.User)
		case err == nil && acc.OIDC != owner:
			return broker.Account{}, natter.Errorf(natter.EFORBIDDEN, "The user id %q belongs to another identity here; ask the administrator.", acc.User)
		case err == nil:
			return acc, nil
		case natter.ErrorCode(err) != natter.ENOTFOUND:
			return broker.Account{}, err
		}
		acc = broker.Account{User: user, Created: time.Now().UTC(), OIDC: owner}
		err = h.cfg.Store.Create(ctx, acc)
		if err == nil {
			h.log.Info("account created by OpenID login", "user", user, "issuer", id.Issuer, "subject", id.Subject)
			return acc, nil
		}
		if natter.ErrorCode(err) != natter.ECONFLICT {
			return broker.Account{}, err
		}
		// Someone took it a moment ago: look again.
	}
	return broker.Account{}, natter.Errorf(natter.EUNAVAILABLE, "account store busy")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// loginPage answers a browser that came through the login redirects, and
// so expects a page, not JSON.
func loginPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>Log in</title><p id=login-error>%s</p><p><a href=\"/\">Back to the login page</a></p>\n", html.EscapeString(msg))
}
