package history

import (
	"net/http"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/httpapi"
)

// moderator is the directory's moderation, if it has any (the broker does).
func (h *handler) moderator() (natter.Moderator, error) {
	m, ok := h.dir.(natter.Moderator)
	if !ok {
		return nil, natter.Errorf(natter.EUNAVAILABLE, "moderation is not available here")
	}
	return m, nil
}

// moderation serves GET /api/rooms/{room}/moderation: the room's owner,
// admins, bans, mutes, slow mode and moderation log. Members only (and
// the same 403 for a room that does not exist).
func (h *handler) moderation(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m, err := h.moderator()
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	id, err := h.memberRoom(r)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	room, err := h.dir.Room(ctx, id)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	st, err := m.ModState(ctx, room)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, r, h.log, http.StatusOK, struct {
		Room natter.RoomID `json:"room"`
		natter.ModState
	}{id, st})
}

// moderate serves POST /api/rooms/{room}/moderation with
// {"action":…,"user":…,"role":…,"seconds":…}: the protocol's moderation
// ops over HTTP, with the same checks.
func (h *handler) moderate(w http.ResponseWriter, r *http.Request) {
	m, err := h.moderator()
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	room, err := roomParam(r)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	var a natter.ModAction
	if err := httpapi.ReadJSON(w, r, 4<<10, &a); err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	a.Room, a.By = room, userFrom(r.Context())
	done, err := m.ModerateRoom(r.Context(), a)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, r, h.log, http.StatusOK, done)
}
