package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// Moderation keys of natter-dir, beside those in directory.go. Slow mode
// has a key of its own rather than a field of the room record because
// every edge keeps the moderation keys in memory (see WatchDir): it must
// not have to hold every room to know the few in slow mode.
//
//	role.<room>.<user>      -> "admin" (the owner is in the room record)
//	ban.<room>.<user>       -> natter.ModAction (JSON), the ban
//	mute.<room>.<user>      -> natter.ModAction (JSON), the mute
//	slow.<room>             -> seconds between one user's sends
//	retention.<room>        -> seconds the room's messages are kept (retention.go)
//	modlog.<room>.<nanos>   -> natter.ModAction (JSON), the room's log
func roleKey(r natter.RoomID, u natter.UserID) string { return "role." + string(r) + "." + string(u) }
func banKey(r natter.RoomID, u natter.UserID) string  { return "ban." + string(r) + "." + string(u) }
func muteKey(r natter.RoomID, u natter.UserID) string { return "mute." + string(r) + "." + string(u) }
func slowKey(r natter.RoomID) string                  { return "slow." + string(r) }
func modlogPrefix(r natter.RoomID) string             { return "modlog." + string(r) + "." }

// Applied says which revisions a moderation act wrote, so that an edge can
// wait until its own watches have applied them before it answers: a
// membership deletion (MemberRev, watched with "member") and a rule change
// (RuleRev, watched with "ban", "mute", "role", "slow", "retention").
// Zero: none.
type Applied struct {
	MemberRev, RuleRev uint64
}

// MemberRev returns the revision of user's membership of room, 0 if none.
func (b *Broker) MemberRev(ctx context.Context, room natter.RoomID, user natter.UserID) (uint64, error) {
	e, err := b.dir.Get(ctx, memberKey(room, user))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable("membership", err)
	}
	return e.Revision(), nil
}

// PutMember makes user a member of room and returns the membership's revision.
func (b *Broker) PutMember(ctx context.Context, room natter.RoomID, user natter.UserID) (uint64, error) {
	rev, err := b.dir.PutString(ctx, memberKey(room, user), "1")
	if err != nil {
		return 0, unavailable("add member", err)
	}
	if _, err := b.dir.PutString(ctx, userRoomKey(user, room), "1"); err != nil {
		return 0, unavailable("add member", err)
	}
	return rev, nil
}

// DeleteMember removes user from room, and their role in it, and returns
// the revision of the membership's deletion (a deletion of a key that did
// not exist has one too).
func (b *Broker) DeleteMember(ctx context.Context, room natter.RoomID, user natter.UserID) (uint64, error) {
	rev, err := b.deleteKey(ctx, memberKey(room, user))
	if err != nil {
		return 0, err
	}
	// An admin who leaves or is removed is a member when they come back.
	if _, err := b.deleteKey(ctx, roleKey(room, user)); err != nil {
		return 0, err
	}
	if err := b.dir.Delete(ctx, userRoomKey(user, room)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, unavailable("remove member", err)
	}
	return rev, nil
}

// Banned reports whether user is banned from room.
func (b *Broker) Banned(ctx context.Context, room natter.RoomID, user natter.UserID) (bool, error) {
	_, err := b.dir.Get(ctx, banKey(room, user))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, unavailable("ban", err)
	}
	return true, nil
}

// Role returns user's role in r. An admin who is no longer a member is a
// member (of nothing): the role does not outlive the membership.
func (b *Broker) Role(ctx context.Context, r natter.Room, user natter.UserID) (natter.Role, error) {
	if r.Kind != natter.Direct && user == r.Owner {
		return natter.RoleOwner, nil
	}
	_, err := b.dir.Get(ctx, roleKey(r.ID, user))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return natter.RoleMember, nil
	}
	if err != nil {
		return "", unavailable("role", err)
	}
	return natter.RoleAdmin, nil
}

// Moderate checks that a.By may take action a and takes it: it writes the
// directory, appends to the room's log, and tells the room's members (a
// member event with the action and by) and, when they are removed, the
// target (a room event). Every edge enforces the result through its
// directory watches, whether or not the events arrive.
func (b *Broker) Moderate(ctx context.Context, a natter.ModAction) (natter.ModAction, Applied, error) {
	var ap Applied
	a.At = time.Now().UTC()
	if a.RoomWide() {
		a.User = ""
	}
	if err := a.Check(); err != nil {
		return a, ap, err
	}
	r, err := b.Room(ctx, a.Room)
	if natter.ErrorCode(err) == natter.ENOTFOUND {
		// The same answer as for a room one may not moderate: no probing.
		return a, ap, natter.MayModerate(natter.RoleMember, natter.RoleMember, a.Action)
	}
	if err != nil {
		return a, ap, err
	}
	if r.Kind == natter.Direct {
		return a, ap, natter.Errorf(natter.EINVALID, "direct conversations have no moderation")
	}
	actor, err := b.actorRole(ctx, r, a.By)
	if err != nil {
		return a, ap, err
	}
	target := natter.RoleMember
	if a.User != "" {
		if target, err = b.Role(ctx, r, a.User); err != nil {
			return a, ap, err
		}
	}
	if err := natter.MayModerate(actor, target, a.Action); err != nil {
		return a, ap, err
	}
	if ap, err = b.apply(ctx, a); err != nil {
		return a, ap, err
	}
	if err := b.appendModLog(ctx, a); err != nil {
		b.log.Warn("moderation not logged", "room", a.Room, "action", a.Action, "err", err)
	}
	b.announce(r, a)
	return a, ap, nil
}

// actorRole is by's role in r, as far as moderating goes: an admin must
// still be a member.
func (b *Broker) actorRole(ctx context.Context, r natter.Room, by natter.UserID) (natter.Role, error) {
	role, err := b.Role(ctx, r, by)
	if err != nil || role != natter.RoleAdmin {
		return role, err
	}
	rev, err := b.MemberRev(ctx, r.ID, by)
	if err != nil {
		return "", err
	}
	if rev == 0 {
		return natter.RoleMember, nil
	}
	return role, nil
}

// apply writes what a changes. Bans are written before the membership is
// deleted: a join that checks for a ban after adding its membership (see
// edge) then either sees the ban or has its membership deleted.
func (b *Broker) apply(ctx context.Context, a natter.ModAction) (Applied, error) {
	var ap Applied
	var err error
	put := func(key string, v any) {
		data, _ := json.Marshal(v)
		ap.RuleRev, err = b.dir.Put(ctx, key, data)
	}
	del := func(key string) {
		ap.RuleRev, err = b.deleteKey(ctx, key)
	}
	member := func() bool {
		rev, e := b.MemberRev(ctx, a.Room, a.User)
		if e != nil {
			err = e
		} else if rev == 0 {
			err = natter.Errorf(natter.EINVALID, "%s is not a member of %s", a.User, a.Room)
		}
		return err == nil
	}
	switch a.Action {
	case natter.ActKick:
		if member() {
			ap.MemberRev, err = b.Quotas().RemoveMember(ctx, a.Room, a.User)
		}
	case natter.ActBan:
		put(banKey(a.Room, a.User), a)
		if err == nil {
			ap.MemberRev, err = b.Quotas().RemoveMember(ctx, a.Room, a.User)
		}
	case natter.ActUnban:
		del(banKey(a.Room, a.User))
	case natter.ActMute:
		if member() {
			put(muteKey(a.Room, a.User), a)
		}
	case natter.ActUnmute:
		del(muteKey(a.Room, a.User))
	case natter.ActRole:
		if a.Role == natter.RoleMember {
			del(roleKey(a.Room, a.User))
		} else if member() {
			ap.RuleRev, err = b.dir.PutString(ctx, roleKey(a.Room, a.User), string(natter.RoleAdmin))
		}
	case natter.ActSlowMode:
		if a.Seconds == 0 {
			del(slowKey(a.Room))
			if err == nil {
				b.forgetSlowSends(ctx, a.Room)
			}
		} else {
			ap.RuleRev, err = b.dir.PutString(ctx, slowKey(a.Room), strconv.Itoa(a.Seconds))
		}
	case natter.ActRetention:
		if a.Seconds == 0 {
			del(retentionKey(a.Room))
		} else {
			ap.RuleRev, err = b.dir.PutString(ctx, retentionKey(a.Room), strconv.Itoa(a.Seconds))
		}
	}
	if err != nil && natter.ErrorCode(err) == natter.EINTERNAL {
		err = unavailable("moderate", err)
	}
	return ap, err
}

// deleteKey deletes key and returns the deletion's revision.
func (b *Broker) deleteKey(ctx context.Context, key string) (uint64, error) {
	// What kv.Delete does, but keeping the revision it is stored at.
	m := nats.NewMsg("$KV." + dirBucket + "." + key)
	m.Header.Set("KV-Operation", "DEL")
	ack, err := b.js.PublishMsg(ctx, m)
	if err != nil {
		return 0, unavailable("delete "+key, err)
	}
	return ack.Sequence, nil
}

// modEvent is the member event of a moderation act, as edges forward it.
type modEvent struct {
	Type    string        `json:"type"`
	Room    natter.RoomID `json:"room"`
	User    natter.UserID `json:"user,omitempty"`
	Action  string        `json:"action"`
	By      natter.UserID `json:"by"`
	Role    natter.Role   `json:"role,omitempty"`
	Seconds *int          `json:"seconds,omitempty"`
	Kind    string        `json:"kind,omitempty"`
	Owner   natter.UserID `json:"owner,omitempty"`
	From    natter.UserID `json:"from,omitempty"`
}

// announce sends the room event of a, and the target's room event if a
// removed them. Both are ephemeral: enforcement does not depend on them.
func (b *Broker) announce(r natter.Room, a natter.ModAction) {
	ev := modEvent{Type: "member", Room: a.Room, User: a.User, Action: a.Event(), By: a.By, Role: a.Role}
	if a.RoomWide() {
		ev.Seconds = &a.Seconds
	}
	data, _ := json.Marshal(ev)
	if err := b.PublishEvent(a.Room, data); err != nil {
		b.log.Warn("moderation event not sent", "room", a.Room, "err", err)
	}
	if a.Action == natter.ActKick || a.Action == natter.ActBan {
		data, _ := json.Marshal(modEvent{Type: "room", Room: a.Room, Action: "removed", By: a.By, From: a.By,
			Kind: string(r.Kind), Owner: r.Owner})
		if err := b.PublishUserEvent(a.User, data); err != nil {
			b.log.Warn("moderation event not sent", "user", a.User, "err", err)
		}
	}
}

// appendModLog stores a in its room's log and drops the oldest entries
// beyond natter.MaxModLog.
func (b *Broker) appendModLog(ctx context.Context, a natter.ModAction) error {
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	// Nanoseconds, zero-padded, so that keys sort by time; Create so that
	// two acts in the same nanosecond do not overwrite each other.
	for n := a.At.UnixNano(); ; n++ {
		_, err = b.dir.Create(ctx, fmt.Sprintf("%s%020d", modlogPrefix(a.Room), n), data)
		if !errors.Is(err, jetstream.ErrKeyExists) {
			break
		}
	}
	if err != nil {
		return err
	}
	keys, err := b.listKeys(ctx, modlogPrefix(a.Room))
	if err != nil {
		return err
	}
	for _, k := range keys[:max(0, len(keys)-natter.MaxModLog)] {
		if err := b.dir.Purge(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// ModState returns room's moderation state and log.
func (b *Broker) ModState(ctx context.Context, r natter.Room) (natter.ModState, error) {
	st := natter.ModState{Owner: r.Owner}
	for _, l := range []struct {
		prefix string
		into   *[]natter.UserID
	}{{"role.", &st.Admins}, {"ban.", &st.Bans}, {"mute.", &st.Mutes}} {
		prefix := l.prefix + string(r.ID) + "."
		keys, err := b.listKeys(ctx, prefix)
		if err != nil {
			return st, err
		}
		*l.into = []natter.UserID{}
		for _, k := range keys {
			*l.into = append(*l.into, natter.UserID(strings.TrimPrefix(k, prefix)))
		}
	}
	e, err := b.dir.Get(ctx, slowKey(r.ID))
	switch {
	case err == nil:
		st.SlowMode, _ = strconv.Atoi(string(e.Value()))
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return st, unavailable("slow mode", err)
	}
	if st.Retention, err = b.roomRetention(ctx, r.ID); err != nil {
		return st, err
	}
	keys, err := b.listKeys(ctx, modlogPrefix(r.ID))
	if err != nil {
		return st, err
	}
	st.Log = []natter.ModAction{}
	for _, k := range keys[max(0, len(keys)-natter.MaxModLog):] {
		e, err := b.dir.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // pruned meanwhile
		}
		if err != nil {
			return st, unavailable("moderation log", err)
		}
		var a natter.ModAction
		if json.Unmarshal(e.Value(), &a) == nil {
			st.Log = append(st.Log, a)
		}
	}
	return st, nil
}

var _ natter.Moderator = (*Broker)(nil)

// ModerateRoom is Moderate for callers that do not wait for edges to apply
// the change (the HTTP API): every edge applies it as its watches see it.
func (b *Broker) ModerateRoom(ctx context.Context, a natter.ModAction) (natter.ModAction, error) {
	done, _, err := b.Moderate(ctx, a)
	return done, err
}
