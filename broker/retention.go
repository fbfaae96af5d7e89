package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// Room retention. A room's owner may have its messages kept for a while
// only (natter.ActRetention, stored under retention.<room>). Two
// mechanisms make that hold in the stream:
//
//   - Every message sent to such a room carries a per-message TTL
//     (JetStream's Nats-TTL header, servers 2.11 and later, on a stream
//     with AllowMsgTTL): the stream drops it when it is due.
//   - Messages stored before the retention was set or shortened have no
//     or a longer TTL: SweepRoom purges the room's messages older than
//     the retention, run every minute by the history replicas
//     (history.Retention), which then drop them from their archives too.

func retentionKey(r natter.RoomID) string { return "retention." + string(r) }

// roomRetention is room's retention in seconds, 0 if it has none.
func (b *Broker) roomRetention(ctx context.Context, room natter.RoomID) (int, error) {
	e, err := b.dir.Get(ctx, retentionKey(room))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return 0, nil
	case err != nil:
		return 0, unavailable("retention", err)
	}
	n, _ := strconv.Atoi(string(e.Value()))
	return n, nil
}

// Retentions returns every room that has a retention, with it.
func (b *Broker) Retentions(ctx context.Context) (map[natter.RoomID]time.Duration, error) {
	keys, err := b.listKeys(ctx, "retention.")
	if err != nil {
		return nil, err
	}
	out := make(map[natter.RoomID]time.Duration, len(keys))
	for _, k := range keys {
		room := natter.RoomID(strings.TrimPrefix(k, "retention."))
		n, err := b.roomRetention(ctx, room)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out[room] = time.Duration(n) * time.Second
		}
	}
	return out, nil
}

// MsgTTL reports whether the stream takes per-message TTLs.
func (b *Broker) MsgTTL() bool { return b.msgTTL }

// StreamMaxAge is the stream's age limit as of Open (0: none).
func (b *Broker) StreamMaxAge() time.Duration { return b.maxAge }

// SweepRoom purges room's messages stored before cutoff from the stream,
// through its leader, and returns how many it dropped.
func (b *Broker) SweepRoom(ctx context.Context, room natter.RoomID, cutoff time.Time) (uint64, error) {
	first, err := b.leaderGet(ctx, "first message of "+string(room), map[string]any{"next_by_subj": roomSubject(room), "seq": 1})
	if err != nil || first == nil || !first.Time.Before(cutoff) {
		return 0, err // nothing, or nothing old enough
	}
	req := map[string]any{"filter": roomSubject(room)}
	keep, err := b.leaderGet(ctx, "messages of "+string(room)+" since "+cutoff.String(), map[string]any{"next_by_subj": roomSubject(room), "start_time": cutoff})
	if err != nil {
		return 0, err
	}
	if keep != nil {
		req["seq"] = keep.Seq // the messages before it
	}
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	data, _ := json.Marshal(req)
	resp, err := b.nc.RequestWithContext(ctx, "$JS.API.STREAM.PURGE."+StreamName, data)
	if err != nil {
		return 0, unavailable("purge "+string(room), err)
	}
	var r struct {
		Purged uint64 `json:"purged"`
		Error  *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return 0, fmt.Errorf("broker: purge %s: %w", room, err)
	}
	if r.Error != nil {
		return 0, natter.Errorf(natter.EUNAVAILABLE, "purge %s: %s", room, r.Error.Description)
	}
	return r.Purged, nil
}
