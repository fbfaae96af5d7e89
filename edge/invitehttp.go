package edge

import (
	"context"
	"net/http"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
	"github.com/natter-chat/natter/httpapi"
)

// APIHandler serves the HTTP side of invitations and add policies
// (docs/HTTP-API.md): the same operations as the invitations, accept,
// decline and settings ops, for clients between connections. Mount it at
// the root; its routes carry their /api prefix.
func (e *Edge) APIHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/invitations", e.authed(func(w http.ResponseWriter, r *http.Request, user natter.UserID) {
		invs, err := e.quotas.Invitations(r.Context(), user)
		if err != nil {
			httpapi.WriteError(w, r, e.log, err)
			return
		}
		httpapi.WriteJSON(w, r, e.log, http.StatusOK, struct {
			Invitations []broker.Invitation `json:"invitations"`
		}{invs})
	}))
	answer := func(act func(context.Context, natter.UserID, natter.RoomID) error) http.HandlerFunc {
		return e.authed(func(w http.ResponseWriter, r *http.Request, user natter.UserID) {
			room := natter.RoomID(r.PathValue("room"))
			err := validRoom(room)
			if err == nil {
				err = act(r.Context(), user, room)
			}
			if err != nil {
				httpapi.WriteError(w, r, e.log, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
	}
	mux.HandleFunc("POST /api/invitations/{room}/accept", answer(e.acceptInvitation))
	mux.HandleFunc("POST /api/invitations/{room}/decline", answer(e.declineInvitation))
	mux.HandleFunc("GET /api/me/settings", e.authed(e.serveSettings))
	mux.HandleFunc("PUT /api/me/settings", e.authed(e.serveSettings))
	return httpapi.NoStore(mux)
}

// userSettings is the body of GET and PUT /api/me/settings.
type userSettings struct {
	AddPolicy string `json:"add_policy"`
}

func (e *Edge) serveSettings(w http.ResponseWriter, r *http.Request, user natter.UserID) {
	ctx := r.Context()
	if r.Method == http.MethodPut {
		var in userSettings
		if err := httpapi.ReadJSON(w, r, 4<<10, &in); err != nil {
			httpapi.WriteError(w, r, e.log, err)
			return
		}
		if in.AddPolicy != "" {
			if err := e.quotas.SetPolicy(ctx, user, in.AddPolicy); err != nil {
				httpapi.WriteError(w, r, e.log, err)
				return
			}
		}
	}
	p, err := e.quotas.Policy(ctx, user)
	if err != nil {
		httpapi.WriteError(w, r, e.log, err)
		return
	}
	httpapi.WriteJSON(w, r, e.log, http.StatusOK, userSettings{AddPolicy: p})
}

// authed requires a bearer token, like the rest of the HTTP API, and hands
// the user it authenticates to h.
func (e *Edge) authed(h func(http.ResponseWriter, *http.Request, natter.UserID)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := httpapi.Bearer(r.Header.Get("Authorization"))
		if !ok {
			httpapi.WriteError(w, r, e.log, natter.Errorf(natter.EUNAUTHORIZED, "missing bearer token"))
			return
		}
		claims, err := e.cfg.Tokens.Verify(token)
		user := claims.User
		if err == nil {
			err = user.Validate()
		}
		if err != nil {
			httpapi.WriteError(w, r, e.log, natter.Errorf(natter.EUNAUTHORIZED, "invalid or expired token"))
			return
		}
		h(w, r, user)
	}
}
