package history

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/httpapi"
)

// maxPublicRooms caps one listing of public rooms.
const maxPublicRooms = 200

type publicRoom struct {
	ID      natter.RoomID `json:"id"`
	Owner   natter.UserID `json:"owner,omitempty"`
	Created string        `json:"created"`
}

// publicRooms serves GET /api/public-rooms?q=PREFIX&limit=N: public rooms
// anyone may join, for a room browser or search box.
func (h *handler) publicRooms(w http.ResponseWriter, r *http.Request) {
	limit, err := publicRoomsLimit(r.URL.Query())
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	rooms, err := h.dir.PublicRooms(r.Context(), r.URL.Query().Get("q"), limit)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	out := make([]publicRoom, 0, len(rooms))
	for _, rm := range rooms {
		out = append(out, publicRoom{ID: rm.ID, Owner: rm.Owner, Created: rm.Created.UTC().Format("2006-01-02T15:04:05Z07:00")})
	}
	httpapi.WriteJSON(w, r, h.log, http.StatusOK, map[string]any{"rooms": out})
}

// publicRoomsLimit parses the limit of a public room listing: 1 or more,
// default 50, clamped to maxPublicRooms.
func publicRoomsLimit(v url.Values) (int, error) {
	s := v.Get("limit")
	if s == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, natter.Errorf(natter.EINVALID, "limit must be a positive integer")
	}
	return min(n, maxPublicRooms), nil
}

type memberInfo struct {
	User      natter.UserID `json:"user"`
	Read      uint64        `json:"read"`
	Delivered uint64        `json:"delivered"`
}

// members serves GET /api/rooms/{room}/members: every member with their
// read and delivered cursors, for "seen by" receipts. Members only.
func (h *handler) members(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	room, err := h.memberRoom(r)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	users, err := h.dir.Members(ctx, room)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	epoch, err := h.store.Epoch(ctx)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	out := make([]memberInfo, 0, len(users))
	for _, u := range users {
		cur, err := h.cursor(ctx, u, room, epoch)
		if err != nil {
			httpapi.WriteError(w, r, h.log, err)
			return
		}
		out = append(out, memberInfo{User: u, Read: cur.Read, Delivered: cur.Delivered})
	}
	httpapi.WriteJSON(w, r, h.log, http.StatusOK, map[string]any{"room": room, "members": out})
}
