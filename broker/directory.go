package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// The natter-dir bucket holds three kinds of keys. Membership is written
// twice, once per direction, because KV can list keys by prefix cheaply but
// cannot answer "which rooms is alice in" from room-keyed entries.
//
//	room.<room>           -> natter.Room (JSON)
//	member.<room>.<user>  -> "1"
//	user.<user>.<room>    -> "1"
func roomKey(r natter.RoomID) string { return "room." + string(r) }
func memberKey(r natter.RoomID, u natter.UserID) string {
	return "member." + string(r) + "." + string(u)
}
func userRoomKey(u natter.UserID, r natter.RoomID) string {
	return "user." + string(u) + "." + string(r)
}

var _ natter.Directory = (*Broker)(nil)

// CreateRoom stores r unless a room with its id exists. It returns the room
// as stored and whether this call created it. An existing room of another
// kind is an ECONFLICT error.
func (b *Broker) CreateRoom(ctx context.Context, r natter.Room) (natter.Room, bool, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return natter.Room{}, false, err
	}
	_, err = b.dir.Create(ctx, roomKey(r.ID), data)
	if err == nil {
		return r, true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return natter.Room{}, false, unavailable("create room", err)
	}
	old, err := b.Room(ctx, r.ID)
	if err != nil {
		return natter.Room{}, false, err
	}
	if old.Kind != r.Kind {
		return old, false, natter.Errorf(natter.ECONFLICT, "room %s exists and is %s", r.ID, old.Kind)
	}
	return old, false, nil
}

// Room returns a room's metadata or an ENOTFOUND error.
func (b *Broker) Room(ctx context.Context, id natter.RoomID) (natter.Room, error) {
	e, err := b.dir.Get(ctx, roomKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return natter.Room{}, natter.Errorf(natter.ENOTFOUND, "no room %s", id)
	}
	if err != nil {
		return natter.Room{}, unavailable("get room", err)
	}
	var r natter.Room
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return natter.Room{}, fmt.Errorf("broker: room %s: %w", id, err)
	}
	return r, nil
}

// AddMember makes user a member of room.
func (b *Broker) AddMember(ctx context.Context, room natter.RoomID, user natter.UserID) error {
	_, err := b.PutMember(ctx, room, user)
	return err
}

// RemoveMember removes user from room (no error if it was not a member).
func (b *Broker) RemoveMember(ctx context.Context, room natter.RoomID, user natter.UserID) error {
	_, err := b.DeleteMember(ctx, room, user)
	return err
}

// IsMember reports whether user is a member of room.
func (b *Broker) IsMember(ctx context.Context, room natter.RoomID, user natter.UserID) (bool, error) {
	_, err := b.dir.Get(ctx, memberKey(room, user))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, unavailable("membership", err)
	}
	return true, nil
}

// UserRooms lists the rooms user is a member of, sorted.
func (b *Broker) UserRooms(ctx context.Context, user natter.UserID) ([]natter.RoomID, error) {
	prefix := "user." + string(user) + "."
	keys, err := b.listKeys(ctx, prefix)
	if err != nil {
		return nil, err
	}
	rooms := make([]natter.RoomID, 0, len(keys))
	for _, k := range keys {
		rooms = append(rooms, natter.RoomID(strings.TrimPrefix(k, prefix)))
	}
	return rooms, nil
}

// Members lists the members of room, sorted.
func (b *Broker) Members(ctx context.Context, room natter.RoomID) ([]natter.UserID, error) {
	prefix := "member." + string(room) + "."
	keys, err := b.listKeys(ctx, prefix)
	if err != nil {
		return nil, err
	}
	users := make([]natter.UserID, 0, len(keys))
	for _, k := range keys {
		users = append(users, natter.UserID(strings.TrimPrefix(k, prefix)))
	}
	return users, nil
}

// PublicRooms lists public rooms whose id starts with prefix, sorted, at
// most limit. It reads every room entry: fine for the rooms of one
// deployment, and the reason the limit exists.
func (b *Broker) PublicRooms(ctx context.Context, prefix string, limit int) ([]natter.Room, error) {
	keys, err := b.listKeys(ctx, "room.")
	if err != nil {
		return nil, err
	}
	rooms := []natter.Room{}
	for _, k := range keys {
		id := natter.RoomID(strings.TrimPrefix(k, "room."))
		if !strings.HasPrefix(string(id), prefix) || id.IsDM() {
			continue
		}
		r, err := b.Room(ctx, id)
		if natter.ErrorCode(err) == natter.ENOTFOUND {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		if r.Kind == natter.Public {
			rooms = append(rooms, r)
			if len(rooms) == limit {
				break
			}
		}
	}
	return rooms, nil
}

func (b *Broker) listKeys(ctx context.Context, prefix string) ([]string, error) {
	return listKeysOf(ctx, b.dir, prefix)
}

// listKeysOf lists the keys of kv that start with prefix, sorted.
func listKeysOf(ctx context.Context, kv jetstream.KeyValue, prefix string) ([]string, error) {
	lister, err := kv.ListKeysFiltered(ctx, prefix+"*")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable("list keys", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

func unavailable(what string, err error) error {
	return natter.Errorf(natter.EUNAVAILABLE, "%s: %v", what, err)
}

// SetRoomInfo writes the topic and name of the topic record at seq into
// room's directory entry (a nil field is unchanged), unless the entry
// already reflects that record or a later one. Compare-and-swap, so a
// racing update of the entry is not lost.
func (b *Broker) SetRoomInfo(ctx context.Context, id natter.RoomID, seq uint64, topic, name *string) error {
	for attempt := 0; attempt < casAttempts; attempt++ {
		e, err := b.dir.Get(ctx, roomKey(id))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return natter.Errorf(natter.ENOTFOUND, "no room %s", id)
		}
		if err != nil {
			return unavailable("get room", err)
		}
		var r natter.Room
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			return fmt.Errorf("broker: room %s: %w", id, err)
		}
		if r.TopicSeq >= seq {
			return nil
		}
		if topic != nil {
			r.Topic = *topic
		}
		if name != nil {
			r.Name = *name
		}
		r.TopicSeq = seq
		data, _ := json.Marshal(r)
		_, err = b.dir.Update(ctx, roomKey(id), data, e.Revision())
		if err == nil {
			return nil
		}
		if !isWrongSequence(err) {
			return unavailable("set room topic", err)
		}
	}
	return natter.Errorf(natter.EUNAVAILABLE, "room entry contention on %s", id)
}
