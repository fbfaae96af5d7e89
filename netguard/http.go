package netguard

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/natter-chat/natter/httpapi"
)

type clientKey struct{}

// Middleware resolves each request's client address (see Resolve), refuses
// the request with 403 if the lists do not let the client in, and stores
// the address in the request's context for ClientAddr. Requests are judged
// one by one, so that a reload reaches keep-alive connections too.
func (g *Guard) Middleware(next http.Handler) http.Handler {
	if g == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := g.Resolve(PeerAddr(r.RemoteAddr), ForwardedFrom(r.Header))
		if !g.Allowed(client) {
			g.refused(reasonACL)
			w.Header().Set("Connection", "close")
			httpapi.WriteError(w, r, nil, ErrDenied)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, client)))
	})
}

// ClientAddr is the client's address of r: as Middleware resolved it, else
// r's peer address (the zero Addr if RemoteAddr is not an address).
func ClientAddr(r *http.Request) netip.Addr {
	if a, ok := r.Context().Value(clientKey{}).(netip.Addr); ok {
		return a
	}
	return PeerAddr(r.RemoteAddr)
}

// ClientKey is the key of r's per-IP limits (see Key); a RemoteAddr that
// is no address is its own key.
func ClientKey(r *http.Request) string {
	if a := ClientAddr(r); a.IsValid() {
		return Key(a)
	}
	return r.RemoteAddr
}
