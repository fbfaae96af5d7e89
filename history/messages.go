package history

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/httpapi"
)

// messagePage is the body of GET /api/rooms/{room}/messages.
type messagePage struct {
	Room     natter.RoomID `json:"room"`
	Messages []Message     `json:"messages"`
	// HasMore says whether another page exists further in the requested
	// direction: older messages for before (or no cursor), newer for after.
	HasMore bool `json:"has_more"`
}

// messages serves GET /api/rooms/{room}/messages?before=SEQ|after=SEQ&limit=N.
func (h *handler) messages(w http.ResponseWriter, r *http.Request) {
	q, err := pageQuery(r.URL.Query())
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	room, err := h.memberRoom(r)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	msgs, more, err := h.store.page(r.Context(), room, 0, q)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, r, h.log, http.StatusOK, messagePage{Room: room, Messages: msgs, HasMore: more})
}

// memberRoom returns the {room} of the request if the caller is a member.
// Only membership is checked, never existence, so that a non-member cannot
// probe which private rooms exist: both get the same 403.
func (h *handler) memberRoom(r *http.Request) (natter.RoomID, error) {
	room, err := roomParam(r)
	if err != nil {
		return "", err
	}
	ok, err := h.dir.IsMember(r.Context(), room, userFrom(r.Context()))
	if err != nil {
		return "", err
	}
	if !ok {
		return "", natter.Errorf(natter.EFORBIDDEN, "not a member of this room")
	}
	return room, nil
}

// roomParam returns the validated {room} path segment. chi hands over the raw
// (still escaped) segment when the path contains escapes, so it is unescaped
// first: validation must see "a.b", not "a%2Eb".
func roomParam(r *http.Request) (natter.RoomID, error) {
	raw, err := url.PathUnescape(chi.URLParam(r, "room"))
	if err != nil {
		return "", natter.Errorf(natter.EINVALID, "malformed room id")
	}
	room := natter.RoomID(raw)
	if err := room.Validate(); err != nil {
		return "", err
	}
	return room, nil
}

// pageQuery parses before, after and limit into a normalized Query.
//
//   - before=SEQ (SEQ >= 1): the page ending just before SEQ.
//   - after=SEQ (SEQ >= 0): the page starting just after SEQ; after=0 is the
//     room's first page.
//   - neither: the room's latest page, which is what a client opening a room
//     shows first.
//   - limit: 1 or more, default DefaultPageSize. Values above MaxPageSize are
//     clamped rather than rejected, so a client asking for "a lot" still gets
//     a full page and follows has_more.
func pageQuery(v url.Values) (Query, error) {
	var q Query
	if v.Has("before") && v.Has("after") {
		return q, natter.Errorf(natter.EINVALID, "before and after are mutually exclusive")
	}
	var err error
	switch {
	case v.Has("before"):
		if q.Before, err = strconv.ParseUint(v.Get("before"), 10, 64); err != nil || q.Before == 0 {
			return q, natter.Errorf(natter.EINVALID, "before must be a sequence number >= 1")
		}
	case v.Has("after"):
		if q.After, err = strconv.ParseUint(v.Get("after"), 10, 64); err != nil {
			return q, natter.Errorf(natter.EINVALID, "after must be a sequence number >= 0")
		}
	default:
		q.Before = math.MaxUint64
	}
	if v.Has("limit") {
		n, err := strconv.ParseUint(v.Get("limit"), 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange), err == nil && n > MaxPageSize:
			q.Limit = MaxPageSize
		case err != nil || n == 0:
			return q, natter.Errorf(natter.EINVALID, "limit must be a positive integer")
		default:
			q.Limit = int(n)
		}
	}
	return q.normalize()
}
