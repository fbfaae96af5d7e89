package edge

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"

	"github.com/natter-chat/natter"
)

// Presence is cluster-wide and converges without any node saying goodbye.
//
// Every edge announces, on the room's event subject, when a user gets their
// first local connection in a room (presence online) and loses their last
// (presence offline), and every PresenceInterval it re-announces the full
// list of its local users in each room it follows (presence_sync). Every
// edge keeps, per room, which edges have each user online and when it last
// heard so; an entry not refreshed for presenceExpiry intervals is dropped,
// which is how the users of an edge that died disappear. Clients see only
// the resulting transitions: a presence event when a user goes from no edge
// to some edge (online) or from some edge to none (offline).
//
// When an edge starts following a room it asks the others to announce
// at once (presence_query), so its snapshot in joined fills within a round
// trip rather than an interval.

// Internal presence event types, never sent to clients.
const (
	evPresenceSync  = "presence_sync"
	evPresenceQuery = "presence_query"
)

// presenceExpiry is how many intervals an edge's announcement stays valid.
const presenceExpiry = 3

var presenceTag = []byte(`"type":"presence`)

// presenceEvent is the wire form of the events between edges.
type presenceEvent struct {
	Type   string          `json:"type"`
	Room   natter.RoomID   `json:"room"`
	User   natter.UserID   `json:"user,omitempty"`
	Status string          `json:"status,omitempty"`
	Edge   string          `json:"edge"`
	Users  []natter.UserID `json:"users,omitempty"`
}

// edgeSeen is one edge's latest announcement of a user in a room.
type edgeSeen struct {
	edge string
	at   time.Time
}

// A user is online in a room when they have a local connection in it
// (r.users) or another edge has announced them (r.presence, which holds
// other edges only: this edge's own announcements come back to it and are
// ignored). r.onlineN counts those users.

// isOnline reports whether user is online anywhere. Called with r.mu held.
func (r *room) isOnline(user natter.UserID) bool {
	return r.users[user] > 0 || len(r.presence[user]) > 0
}

// cameOnline counts user as online and returns the client event to send,
// if any. Called with r.mu held, when the user was not online.
func (r *room) cameOnline(user natter.UserID) []byte {
	r.onlineN++
	if r.presenceShown() {
		return encode(event{Type: evPresence, Room: r.id, User: user, Status: "online"})
	}
	return nil
}

// wentOffline is cameOnline's reverse, for a user no longer online anywhere.
func (r *room) wentOffline(user natter.UserID) []byte {
	shown := r.presenceShown()
	r.onlineN--
	if shown {
		return encode(event{Type: evPresence, Room: r.id, User: user, Status: "offline"})
	}
	return nil
}

// seen records that another edge has user online now. Called with r.mu
// held; it returns the client event to send if this makes the user online.
func (r *room) seen(user natter.UserID, edge string, now time.Time) []byte {
	if edge == r.e.id {
		return nil
	}
	edges := r.presence[user]
	for i := range edges {
		if edges[i].edge == edge {
			edges[i].at = now // a refresh: the user was already online
			return nil
		}
	}
	was := r.isOnline(user)
	r.presence[user] = append(edges, edgeSeen{edge, now})
	if !was {
		return r.cameOnline(user)
	}
	return nil
}

// presenceShown reports whether the room is small enough for presence to
// reach its clients. In a room of thousands, every arrival and departure
// told to every member is a quadratic flood (a reconnect storm would send
// millions of frames) and no interface shows it anyway; the edges still
// track who is there. Called with r.mu held.
func (r *room) presenceShown() bool { return r.onlineN <= r.e.cfg.PresenceLimit }

// gone records that another edge no longer has user. Called with r.mu
// held; it returns the client event to send if the user is now offline
// everywhere.
func (r *room) gone(user natter.UserID, edge string) []byte {
	edges := r.presence[user]
	i := slices.IndexFunc(edges, func(s edgeSeen) bool { return s.edge == edge })
	if i < 0 {
		return nil
	}
	if edges = slices.Delete(edges, i, i+1); len(edges) > 0 {
		r.presence[user] = edges
		return nil
	}
	delete(r.presence, user)
	if r.users[user] == 0 {
		return r.wentOffline(user)
	}
	return nil
}

func hasEdge(edges []edgeSeen, edge string) bool {
	return slices.ContainsFunc(edges, func(s edgeSeen) bool { return s.edge == edge })
}

// online lists the users online in the room on any edge. Called with r.mu held.
// Above PresenceLimit it is nil (see presenceShown).
func (r *room) online() []natter.UserID {
	if !r.presenceShown() {
		return nil
	}
	out := make([]natter.UserID, 0, r.onlineN)
	for u := range r.users {
		out = append(out, u)
	}
	for u := range r.presence {
		if r.users[u] == 0 {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// localUsers lists the users with local connections. Called with r.mu held.
func (r *room) localUsers() []natter.UserID { return sortedUsers(r.users) }

func sortedUsers[V any](m map[natter.UserID]V) []natter.UserID {
	out := make([]natter.UserID, 0, len(m))
	for u := range m {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// presenceEvent applies an edge-to-edge presence event and returns the
// client events it causes. Called with r.mu held.
func (r *room) applyPresence(data []byte) (out [][]byte, query bool) {
	var ev presenceEvent
	if json.Unmarshal(data, &ev) != nil || ev.Edge == "" || ev.Edge == r.e.id {
		return nil, false // malformed, or this edge's own
	}
	now := time.Now()
	add := func(b []byte) {
		if b != nil {
			out = append(out, b)
		}
	}
	switch ev.Type {
	case evPresence:
		if ev.Status == "online" {
			add(r.seen(ev.User, ev.Edge, now))
		} else {
			add(r.gone(ev.User, ev.Edge))
		}
	case evPresenceSync:
		for _, u := range ev.Users {
			add(r.seen(u, ev.Edge, now))
		}
		for u, edges := range r.presence {
			if hasEdge(edges, ev.Edge) && !slices.Contains(ev.Users, u) {
				add(r.gone(u, ev.Edge))
			}
		}
	case evPresenceQuery:
		return nil, true
	}
	return out, false
}

// expire drops announcements older than the expiry. Called with r.mu held.
func (r *room) expire(now time.Time) [][]byte {
	var out [][]byte
	limit := presenceExpiry * r.e.cfg.PresenceInterval
	var stale []string
	for u, edges := range r.presence {
		stale = stale[:0]
		for _, s := range edges {
			if s.edge != r.e.id && now.Sub(s.at) > limit {
				stale = append(stale, s.edge)
			}
		}
		for _, edge := range stale { // gone changes edges: not while ranging over it
			if b := r.gone(u, edge); b != nil {
				out = append(out, b)
			}
		}
	}
	return out
}

// announce publishes this edge's local users of the room.
func (r *room) announce() {
	r.mu.Lock()
	users := r.localUsers()
	r.mu.Unlock()
	r.e.publishPresence(presenceEvent{Type: evPresenceSync, Room: r.id, Edge: r.e.id, Users: users})
}

func (e *Edge) publishPresence(ev presenceEvent) {
	data, _ := json.Marshal(ev)
	if err := e.b.PublishEvent(ev.Room, data); err != nil {
		e.log.Warn("presence not sent", "room", ev.Room, "err", err)
	}
}

// presenceLoop re-announces every followed room and expires silent edges.
func (e *Edge) presenceLoop() {
	t := time.NewTicker(e.cfg.PresenceInterval)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case now := <-t.C:
			for _, r := range e.followedRooms() {
				select {
				case <-r.ready:
				default:
					continue
				}
				if r.err != nil {
					continue
				}
				r.announce()
				r.mu.Lock()
				evs := r.expire(now)
				r.mu.Unlock()
				r.broadcast(evs)
			}
		}
	}
}

// broadcast queues client events to every member.
func (r *room) broadcast(evs [][]byte) {
	if len(evs) == 0 {
		return
	}
	frames := make([][]byte, len(evs))
	for i, b := range evs {
		frames[i] = textFrame(b)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.members {
		for _, f := range frames {
			c.enqueue(f)
		}
	}
}

func isPresence(data []byte) bool { return bytes.Contains(data, presenceTag) }
