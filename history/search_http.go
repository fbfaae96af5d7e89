package history

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/httpapi"
)

// search serves GET /api/search?q=&room=&from=&before=&after=&limit=&cursor=
// over the rooms the caller is a member of now: a room they left or were
// removed from is not searched, not even for what they saw while in it.
func (h *handler) search(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, err := searchQuery(r.URL.Query())
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	rooms, err := h.dir.UserRooms(ctx, userFrom(ctx))
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	if q.In != "" {
		// A room the caller is not in gives no hits, like one that does
		// not exist.
		if slices.Contains(rooms, q.In) {
			rooms = []natter.RoomID{q.In}
		} else {
			rooms = nil
		}
	}
	q.Rooms = rooms
	res, err := h.store.Search(ctx, q)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, r, h.log, http.StatusOK, res)
}

// searchQuery parses the parameters of GET /api/search. room and from are
// the same as in: and from: in q (both given must agree).
func searchQuery(v url.Values) (SearchQuery, error) {
	var q SearchQuery
	p, err := ParseQuery(v.Get("q"))
	if err != nil {
		return q, err
	}
	q.ParsedQuery = p
	if s := v.Get("room"); s != "" {
		if err := setOnce(&q.In, natter.RoomID(s), "room ", natter.RoomID(s).Validate); err != nil {
			return q, err
		}
	}
	if s := v.Get("from"); s != "" {
		if err := setOnce(&q.From, natter.UserID(s), "from ", natter.UserID(s).Validate); err != nil {
			return q, err
		}
	}
	if len(q.Terms) == 0 && q.From == "" {
		return q, natter.Errorf(natter.EINVALID, "the query needs a word, a phrase or from:")
	}
	if q.Before, err = searchTime(v, "before"); err != nil {
		return q, err
	}
	if q.After, err = searchTime(v, "after"); err != nil {
		return q, err
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return q, natter.Errorf(natter.EINVALID, "limit must be a positive integer")
		}
		q.Limit = min(n, MaxSearchLimit)
	}
	if s := v.Get("cursor"); s != "" {
		if q.Cursor, err = strconv.ParseUint(s, 10, 64); err != nil || q.Cursor == 0 {
			return q, natter.Errorf(natter.EINVALID, "cursor must be the next of a previous result")
		}
	}
	return q, nil
}

// searchTime parses a time bound: RFC 3339, or a date (YYYY-MM-DD, the
// start of that day in UTC).
func searchTime(v url.Values, key string) (time.Time, error) {
	s := v.Get(key)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() >= 1970 && t.Year() < 2200 {
			return t, nil
		}
	}
	return time.Time{}, natter.Errorf(natter.EINVALID, "%s must be an RFC 3339 time or a YYYY-MM-DD date", key)
}
