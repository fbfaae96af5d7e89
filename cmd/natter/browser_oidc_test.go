package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserOIDCLogin: the login screen offers "Log in with …" beside
// the password form; clicking it goes through the provider's own login
// page (a real OpenID provider on loopback) and back into the app,
// connected as the provider's subject. A server without built-in accounts
// sends visitors to the provider at once.
func TestBrowserOIDCLogin(t *testing.T) {
	needBrowser(t)
	srv, idp := startOIDC(t)
	b := newBrowser(t)

	ida := b.tab(t, "ida", srv.m.URL)
	ida.wait("the provider's button", `document.querySelector('#sso-button').textContent === 'Log in with Test IdP' && document.querySelector('#sso-button').checkVisibility() && document.querySelector('#auth-form').checkVisibility()`)
	ida.shot("30-oidc-login-screen")
	ida.click("#sso-button")
	ida.loginAtProvider(idp.Issuer, "ida@idp.test", "ida-password", "ida")
	if loc := eval[string](ida, `location.href`); loc != srv.m.URL+"/" {
		t.Fatalf("address after the login: %q", loc)
	}
	ida.shot("31-oidc-logged-in")

	// Without built-in accounts the provider is the only way in.
	only, idp2 := startOIDC(t, func(m *Main) { m.Accounts = false })
	gus := b.tab(t, "gus", only.m.URL)
	gus.loginAtProvider(idp2.Issuer, "gus", "gus-password", "u-42")
}

// loginAtProvider waits for the provider's login page, logs in there, and
// waits to be back in the app, connected as user.
func (p *tab) loginAtProvider(issuer, username, password, user string) {
	p.t.Helper()
	p.wait("the provider's login page", fmt.Sprintf(`location.origin === %q && document.querySelector('#username') !== null`, issuer))
	p.do(
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), password+"\r"),
	)
	p.waitConnected()
	if got := eval[string](p, `document.querySelector('#me-name').textContent`); got != user {
		p.t.Fatalf("logged in as %q, want %q", got, user)
	}
}
