package broker

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// slowSendKey holds, per room in slow mode and user, when (unix nanos) the
// user's last send there was accepted, on any edge.
//
//	slowsend.<room>.<user> -> unix nanoseconds
func slowSendKey(r natter.RoomID, u natter.UserID) string {
	return "slowsend." + string(r) + "." + string(u)
}

// ClaimSlowSend takes user's next slot in room's slow mode (one send per
// every) at now, for the whole cluster: it returns 0 if the send may go, or
// how long to wait if the user's previous accepted send, on any edge, is
// more recent than every. Two edges claiming at once cannot both win: the
// write is conditional on the revision read.
//
// Edges check their own memory first, so a user hammering a slow room
// costs one directory round trip per interval, not per attempt.
func (b *Broker) ClaimSlowSend(ctx context.Context, room natter.RoomID, user natter.UserID, now time.Time, every time.Duration) (time.Duration, error) {
	key := slowSendKey(room, user)
	var rev uint64
	e, err := b.dir.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return 0, unavailable("slow mode", err)
	default:
		rev = e.Revision()
		last, _ := strconv.ParseInt(string(e.Value()), 10, 64)
		if since := now.Sub(time.Unix(0, last)); since < every {
			return every - since, nil
		}
	}
	val := []byte(strconv.FormatInt(now.UnixNano(), 10))
	if rev == 0 {
		_, err = b.dir.Create(ctx, key, val)
	} else {
		_, err = b.dir.Update(ctx, key, val, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return every, nil // another edge took the slot just now
	}
	if err != nil {
		return 0, unavailable("slow mode", err)
	}
	return 0, nil
}

// forgetSlowSends drops room's slow-mode slots once slow mode is off, so
// that they do not pile up; best effort (a slot left over is harmless: it
// only matters while slow mode is on, and is overwritten then).
func (b *Broker) forgetSlowSends(ctx context.Context, room natter.RoomID) {
	keys, err := b.listKeys(ctx, "slowsend."+string(room)+".")
	for _, k := range keys {
		if err = b.dir.Purge(ctx, k); err != nil {
			break
		}
	}
	if err != nil {
		b.log.Warn("slow-mode slots not dropped", "room", room, "err", err)
	}
}
