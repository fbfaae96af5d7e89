package history

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/httpapi"
)

// messageDetail is the body of GET /api/rooms/{room}/messages/{seq}.
type messageDetail struct {
	Message
	// History is the message's earlier texts, oldest first; empty if never
	// edited, and once deleted.
	History []Version `json:"history"`
}

// message serves GET /api/rooms/{room}/messages/{seq}: one message in its
// current state with its edit history. Members only.
func (h *handler) message(w http.ResponseWriter, r *http.Request) {
	room, seq, err := h.memberMessage(r)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	m, history, err := h.store.Get(r.Context(), room, seq)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, r, h.log, http.StatusOK, messageDetail{Message: m, History: history})
}

// threadPage is the body of GET /api/rooms/{room}/threads/{seq}.
type threadPage struct {
	Room     natter.RoomID `json:"room"`
	Root     Message       `json:"root"`
	Messages []Message     `json:"messages"` // replies, paged as room pages are
	HasMore  bool          `json:"has_more"`
}

// thread serves GET /api/rooms/{room}/threads/{seq}?before|after&limit:
// the thread root and a page of its replies. Members only.
func (h *handler) thread(w http.ResponseWriter, r *http.Request) {
	q, err := pageQuery(r.URL.Query())
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	room, seq, err := h.memberMessage(r)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	root, _, err := h.store.Get(r.Context(), room, seq)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	msgs, more, err := h.store.ThreadPage(r.Context(), room, seq, q)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, r, h.log, http.StatusOK, threadPage{Room: room, Root: root, Messages: msgs, HasMore: more})
}

// memberMessage returns the {room} and {seq} of the request if the caller
// is a member of the room. The seq is checked first: a malformed one is
// invalid for members and non-members alike.
func (h *handler) memberMessage(r *http.Request) (natter.RoomID, uint64, error) {
	seq, err := strconv.ParseUint(chi.URLParam(r, "seq"), 10, 64)
	if err != nil || seq == 0 {
		return "", 0, natter.Errorf(natter.EINVALID, "seq must be a sequence number >= 1")
	}
	room, err := h.memberRoom(r)
	return room, seq, err
}
