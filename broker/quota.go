package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// quotaBucket holds what cluster-wide quotas are counted with, and the
// consent settings and invitations that quotas on adds lead to. It lives in
// KV, not in an edge's memory, so that every edge sees the same counts and
// they survive restarts:
//
//	rooms.<user>          -> Usage (JSON): rooms the user created
//	adds.<user>           -> Usage (JSON): rooms others added the user to
//	members.<room>        -> decimal count of the room's members
//	policy.<user>         -> the user's add policy ("anyone" or "invite")
//	invite.<user>.<room>  -> Invitation (JSON)
//
// Every update is a compare-and-set on the key's revision, retried on
// conflict, so edges racing for the last unit of a quota cannot both win.
const quotaBucket = "natter-quota"

// casAttempts and casBudget bound the retries of one compare-and-set
// update: it gives up after both the attempts and the time are spent. A
// crowd of writers of one key (a thousand clients joining one room at
// once) needs time rather than attempts: each write waits for the one
// before it.
const (
	casAttempts = 20
	casBudget   = 5 * time.Second
)

// casBackoff waits before retry i of a compare-and-set that lost its race:
// a random time up to 1 ms << i, at most 512 ms, so that the writers spread
// out instead of colliding again in lockstep.
func casBackoff(ctx context.Context, i int) error {
	t := time.NewTimer(time.Duration(rand.Int64N(int64(time.Millisecond) << min(i, 9))))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Quotas is the cluster-wide quota store. The bucket is created on first
// use. It is safe for concurrent use; keep one per process.
type Quotas struct {
	b  *Broker
	mu sync.Mutex
	kv jetstream.KeyValue
}

// Quotas returns a quota store on b.
func (b *Broker) Quotas() *Quotas { return &Quotas{b: b} }

func (q *Quotas) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.kv != nil {
		return q.kv, nil
	}
	kv, err := q.b.createBucket(ctx, quotaBucket, "quota counters, add policies and invitations")
	if err != nil {
		return nil, unavailable("quotas", err)
	}
	q.kv = kv
	return kv, nil
}

// update applies fn to the value of key (nil if absent) and stores what it
// returns, retrying when another writer got in between. fn returning a nil
// value stores nothing.
func (q *Quotas) update(ctx context.Context, key string, fn func(old []byte) ([]byte, error)) error {
	kv, err := q.bucket(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	for i := 0; i < casAttempts || time.Since(start) < casBudget; i++ {
		if i > 0 {
			if err := casBackoff(ctx, i); err != nil {
				return unavailable("quota", err)
			}
		}
		var old []byte
		var rev uint64
		e, err := kv.Get(ctx, key)
		switch {
		case err == nil:
			old, rev = e.Value(), e.Revision()
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			return unavailable("quota", err)
		}
		next, err := fn(old)
		if err != nil || next == nil {
			return err
		}
		if rev == 0 {
			_, err = kv.Create(ctx, key, next)
		} else {
			_, err = kv.Update(ctx, key, next, rev)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return unavailable("quota", err)
		}
	}
	return natter.Errorf(natter.EUNAVAILABLE, "quota contention on %s", key)
}

// Usage is how much of a quota a user has used: in total, and when each
// recent use happened (unix nanoseconds, oldest first; only those within
// the window are kept, so the record stays as small as the window's limit).
type Usage struct {
	Total  int     `json:"total"`
	Recent []int64 `json:"recent,omitempty"`
}

// Limit is a quota on a Usage: at most Total uses ever and PerWindow uses
// in any Window (zero or negative: no such limit).
type Limit struct {
	Total     int
	PerWindow int
	Window    time.Duration
}

// Refusal says why Take refused and when the quota frees up (zero if it
// never does by itself).
type Refusal struct {
	Total  bool // the total was reached (else the window's limit)
	FreeAt time.Time
}

// Take records one use of the quota at key, at now, unless lim is reached:
// then it records nothing and returns the refusal.
func (q *Quotas) Take(ctx context.Context, key string, lim Limit, now time.Time) (*Refusal, error) {
	var refused *Refusal
	err := q.update(ctx, key, func(old []byte) ([]byte, error) {
		refused = nil
		var u Usage
		if old != nil {
			if err := json.Unmarshal(old, &u); err != nil {
				return nil, fmt.Errorf("broker: quota %s: %w", key, err)
			}
		}
		u.Recent = recent(u.Recent, now, lim.Window)
		switch {
		case lim.Total > 0 && u.Total >= lim.Total:
			refused = &Refusal{Total: true}
			return nil, nil
		case lim.PerWindow > 0 && len(u.Recent) >= lim.PerWindow:
			refused = &Refusal{FreeAt: time.Unix(0, u.Recent[len(u.Recent)-lim.PerWindow]).Add(lim.Window)}
			return nil, nil
		}
		u.Total++
		if lim.PerWindow > 0 {
			u.Recent = append(u.Recent, now.UnixNano())
		}
		return json.Marshal(u)
	})
	return refused, err
}

// Give undoes a Take made at the time at: the use did not happen after all
// (the room existed already).
func (q *Quotas) Give(ctx context.Context, key string, at time.Time) error {
	return q.update(ctx, key, func(old []byte) ([]byte, error) {
		var u Usage
		if old == nil || json.Unmarshal(old, &u) != nil {
			return nil, nil
		}
		u.Total = max(u.Total-1, 0)
		for i, t := range u.Recent {
			if t == at.UnixNano() {
				u.Recent = append(u.Recent[:i], u.Recent[i+1:]...)
				break
			}
		}
		return json.Marshal(u)
	})
}

// recent drops the times older than window before now.
func recent(ts []int64, now time.Time, window time.Duration) []int64 {
	cut := now.Add(-window).UnixNano()
	i := 0
	for i < len(ts) && ts[i] <= cut {
		i++
	}
	return ts[i:]
}

// RoomsKey and AddsKey are the keys of a user's room-creation and
// added-by-others usage.
func RoomsKey(u natter.UserID) string { return "rooms." + string(u) }
func AddsKey(u natter.UserID) string  { return "adds." + string(u) }

func membersKey(r natter.RoomID) string { return "members." + string(r) }

// AddMember makes user a member of room unless the room has max members
// (max <= 0: no cap), which is an EQUOTA error. It reports whether user is
// a new member. The count stays equal to the number of member keys: it is
// raised before the member key is created (KV Create, which tells a new
// member from an existing one) and given back if the key existed, so that
// racing adds can never take a room over max. The membership itself is
// then written by Broker.AddMember, like every other.
func (q *Quotas) AddMember(ctx context.Context, room natter.RoomID, user natter.UserID, maxMembers int) (uint64, error) {
	b := q.b
	if member, err := b.IsMember(ctx, room, user); err != nil || member {
		return 0, err
	}
	if err := q.count(ctx, room, +1, maxMembers); err != nil {
		return 0, err
	}
	_, err := b.dir.Create(ctx, memberKey(room, user), []byte("1"))
	if errors.Is(err, jetstream.ErrKeyExists) {
		// Another add of the same user won the race and counted it.
		return 0, q.count(ctx, room, -1, 0)
	}
	if err != nil {
		_ = q.count(ctx, room, -1, 0)
		return 0, unavailable("add member", err)
	}
	return b.PutMember(ctx, room, user)
}

// RemoveMember removes user from room (no error if not a member) and
// lowers the member count if this call ended the membership.
// It returns the revision of the membership's deletion (see DeleteMember).
func (q *Quotas) RemoveMember(ctx context.Context, room natter.RoomID, user natter.UserID) (uint64, error) {
	b := q.b
	for range casAttempts {
		e, err := b.dir.Get(ctx, memberKey(room, user))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return b.DeleteMember(ctx, room, user) // tidy the other direction
		}
		if err != nil {
			return 0, unavailable("remove member", err)
		}
		err = b.dir.Delete(ctx, memberKey(room, user), jetstream.LastRevision(e.Revision()))
		if isWrongSequence(err) {
			continue
		}
		if err != nil {
			return 0, unavailable("remove member", err)
		}
		if err := q.count(ctx, room, -1, 0); err != nil {
			return 0, err
		}
		return b.DeleteMember(ctx, room, user)
	}
	return 0, natter.Errorf(natter.EUNAVAILABLE, "membership contention on %s", room)
}

// NewRoom starts the member count of a room this process just created at
// zero, so that its first add need not count its member keys.
func (q *Quotas) NewRoom(ctx context.Context, room natter.RoomID) error {
	kv, err := q.bucket(ctx)
	if err != nil {
		return err
	}
	_, err = kv.Create(ctx, membersKey(room), []byte("0"))
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return unavailable("quota", err)
	}
	return nil
}

// MemberCount is the counted number of members of room.
func (q *Quotas) MemberCount(ctx context.Context, room natter.RoomID) (int, error) {
	v, err := q.get(ctx, membersKey(room))
	if err != nil || v == nil {
		members, merr := q.b.Members(ctx, room)
		return len(members), errors.Join(err, merr)
	}
	n, _ := strconv.Atoi(string(v))
	return n, nil
}

// get returns the value of key, nil if absent.
func (q *Quotas) get(ctx context.Context, key string) ([]byte, error) {
	kv, err := q.bucket(ctx)
	if err != nil {
		return nil, err
	}
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable("quota", err)
	}
	return e.Value(), nil
}

// count changes room's member count by delta, refusing to go above
// maxMembers (if > 0) with EQUOTA. A room without a count (created before
// counts existed) is counted once from its member keys.
func (q *Quotas) count(ctx context.Context, room natter.RoomID, delta, maxMembers int) error {
	return q.update(ctx, membersKey(room), func(old []byte) ([]byte, error) {
		var n int
		if old == nil {
			members, err := q.b.Members(ctx, room)
			if err != nil {
				return nil, err
			}
			// Counted after a removal's delete: the list reflects it.
			n, delta = len(members), max(delta, 0)
		} else if v, err := strconv.Atoi(string(old)); err == nil {
			n = v
		}
		if delta > 0 && maxMembers > 0 && n+delta > maxMembers {
			return nil, natter.Errorf(natter.EQUOTA, "room %s has %d members, the most allowed (--max-room-members)", room, n)
		}
		return []byte(strconv.Itoa(max(n+delta, 0))), nil
	})
}

// Add policies: who may add a user to a private room directly.
const (
	PolicyAnyone = "anyone" // direct adds, up to the adds-per-hour quota; invitations beyond it
	PolicyInvite = "invite" // every add by someone else is an invitation
)

func policyKey(u natter.UserID) string { return "policy." + string(u) }

// Policy returns user's add policy (PolicyAnyone if never set).
func (q *Quotas) Policy(ctx context.Context, user natter.UserID) (string, error) {
	v, err := q.get(ctx, policyKey(user))
	if string(v) == PolicyInvite {
		return PolicyInvite, err
	}
	return PolicyAnyone, err
}

// SetPolicy stores user's add policy.
func (q *Quotas) SetPolicy(ctx context.Context, user natter.UserID, policy string) error {
	if policy != PolicyAnyone && policy != PolicyInvite {
		return natter.Errorf(natter.EINVALID, "add_policy must be %s or %s", PolicyAnyone, PolicyInvite)
	}
	kv, err := q.bucket(ctx)
	if err != nil {
		return err
	}
	if _, err := kv.PutString(ctx, policyKey(user), policy); err != nil {
		return unavailable("set policy", err)
	}
	return nil
}

// Invitation is a pending offer of membership in a private room.
type Invitation struct {
	Room  natter.RoomID   `json:"room"`
	Kind  natter.RoomKind `json:"kind"`
	Owner natter.UserID   `json:"owner"`
	From  natter.UserID   `json:"from"`
	At    time.Time       `json:"at"`
}

func inviteKey(u natter.UserID, r natter.RoomID) string {
	return "invite." + string(u) + "." + string(r)
}
func invitePrefix(u natter.UserID) string { return "invite." + string(u) + "." }

// Invite stores an invitation of user, unless user has maxPending
// invitations already (maxPending <= 0: no cap): that is an EQUOTA error,
// and further invitations are refused until user accepts or declines some.
// Refusing new ones rather than dropping old ones keeps a flood from
// pushing genuine invitations out. Inviting again to the same room
// replaces the invitation and needs no room under the cap.
func (q *Quotas) Invite(ctx context.Context, user natter.UserID, inv Invitation, maxPending int) error {
	kv, err := q.bucket(ctx)
	if err != nil {
		return err
	}
	keys, err := listKeysOf(ctx, kv, invitePrefix(user))
	if err != nil {
		return err
	}
	if maxPending > 0 && len(keys) >= maxPending && !slices.Contains(keys, inviteKey(user, inv.Room)) {
		return natter.Errorf(natter.EQUOTA, "%s has %d pending invitations, the most allowed (--max-invitations)", user, len(keys))
	}
	data, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, inviteKey(user, inv.Room), data); err != nil {
		return unavailable("invite", err)
	}
	return nil
}

// Invitations lists user's pending invitations, by room id.
func (q *Quotas) Invitations(ctx context.Context, user natter.UserID) ([]Invitation, error) {
	kv, err := q.bucket(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := listKeysOf(ctx, kv, invitePrefix(user))
	if err != nil {
		return nil, err
	}
	out := make([]Invitation, 0, len(keys))
	for _, k := range keys {
		inv, err := q.Invitation(ctx, user, natter.RoomID(strings.TrimPrefix(k, invitePrefix(user))))
		if natter.ErrorCode(err) == natter.ENOTFOUND {
			continue // accepted or declined meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, nil
}

// Invitation returns user's invitation to room, or an ENOTFOUND error.
func (q *Quotas) Invitation(ctx context.Context, user natter.UserID, room natter.RoomID) (Invitation, error) {
	var inv Invitation
	v, err := q.get(ctx, inviteKey(user, room))
	if err != nil {
		return inv, err
	}
	if v == nil {
		return inv, natter.Errorf(natter.ENOTFOUND, "no invitation to %s", room)
	}
	if err := json.Unmarshal(v, &inv); err != nil {
		return inv, fmt.Errorf("broker: invitation %s/%s: %w", user, room, err)
	}
	return inv, nil
}

// DeleteInvitation removes user's invitation to room (no error if none).
func (q *Quotas) DeleteInvitation(ctx context.Context, user natter.UserID, room natter.RoomID) error {
	kv, err := q.bucket(ctx)
	if err != nil {
		return err
	}
	if err := kv.Delete(ctx, inviteKey(user, room)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return unavailable("delete invitation", err)
	}
	return nil
}
