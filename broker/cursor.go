package broker

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

func cursorKey(u natter.UserID, r natter.RoomID) string { return string(u) + "." + string(r) }

// Cursor returns user's cursor in room; the zero Cursor if none is stored
// or the stored one belongs to another epoch.
func (b *Broker) Cursor(ctx context.Context, user natter.UserID, room natter.RoomID) (natter.Cursor, error) {
	c, _, err := b.getCursor(ctx, user, room)
	return c, err
}

func (b *Broker) getCursor(ctx context.Context, user natter.UserID, room natter.RoomID) (natter.Cursor, uint64, error) {
	e, err := b.cursors.Get(ctx, cursorKey(user, room))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return natter.Cursor{Epoch: b.epoch}, 0, nil
	}
	if err != nil {
		return natter.Cursor{}, 0, unavailable("get cursor", err)
	}
	var c natter.Cursor
	if err := json.Unmarshal(e.Value(), &c); err != nil || c.Epoch != b.epoch {
		// Unreadable, or from a stream that no longer exists: start over.
		return natter.Cursor{Epoch: b.epoch}, e.Revision(), nil
	}
	return c, e.Revision(), nil
}

// AdvanceCursor raises user's delivered and/or read cursor in room to the
// given values (0 leaves one alone). Cursors never move backwards, even when
// two devices of one user race: the update is a compare-and-set on the KV
// revision, retried on conflict. Read implies delivered. It returns the
// cursor as stored and whether it changed.
func (b *Broker) AdvanceCursor(ctx context.Context, user natter.UserID, room natter.RoomID, delivered, read uint64) (natter.Cursor, bool, error) {
	if read > delivered {
		delivered = read
	}
	for attempt := 0; attempt < 10; attempt++ {
		c, rev, err := b.getCursor(ctx, user, room)
		if err != nil {
			return c, false, err
		}
		next := c
		next.Delivered = max(c.Delivered, delivered)
		next.Read = max(c.Read, read)
		if next == c {
			return c, false, nil
		}
		data, _ := json.Marshal(next)
		if rev == 0 {
			_, err = b.cursors.Create(ctx, cursorKey(user, room), data)
		} else {
			_, err = b.cursors.Update(ctx, cursorKey(user, room), data, rev)
		}
		if err == nil {
			return next, true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return c, false, unavailable("set cursor", err)
		}
	}
	return natter.Cursor{}, false, natter.Errorf(natter.EUNAVAILABLE, "cursor contention on %s", room)
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}
