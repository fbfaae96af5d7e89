// Package httpapi holds the small pieces that Natter's HTTP APIs (history
// and accounts) share, so that both answer alike.
package httpapi

import (
	"net/http"
	"strings"
)

// NoStore keeps browsers and proxies from caching per-user, ever-changing
// responses.
func NoStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// Bearer extracts the token of a Bearer Authorization header; the scheme is
// case-insensitive (RFC 9110 §11.1).
func Bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
