package edge

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
)

// Quota configures what one user may use (docs/SECURITY.md#quotas). The
// room and member quotas are counted in KV and hold cluster-wide; the
// connection and rate quotas are counted by each edge in memory. Zero
// fields take the defaults below; negative ones switch a quota off.
type Quota struct {
	RoomsPerHour int // rooms (and new DMs) one user may create per hour, cluster-wide
	RoomsPerUser int // rooms (and new DMs) one user may create in total, cluster-wide
	RoomMembers  int // members of one room, cluster-wide
	// AddsPerHour is how many private rooms others may add a user with the
	// "anyone" policy to in an hour; further adds become invitations.
	AddsPerHour  int
	Invitations  int // pending invitations per user; more are refused
	ConnsPerUser int // connections of one user on one edge
	// UserRate is the sends per second of one user, all their connections
	// on all edges together, and UserBurst the sends above it in a burst.
	// Zero: the same as one connection's Config.Rate and Config.Burst, so
	// that many connections let a user send no faster than one does. Edges
	// share it by reporting their users' sends to each other every
	// UserRateInterval (userrate.go; default DefaultUserRateInterval).
	UserRate         float64
	UserBurst        int
	UserRateInterval time.Duration
	RoomOps          int // create, add, remove, dm, accept, decline per user per minute, per edge
}

// Quota defaults.
const (
	DefaultRoomsPerHour = 30
	DefaultRoomsPerUser = 500
	DefaultRoomMembers  = 10000
	DefaultAddsPerHour  = 20
	DefaultInvitations  = 100
	DefaultConnsPerUser = 20
	DefaultRoomOps      = 60
)

// withDefaults fills zero fields with the defaults (UserRate and UserBurst:
// the per-connection ones) and turns negative ones into 0, which means "no
// limit" below.
func (q Quota) withDefaults(connRate float64, connBurst int) Quota {
	for _, f := range []struct {
		v *int
		d int
	}{{&q.RoomsPerHour, DefaultRoomsPerHour}, {&q.RoomsPerUser, DefaultRoomsPerUser},
		{&q.RoomMembers, DefaultRoomMembers}, {&q.AddsPerHour, DefaultAddsPerHour},
		{&q.Invitations, DefaultInvitations}, {&q.ConnsPerUser, DefaultConnsPerUser},
		{&q.UserBurst, connBurst}, {&q.RoomOps, DefaultRoomOps}} {
		defaultOrOff(f.v, f.d)
	}
	defaultOrOff(&q.UserRate, connRate)
	if q.UserRateInterval <= 0 {
		q.UserRateInterval = DefaultUserRateInterval
	}
	return q
}

// userQuota is what one user's connections on this edge share. It lives
// while the user has a connection here; Edge.mu guards conns.
type userQuota struct {
	conns int
	send  *rate.Limiter // sends, across the user's connections
	ops   *rate.Limiter // room management ops
	// typing bounds the typing events one user fans out to rooms, however
	// many connections they type on; clients send one per room every few
	// seconds, so the excess is dropped without a word.
	typing *rate.Limiter
}

// Typing events one user may fan out, per edge: typingRate a second,
// typingBurst at once.
const (
	typingRate  = 2
	typingBurst = 10
)

func (e *Edge) newUserQuota(user natter.UserID) *userQuota {
	q := e.cfg.Quota
	send := rate.NewLimiter(rate.Inf, 0)
	if q.UserRate > 0 {
		send = rate.NewLimiter(rate.Limit(q.UserRate), max(q.UserBurst, 1))
		e.rates.chargeNew(user, send)
	}
	ops := rate.NewLimiter(rate.Inf, 0)
	if q.RoomOps > 0 {
		// A minute's worth may be spent at once: managing rooms is bursty
		// (set up a room, add its people), but not continuous.
		ops = rate.NewLimiter(rate.Limit(float64(q.RoomOps)/60), q.RoomOps)
	}
	return &userQuota{send: send, ops: ops, typing: rate.NewLimiter(typingRate, typingBurst)}
}

// admit counts c against its user's connections on this edge and gives it
// the user's shared limiters; an EQUOTA error if the user has too many.
// Called with e.mu held, from attach.
func (e *Edge) admit(c *conn) error {
	uq := e.userQuotas[c.user]
	if uq == nil {
		uq = e.newUserQuota(c.user)
		e.userQuotas[c.user] = uq
	}
	if max := e.cfg.Quota.ConnsPerUser; max > 0 && uq.conns >= max {
		e.refused("conns_per_user")
		return natter.Errorf(natter.EQUOTA, "%d connections of %s are open on this server, the most allowed", uq.conns, c.user)
	}
	uq.conns++
	c.quota = uq
	return nil
}

// release undoes admit. Called with e.mu held, from detach.
func (e *Edge) release(c *conn) {
	uq := c.quota
	if uq == nil {
		return
	}
	if uq.conns--; uq.conns <= 0 {
		delete(e.userQuotas, c.user)
	}
}

// allowSend takes a send from the user's shared bucket: a user's many
// connections, on this edge and others (userrate.go), together send no
// more than one user may.
func (c *conn) allowSend() error {
	if c.quota == nil {
		return nil
	}
	if !c.quota.send.Allow() {
		c.e.refused("user_rate")
		return natter.Errorf(natter.ERATELIMIT, "more than %g messages a second from %s; slow down", c.e.cfg.Quota.UserRate, c.user)
	}
	c.e.rates.count(c.user)
	return nil
}

// allowTyping takes a typing event from the user's shared bucket.
func (c *conn) allowTyping() bool {
	if c.quota != nil && !c.quota.typing.Allow() {
		c.e.refused("typing")
		return false
	}
	return true
}

// allowRoomOp takes a room management op from the user's shared bucket.
func (c *conn) allowRoomOp() error {
	if c.quota != nil && !c.quota.ops.Allow() {
		c.e.refused("room_ops")
		return natter.Errorf(natter.ERATELIMIT, "more than %d room operations a minute from %s; slow down", c.e.cfg.Quota.RoomOps, c.user)
	}
	return nil
}

// createRoom creates r for user within user's room quotas. Only a room
// this call created counts; the quota is taken first and given back if the
// room existed, so that racing creates cannot overrun it.
func (e *Edge) createRoom(ctx context.Context, user natter.UserID, r natter.Room) (natter.Room, bool, error) {
	q := e.cfg.Quota
	if old, err := e.b.Room(ctx, r.ID); err == nil {
		// An existing room costs no quota; answered as CreateRoom would.
		if old.Kind != r.Kind {
			return old, false, natter.Errorf(natter.ECONFLICT, "room %s exists and is %s", r.ID, old.Kind)
		}
		return old, false, nil
	}
	now := time.Now()
	lim := broker.Limit{Total: q.RoomsPerUser, PerWindow: q.RoomsPerHour, Window: time.Hour}
	refused, err := e.quotas.Take(ctx, broker.RoomsKey(user), lim, now)
	if err != nil {
		return natter.Room{}, false, err
	}
	if refused != nil {
		return natter.Room{}, false, e.roomQuotaError(q, refused, now)
	}
	room, created, err := e.b.CreateRoom(ctx, r)
	if created {
		err = e.quotas.NewRoom(ctx, r.ID)
	} else if gerr := e.quotas.Give(ctx, broker.RoomsKey(user), now); gerr != nil {
		e.log.Warn("room quota not given back", "user", user, "err", gerr)
	}
	return room, created, err
}

func (e *Edge) roomQuotaError(q Quota, r *broker.Refusal, now time.Time) error {
	if r.Total {
		e.refused("rooms_per_user")
		return natter.Errorf(natter.EQUOTA, "room quota: at most %d rooms per user, all used (rooms are not deleted, so this does not free up)", q.RoomsPerUser)
	}
	e.refused("rooms_per_hour")
	return natter.Errorf(natter.EQUOTA, "room quota: at most %d new rooms per hour; the next frees up in %s (at %s)",
		q.RoomsPerHour, r.FreeAt.Sub(now).Round(time.Second), r.FreeAt.UTC().Format(time.RFC3339))
}

// refused counts a refusal by quota.
func (e *Edge) refused(quota string) { e.m.QuotaRefusals.WithLabelValues(quota).Inc() }

// addOrInvite adds user to the private room r on behalf of c's user, or,
// if user's add policy or adds-per-hour quota says so, invites them
// instead. It reports whether it invited.
func (c *conn) addOrInvite(ctx context.Context, r natter.Room, user natter.UserID) (bool, error) {
	e := c.e
	if user == c.user {
		_, err := e.addMember(ctx, r, user)
		return false, err
	}
	if member, err := e.b.IsMember(ctx, r.ID, user); err != nil || member {
		return false, err
	}
	policy, err := e.quotas.Policy(ctx, user)
	if err != nil {
		return false, err
	}
	if policy == broker.PolicyAnyone {
		direct, took := true, false
		now := time.Now()
		if n := e.cfg.Quota.AddsPerHour; n > 0 {
			refused, err := e.quotas.Take(ctx, broker.AddsKey(user), broker.Limit{PerWindow: n, Window: time.Hour}, now)
			if err != nil {
				return false, err
			}
			direct, took = refused == nil, refused == nil
			if !direct {
				e.refused("adds_per_hour")
			}
		}
		if direct {
			_, err := e.addMember(ctx, r, user)
			if err != nil && took {
				// Not added (the room is full): the add used none of the user's consent.
				_ = e.quotas.Give(ctx, broker.AddsKey(user), now)
			}
			return false, err
		}
	}
	inv := broker.Invitation{Room: r.ID, Kind: r.Kind, Owner: r.Owner, From: c.user, At: time.Now().UTC()}
	if err := e.quotas.Invite(ctx, user, inv, e.cfg.Quota.Invitations); err != nil {
		if natter.ErrorCode(err) == natter.EQUOTA {
			e.refused("invitations")
		}
		return false, err
	}
	e.notify(user, event{Type: evRoom, Room: r.ID, Kind: r.Kind, Owner: r.Owner, Action: actionInvited, From: c.user})
	return true, nil
}

// actionInvited is the room event's action for an invitation.
const actionInvited = "invited"
