package history

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/httpapi"
)

// roomSummary is one entry of GET /api/rooms.
type roomSummary struct {
	ID        natter.RoomID   `json:"id"`
	Kind      natter.RoomKind `json:"kind"`
	LastSeq   uint64          `json:"last_seq"`
	Read      uint64          `json:"read"`
	Delivered uint64          `json:"delivered"`
	Unread    int             `json:"unread"`
	// Mentions counts the unread messages that mention the caller or
	// @room (after Read, by others, not deleted).
	Mentions int    `json:"mentions"`
	Topic    string `json:"topic,omitempty"`
	Name     string `json:"name,omitempty"`
	// LastTime is the time of the room's last message (omitted if none),
	// for ordering rooms by activity.
	LastTime *time.Time `json:"last_ts,omitempty"`
}

// rooms serves GET /api/rooms: the caller's rooms with their last archived
// sequence, the caller's cursors and unread count, sorted by room id.
func (h *handler) rooms(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	user := userFrom(ctx)
	ids, err := h.dir.UserRooms(ctx, user)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}
	epoch, err := h.store.Epoch(ctx)
	if err != nil {
		httpapi.WriteError(w, r, h.log, err)
		return
	}

	out := make([]roomSummary, 0, len(ids))
	for _, id := range ids {
		room, err := h.dir.Room(ctx, id)
		if natter.ErrorCode(err) == natter.ENOTFOUND {
			continue // deleted since UserRooms answered
		}
		if err != nil {
			httpapi.WriteError(w, r, h.log, err)
			return
		}
		cur, err := h.cursor(ctx, user, id, epoch)
		if err != nil {
			httpapi.WriteError(w, r, h.log, err)
			return
		}
		last, err := h.store.Last(ctx, id)
		if err != nil {
			httpapi.WriteError(w, r, h.log, err)
			return
		}
		unread, err := h.store.Unread(ctx, id, cur.Read, user)
		if err != nil {
			httpapi.WriteError(w, r, h.log, err)
			return
		}
		act, err := h.store.Activity(ctx, id, cur.Read, user)
		if err != nil {
			httpapi.WriteError(w, r, h.log, err)
			return
		}
		if room.TopicSeq > 0 {
			// The directory has them as soon as they are accepted; the
			// archive's copy may lag.
			act.Topic, act.Name = room.Topic, room.Name
		}
		out = append(out, roomSummary{
			ID: id, Kind: room.Kind, LastSeq: last,
			Read: cur.Read, Delivered: cur.Delivered, Unread: unread,
			Mentions: act.Mentions, Topic: act.Topic, Name: act.Name, LastTime: act.LastTime,
		})
	}
	slices.SortStableFunc(out, func(a, b roomSummary) int { return cmp.Compare(a.ID, b.ID) })
	httpapi.WriteJSON(w, r, h.log, http.StatusOK, struct {
		Rooms []roomSummary `json:"rooms"`
	}{out})
}

// cursor returns user's cursor in room, or the zero cursor if it belongs to
// another stream epoch than the archive: it points into sequences that no
// longer exist, and counting from it would hide new messages.
func (h *handler) cursor(ctx context.Context, user natter.UserID, room natter.RoomID, epoch string) (natter.Cursor, error) {
	cur, err := h.dir.Cursor(ctx, user, room)
	if err != nil {
		return cur, err
	}
	if cur.Epoch != "" && epoch != "" && cur.Epoch != epoch {
		return natter.Cursor{}, nil
	}
	return cur, nil
}
