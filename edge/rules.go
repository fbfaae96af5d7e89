package edge

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
)

// rules is the edge's own, reliable knowledge of who may be in and send to
// a room, kept from two directory watches so that sends (the hot path)
// never wait for the directory:
//
//   - removals: every deletion of a membership, in order. The edge
//     unsubscribes the removed user's connections here at once and
//     remembers the removal for a while, so that a join that checked the
//     membership before the removal cannot register after it (see admits).
//   - moderation: bans, mutes, admins and slow mode of every room, held in
//     memory (they are few), for the send checks.
//
// The ephemeral member events still go to clients, but nothing here
// depends on them: a lost event cannot keep a removed user in a room.
type rules struct {
	e *Edge

	startMu          sync.Mutex
	members, mods    *broker.DirWatch
	stopWatches      context.CancelFunc
	started, running bool

	mu          sync.RWMutex // read-locked by sends, the hot path
	removed     map[roomUser]removal
	pruned      time.Time
	bans        map[roomUser]bool
	mutes       map[roomUser]bool
	admins      map[roomUser]bool
	slow        map[natter.RoomID]time.Duration
	retain      map[natter.RoomID]time.Duration // room retention: the TTL of its new messages
	lastSend    map[roomUser]time.Time          // slow mode: this edge's last accepted send
	sendsPruned time.Time
}

type roomUser struct {
	room natter.RoomID
	user natter.UserID
}

// removal is a membership deletion seen by the watch.
type removal struct {
	rev uint64
	at  time.Time
}

// removalMemory is how long a removal is remembered. A join's membership
// check older than half of it is not trusted (see admission).
const removalMemory = time.Minute

func newRules(e *Edge) *rules {
	return &rules{e: e, removed: map[roomUser]removal{}, bans: map[roomUser]bool{}, mutes: map[roomUser]bool{},
		admins: map[roomUser]bool{}, slow: map[natter.RoomID]time.Duration{}, retain: map[natter.RoomID]time.Duration{}, lastSend: map[roomUser]time.Time{}}
}

// start begins the watches once, before the edge's first user is served,
// and waits for the moderation state to be loaded.
func (r *rules) start(ctx context.Context) error {
	r.startMu.Lock()
	defer r.startMu.Unlock()
	if r.started {
		return nil
	}
	wctx, cancel := context.WithCancel(r.e.ctx)
	members, err := r.e.b.WatchDir(wctx, []string{"member"}, false, r.memberChanged, r.revalidate)
	if err != nil {
		cancel()
		return err
	}
	mods, err := r.e.b.WatchDir(wctx, []string{"ban", "mute", "role", "slow", "retention"}, true, r.ruleChanged, nil)
	if err != nil {
		cancel()
		return err
	}
	select {
	case <-mods.Ready():
	case <-ctx.Done():
		cancel()
		return natter.Errorf(natter.EUNAVAILABLE, "moderation state not loaded: %v", ctx.Err())
	}
	stop, err := r.e.b.ServeApplied(r.e.id, members.Wait)
	if err != nil {
		cancel()
		return err
	}
	context.AfterFunc(wctx, stop)
	r.members, r.mods, r.stopWatches, r.started = members, mods, cancel, true
	return nil
}

// wait returns once this edge applies what ap wrote.
func (r *rules) wait(ctx context.Context, ap broker.Applied) error {
	if !r.isStarted() {
		return nil // no connection here yet, so nothing to apply
	}
	if ap.MemberRev > 0 {
		if err := r.members.Wait(ctx, ap.MemberRev); err != nil {
			return err
		}
	}
	if ap.RuleRev > 0 {
		return r.mods.Wait(ctx, ap.RuleRev)
	}
	return nil
}

func (r *rules) isStarted() bool {
	r.startMu.Lock()
	defer r.startMu.Unlock()
	return r.started
}

// memberChanged handles a membership change: a removal unsubscribes the
// user's connections that joined with an older membership.
func (r *rules) memberChanged(ch broker.DirChange) {
	if !ch.Deleted {
		return
	}
	now := time.Now()
	r.mu.Lock()
	r.removed[roomUser{ch.Room, ch.User}] = removal{rev: ch.Rev, at: now}
	if now.Sub(r.pruned) > removalMemory {
		for k, v := range r.removed {
			if now.Sub(v.at) > removalMemory {
				delete(r.removed, k)
			}
		}
		r.pruned = now
	}
	r.mu.Unlock()
	r.e.kick(ch.Room, ch.User, ch.Rev)
}

// ruleChanged keeps the moderation state.
func (r *rules) ruleChanged(ch broker.DirChange) {
	k := roomUser{ch.Room, ch.User}
	r.mu.Lock()
	defer r.mu.Unlock()
	set := func(m map[roomUser]bool) {
		if ch.Deleted {
			delete(m, k)
		} else {
			m[k] = true
		}
	}
	switch ch.Kind {
	case "ban":
		set(r.bans)
	case "mute":
		set(r.mutes)
	case "role":
		set(r.admins)
	case "slow", "retention":
		m := r.slow
		if ch.Kind == "retention" {
			m = r.retain
		}
		n, _ := strconv.Atoi(string(ch.Value))
		if ch.Deleted || n <= 0 {
			delete(m, ch.Room)
		} else {
			m[ch.Room] = time.Duration(n) * time.Second
		}
	}
}

// retention is room's retention as this edge knows it, 0 if none.
func (r *rules) retention(room natter.RoomID) time.Duration {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.retain[room]
}

func (r *rules) retentionSeconds(room natter.RoomID) int {
	return int(r.retention(room) / time.Second)
}

// admission is what a join learned from the directory: the revision of
// the membership it saw and when it looked.
type admission struct {
	rev   uint64
	at    time.Time
	owner natter.UserID
}

// admits reports whether a join that saw membership a of user in room may
// still register: no removal newer than the membership it saw, and a check
// recent enough to be covered by the removals remembered. Called with the
// room lock held, which the removal's kick takes after recording it.
func (r *rules) admits(room natter.RoomID, user natter.UserID, a admission) bool {
	if time.Since(a.at) > removalMemory/2 {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	rm, ok := r.removed[roomUser{room, user}]
	return !ok || rm.rev < a.rev
}

// banned reports whether this edge knows user to be banned from room.
func (r *rules) banned(room natter.RoomID, user natter.UserID) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.bans[roomUser{room, user}]
}

// maySend checks mute and slow mode for one send and, if it may go,
// counts it against slow mode. Owners and admins are exempt from slow mode.
// Slow mode is the user's across the cluster: this edge's memory refuses
// early, and an accepted send claims its slot in the directory.
func (r *rules) maySend(ctx context.Context, room natter.RoomID, user, owner natter.UserID, now time.Time) error {
	k := roomUser{room, user}
	r.mu.RLock()
	muted, every, admin := r.mutes[k], r.slow[room], r.admins[k]
	r.mu.RUnlock()
	if muted {
		return natter.Errorf(natter.EMUTED, "you are muted in %s", room)
	}
	if every == 0 || user == owner || admin {
		return nil
	}
	r.mu.Lock()
	last, ok := r.lastSend[k]
	if !ok || now.Sub(last) >= every {
		r.lastSend[k] = now
	}
	r.pruneSends(now)
	r.mu.Unlock()
	if ok && now.Sub(last) < every {
		return &slowErr{wait: every - now.Sub(last), room: room}
	}
	wait, err := r.e.b.ClaimSlowSend(ctx, room, user, now, every)
	if err != nil || wait == 0 {
		return err
	}
	r.mu.Lock()
	r.lastSend[k] = now.Add(wait - every) // the other edge's send, as far as waiting goes
	r.mu.Unlock()
	return &slowErr{wait: wait, room: room}
}

// pruneSends forgets, once a minute, sends that no longer hold anyone
// back. Called with r.mu held.
func (r *rules) pruneSends(now time.Time) {
	if now.Sub(r.sendsPruned) < time.Minute {
		return
	}
	for k, t := range r.lastSend {
		if now.Sub(t) > r.slow[k.room] {
			delete(r.lastSend, k)
		}
	}
	r.sendsPruned = now
}

// muted reports whether user is muted in room.
func (r *rules) muted(room natter.RoomID, user natter.UserID) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.mutes[roomUser{room, user}]
}

// slowErr is ESLOWMODE with how long to wait.
type slowErr struct {
	wait time.Duration
	room natter.RoomID
}

func (e *slowErr) Error() string { return e.unwrap().Error() }
func (e *slowErr) Unwrap() error { return e.unwrap() }
func (e *slowErr) unwrap() *natter.Error {
	return natter.Errorf(natter.ESLOWMODE, "slow mode in %s: wait %.1fs", e.room, e.wait.Seconds())
}

// admitSend checks that c's user may send to id now: joined (which the
// removals watch keeps true only for members), not banned, not muted, not
// held by slow mode. It returns holding c.sendMu, which kick waits for;
// the caller releases it once the message is handed to the broker.
func (c *conn) admitSend(ctx context.Context, id natter.RoomID) (release func(), err error) {
	c.sendMu.Lock()
	m := c.memberOf(id)
	switch {
	case m == nil && c.e.rules.banned(id, c.user):
		err = natter.Errorf(natter.EBANNED, "you are banned from %s", id)
	case m == nil:
		err = natter.Errorf(natter.EFORBIDDEN, "join %s before sending to it", id)
	default:
		err = c.e.rules.maySend(ctx, id, c.user, m.owner, time.Now())
	}
	if err != nil {
		c.sendMu.Unlock()
		return nil, err
	}
	return c.sendMu.Unlock, nil
}

// memberOf is c's live subscription to id, or nil.
func (c *conn) memberOf(id natter.RoomID) *member {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := c.roomIndex(id); i >= 0 && !c.rooms[i].gone.Load() {
		return c.rooms[i]
	}
	return nil
}
