package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAccount: in the web UI, a password change ends the user's
// other sessions and keeps this page connected, a #token= link for someone
// else does not replace the session (login CSRF), "Log out" ends the
// session on the server, not only in the browser, and "Log out everywhere"
// ends the others too.
func TestBrowserAccount(t *testing.T) {
	needBrowser(t)
	ctx := ctxFor(t, 5*time.Minute) // for the Go side; each page step has its own deadline
	srv := startServer(t, "", withAccounts)
	url := srv.m.URL
	b := newBrowser(t)

	dave := b.tab(t, "dave", url)
	dave.register("dave", "old-password")
	pageToken := func() string {
		return eval[string](dave, `JSON.parse(localStorage.getItem('natter.session')).token`)
	}
	before := pageToken()
	// Dave is also logged in elsewhere (another device).
	elsewhere := mustAuth(t, ctx, srv, "login", "", credentials("dave", "old-password"), http.StatusOK)
	otherWS := wsWith(t, ctx, srv, elsewhere)

	// Change the password in the account dialog.
	dave.click("#account-button")
	dave.wait("account dialog", `document.querySelector('#account-dialog').open && document.querySelector('#account-user').textContent === 'dave'`)
	dave.shot("20-account-dialog")
	dave.do(
		chromedp.SendKeys(chromedp.CSS("#password-current"), "wrong-password"),
		chromedp.SendKeys(chromedp.CSS("#password-new"), "new-password"),
		chromedp.SendKeys(chromedp.CSS("#password-repeat"), "new-password"),
	)
	dave.click("#password-submit")
	dave.wait("wrong current password shown", `document.querySelector('#account-dialog .error').textContent.includes('current password is wrong')`)
	dave.do(chromedp.SetValue(chromedp.CSS("#password-current"), "old-password"))
	dave.click("#password-submit")
	dave.wait("dialog closed after the change", `!document.querySelector('#account-dialog').open`)
	expectSessionEnded(t, ctx, otherWS, "dave's other device")
	// The page carries on with a new token, connected.
	dave.wait("a new token", `JSON.parse(localStorage.getItem('natter.session')).token !== `+jsStrings([]string{before})+`[0]`)
	dave.waitConnected()
	changed := pageToken()
	for name, tok := range map[string]string{"the page's old token": before, "the other device's token": elsewhere} {
		if st := apiGet(t, ctx, srv, tok, "/api/rooms", nil); st != http.StatusUnauthorized {
			t.Errorf("%s after the change: %d; want 401", name, st)
		}
	}
	if st := apiGet(t, ctx, srv, changed, "/api/rooms", nil); st != http.StatusOK {
		t.Errorf("the page's new token: %d; want 200", st)
	}
	dave.shot("21-password-changed")

	// A link with someone else's token does not log dave out.
	dave.do(chromedp.Navigate("about:blank"), chromedp.Navigate(url+"/#token="+srv.token("mallory")))
	dave.waitConnected()
	if who := eval[string](dave, `document.querySelector('#me-name').textContent`); who != "dave" {
		t.Errorf("after opening mallory's link the page is logged in as %q", who)
	}
	dave.wait("the link explained", `[...document.querySelectorAll('#toasts .toast')].some((t) => t.textContent.includes('ignored'))`)
	if loc := eval[string](dave, `location.href`); loc != url+"/" {
		t.Errorf("address after the link: %q", loc)
	}

	// Log out: back at the login form, and the token is dead on the server.
	dave.click("#logout")
	dave.wait("login form after logout", `!document.querySelector('#auth').hidden && document.querySelector('#app').hidden`)
	if st := apiGet(t, ctx, srv, changed, "/api/rooms", nil); st != http.StatusUnauthorized {
		t.Errorf("the token after logout: %d; want 401", st)
	}
	dave.login("dave", "new-password")

	// Log out everywhere ends this page's session and the others.
	another := mustAuth(t, ctx, srv, "login", "", credentials("dave", "new-password"), http.StatusOK)
	dave.click("#account-button")
	dave.wait("account dialog", `document.querySelector('#account-dialog').open`)
	dave.click("#logout-all")
	dave.wait("login form after log out everywhere", `!document.querySelector('#auth').hidden && document.querySelector('#app').hidden`)
	if st := apiGet(t, ctx, srv, another, "/api/rooms", nil); st != http.StatusUnauthorized {
		t.Errorf("another session after log out everywhere: %d; want 401", st)
	}
}
