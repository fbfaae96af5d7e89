package edge

import (
	"context"
	"slices"
	"time"

	"github.com/natter-chat/natter"
)

// How a removal takes effect on this edge (kick), after a lost watch
// (revalidate), and on the other edges before it is answered (awaitOthers).

// followedRooms is a snapshot of the rooms this edge follows.
func (e *Edge) followedRooms() []*room {
	e.mu.Lock()
	defer e.mu.Unlock()
	rooms := make([]*room, 0, len(e.rooms))
	for _, r := range e.rooms {
		rooms = append(rooms, r)
	}
	return rooms
}

// localRoom is the room id as this edge follows it, or nil.
func (e *Edge) localRoom(id natter.RoomID) *room {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rooms[id]
}

// kick unsubscribes user's connections from room that joined with a
// membership older than the removal of revision rev, and waits until no
// send of theirs that passed its checks is still being handed to the
// broker, so that nothing of theirs is stored after the removal is answered.
func (e *Edge) kick(id natter.RoomID, user natter.UserID, rev uint64) {
	r := e.localRoom(id)
	if r == nil {
		return
	}
	var conns []*conn
	r.mu.Lock()
	for c, m := range r.members {
		if c.user == user && m.rev < rev {
			conns = append(conns, c)
		}
	}
	r.mu.Unlock()
	for _, c := range conns {
		r.remove(c)
		c.leave(id, nil)
		c.sendMu.Lock() // a barrier: wait out a send past its checks
		c.sendMu.Unlock()
	}
}

// revalidate runs after the removals watch had to start again, when
// removals may have been missed: every local member of every followed
// room is checked against the directory.
func (r *rules) revalidate() {
	e := r.e
	for _, rm := range e.followedRooms() {
		rm.mu.Lock()
		users := make([]natter.UserID, 0, len(rm.users))
		for u := range rm.users {
			users = append(users, u)
		}
		rm.mu.Unlock()
		for _, u := range users {
			ctx, cancel := context.WithTimeout(e.ctx, opTimeout)
			rev, err := e.b.MemberRev(ctx, rm.id, u)
			cancel()
			if err != nil {
				e.log.Warn("membership not revalidated", "room", rm.id, "user", u, "err", err)
				continue
			}
			if rev == 0 {
				e.kick(rm.id, u, ^uint64(0))
			}
		}
	}
}

// othersWait bounds how long a removal waits for the other edges.
const othersWait = 2 * time.Second

// awaitOthers returns once the other edges with anyone in room (as this
// edge's presence knows them) have applied the removal of revision rev, or
// after othersWait: then the removal stands (it is in the directory) and
// those edges apply it when their watch gets there.
func (e *Edge) awaitOthers(ctx context.Context, id natter.RoomID, rev uint64) {
	r := e.localRoom(id)
	if r == nil {
		return
	}
	var edges []string
	r.mu.Lock()
	for _, seen := range r.presence {
		for _, s := range seen {
			if !slices.Contains(edges, s.edge) {
				edges = append(edges, s.edge)
			}
		}
	}
	r.mu.Unlock()
	if len(edges) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, othersWait)
	defer cancel()
	if err := e.b.AwaitApplied(ctx, edges, rev); err != nil {
		e.log.Warn("removal not confirmed by every edge", "room", id, "edges", len(edges), "err", err)
	}
}
