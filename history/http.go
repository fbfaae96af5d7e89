package history

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/httpapi"
)

// handler serves the history API. Its dependencies are interfaces except the
// store, which this package owns.
type handler struct {
	store  *Store
	dir    natter.Directory
	tokens natter.TokenVerifier
	log    *slog.Logger
}

// NewHandler returns the history API. The caller mounts it at the root: the
// routes carry their /api prefix. A nil log discards.
func NewHandler(store *Store, dir natter.Directory, tokens natter.TokenVerifier, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{store: store, dir: dir, tokens: tokens, log: log}

	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, h.log, natter.Errorf(natter.ENOTFOUND, "no such endpoint"))
	})
	r.Route("/api", func(r chi.Router) {
		// NoStore runs first so that error responses (401 included) are not
		// cached either: they depend on the caller's token.
		r.Use(httpapi.NoStore, h.authenticate)
		r.Get("/rooms", h.rooms)
		r.Get("/rooms/{room}/messages", h.messages)
		r.Get("/rooms/{room}/messages/{seq}", h.message)
		r.Get("/rooms/{room}/threads/{seq}", h.thread)
		r.Get("/rooms/{room}/members", h.members)
		r.Get("/rooms/{room}/moderation", h.moderation)
		r.Post("/rooms/{room}/moderation", h.moderate)
		r.Get("/public-rooms", h.publicRooms)
		r.Get("/search", h.search)
	})
	return r
}
