package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
)

// room is a room with local members on this edge. It owns the edge's one
// broker Feed for the room and fans its traffic out to member connections.
type room struct {
	id   natter.RoomID
	e    *Edge
	feed *broker.Feed

	ready chan struct{} // closed once feed (or err) is set
	err   error

	mu      sync.Mutex
	last    uint64 // last sequence the feed delivered
	members map[*conn]*member
	users   map[natter.UserID]int // local connections per user, for presence
	// presence is the cluster-wide view: user -> edge -> last announced.
	presence map[natter.UserID]map[string]time.Time
	closed   bool // removed from e.rooms; join a new one
}

// member is one connection's subscription to a room.
//
// A member is either live (fan-out queues frames straight to the socket) or
// replaying (a goroutine reads the stream from last; fan-out parks live
// messages in pending). The replay ends when pending continues exactly where
// the stream read stopped, so the switch has no gap and no duplicate.
type member struct {
	c    *conn
	room *room

	// Guarded by room.mu.
	last     uint64 // highest seq queued to the client
	live     bool
	pending  []frameAt
	overflow bool // pending was dropped; the replay must read further

	// gone is set when the member leaves or is replaced by a re-join; a
	// running replay checks it between messages, without the room lock.
	gone atomic.Bool
}

// frameAt is a framed room message with its sequence numbers.
type frameAt struct {
	seq, prev uint64
	frame     []byte
}

// join subscribes c to room id from position after and starts the replay.
// The joined frame is queued before any message of the room, so the client
// sees the reply to its join first, then the replayed messages, then live ones.
//
// joined builds that frame from the users connected to the room on this
// edge (the presence snapshot, c's user included).
func (e *Edge) join(c *conn, id natter.RoomID, after uint64, joined func(online []natter.UserID) []byte) error {
	for {
		r, err := e.room(id)
		if err != nil {
			return err
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			continue // lost a race with the last member leaving; take a fresh one
		}
		if old := r.members[c]; old != nil {
			// Re-join: drop the old subscription, replay from the new position.
			old.gone.Store(true)
		} else {
			r.users[c.user]++
		}
		m := &member{c: c, room: r, last: after}
		r.members[c] = m
		first := r.users[c.user] == 1
		var local []byte
		if first {
			// Seen here at once, so the snapshot includes the joiner.
			local = r.seen(c.user, e.id, time.Now())
		}
		// joined goes out before any message, under the room lock, so no
		// live frame can overtake it.
		c.enqueue(joined(r.online()))
		r.mu.Unlock()
		if local != nil {
			r.broadcast([][]byte{local})
		}

		c.mu.Lock()
		if c.rooms == nil {
			c.rooms = map[natter.RoomID]*member{}
		}
		c.rooms[id] = m
		c.mu.Unlock()
		if first {
			e.publishPresence(presenceEvent{Type: evPresence, Room: id, User: c.user, Status: "online", Edge: e.id})
		}
		go r.replay(m)
		return nil
	}
}

// room returns the local room id, following it first if needed.
func (e *Edge) room(id natter.RoomID) (*room, error) {
	e.mu.Lock()
	r := e.rooms[id]
	if r != nil {
		e.mu.Unlock()
		<-r.ready
		return r, r.err
	}
	r = &room{id: id, e: e, ready: make(chan struct{}), members: map[*conn]*member{}, users: map[natter.UserID]int{},
		presence: map[natter.UserID]map[string]time.Time{}}
	e.rooms[id] = r
	e.mu.Unlock()
	r.feed, r.err = e.b.Follow(e.ctx, id, r)
	if r.err == nil {
		// Ask the other edges who is here, rather than wait an interval.
		e.publishPresence(presenceEvent{Type: evPresenceQuery, Room: id, Edge: e.id})
	}
	if r.err != nil {
		e.mu.Lock()
		if e.rooms[id] == r {
			delete(e.rooms, id)
		}
		e.mu.Unlock()
	}
	close(r.ready)
	return r, r.err
}

// remove unsubscribes c. The last member to leave stops the feed.
func (r *room) remove(c *conn) {
	r.mu.Lock()
	m := r.members[c]
	if m == nil {
		r.mu.Unlock()
		return
	}
	m.gone.Store(true)
	delete(r.members, c)
	r.users[c.user]--
	lastOfUser := r.users[c.user] == 0
	if lastOfUser {
		delete(r.users, c.user)
	}
	empty := len(r.members) == 0
	if empty {
		r.closed = true
	}
	var local []byte
	if lastOfUser {
		local = r.gone(c.user, r.e.id)
	}
	r.mu.Unlock()
	if lastOfUser {
		r.broadcast([][]byte{local})
		r.e.publishPresence(presenceEvent{Type: evPresence, Room: r.id, User: c.user, Status: "offline", Edge: r.e.id})
	}
	if empty {
		r.e.mu.Lock()
		if r.e.rooms[r.id] == r {
			delete(r.e.rooms, r.id)
		}
		r.e.mu.Unlock()
		r.feed.Stop()
	}
}

// Message is the Feed's delivery of one room message, in order. It frames
// the message once and queues the same bytes to every live member.
func (r *room) Message(msg natter.Message) {
	fa := frameAt{seq: msg.Seq, prev: msg.Prev, frame: textFrame(encode(msgEvent(msg)))}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = max(r.last, msg.Seq)
	for _, m := range r.members {
		if !m.live {
			m.park(fa)
			continue
		}
		if fa.seq <= m.last {
			continue
		}
		if fa.prev > m.last {
			// Cannot happen while the feed is contiguous; if it does, the
			// member repairs from the stream rather than skip a message.
			m.live = false
			m.park(fa)
			go r.replay(m)
			continue
		}
		if m.c.enqueue(fa.frame) {
			m.last = fa.seq
			r.e.m.Delivered.Inc()
		}
	}
}

// park holds a live message for a replaying member. Called with room.mu held.
func (m *member) park(fa frameAt) {
	if m.overflow {
		return
	}
	if len(m.pending) >= pendingLen {
		m.pending, m.overflow = nil, true
		return
	}
	m.pending = append(m.pending, fa)
}

// memberRemoved is the shape of a membership event this edge must act on.
var memberRemoved = []byte(`"action":"removed"`)

// Event is the Feed's delivery of an ephemeral room event: queued as is to
// every member. A member-removed event also unsubscribes that user here.
func (r *room) Event(data []byte) {
	if isPresence(data) {
		r.mu.Lock()
		evs, query := r.applyPresence(data)
		r.mu.Unlock()
		r.broadcast(evs)
		if query {
			r.announce()
		}
		return
	}
	frame := textFrame(data)
	var kick []*conn
	r.mu.Lock()
	var ev event
	removed := bytes.Contains(data, memberRemoved) && json.Unmarshal(data, &ev) == nil && ev.Type == evMember
	for c := range r.members {
		c.enqueue(frame)
		if removed && c.user == ev.User {
			kick = append(kick, c)
		}
	}
	r.mu.Unlock()
	for _, c := range kick {
		c.leave(r.id, nil)
	}
}

// replayRetry is the pause before a failed stream read is retried.
const replayRetry = 500 * time.Millisecond

var errGone = errors.New("member gone")

// replay brings m up to date from the stream, then makes it live.
func (r *room) replay(m *member) {
	for attempt := 0; ; attempt++ {
		r.mu.Lock()
		from := m.last
		r.mu.Unlock()
		if m.gone.Load() {
			return
		}
		last, err := r.e.b.ReadRoom(r.e.ctx, r.id, from, 0, func(msg natter.Message) error {
			frame := textFrame(encode(msgEvent(msg)))
			// Checked and queued under the room lock: a leave (which sets
			// gone under it, then queues left) can never be followed by a
			// replayed message.
			r.mu.Lock()
			ok := !m.gone.Load() && m.c.enqueue(frame)
			r.mu.Unlock()
			if !ok {
				return errGone
			}
			r.e.m.Replayed.Inc()
			r.e.m.Delivered.Inc()
			return nil
		})
		if errors.Is(err, errGone) || r.e.ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		m.last = max(m.last, last)
		if err != nil {
			r.mu.Unlock()
			r.e.log.Warn("replay failed", "room", r.id, "user", m.c.user, "err", err)
			if attempt >= 5 {
				m.c.send(errEvent(nil, r.id, err))
				m.c.closeWith(1011, "room unavailable")
				return
			}
			time.Sleep(replayRetry)
			continue
		}
		if m.goLive() {
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		// The stream read ended short of what the feed has delivered: a
		// direct-get replica lagging behind the leader. Give it a moment.
		time.Sleep(min(time.Duration(attempt+1)*20*time.Millisecond, replayRetry))
	}
}

// goLive flushes pending and makes m live if pending continues where the
// replay stopped. Called with room.mu held.
func (m *member) goLive() bool {
	if m.gone.Load() {
		return true
	}
	i := 0
	for i < len(m.pending) && m.pending[i].seq <= m.last {
		i++
	}
	m.pending = m.pending[i:]
	if m.overflow || (len(m.pending) > 0 && m.pending[0].prev > m.last) {
		m.overflow = false
		return false // messages between the read and pending: read again
	}
	for _, fa := range m.pending {
		if !m.c.enqueue(fa.frame) {
			return true
		}
		m.last = fa.seq
		m.room.e.m.Delivered.Inc()
	}
	m.pending = nil
	if m.last < m.room.last {
		// The feed delivered messages before this member registered that
		// the stream read did not return: read again.
		return false
	}
	m.live = true
	return true
}

// publishEvent sends an ephemeral event to the room on every edge.
func (e *Edge) publishEvent(id natter.RoomID, ev event) {
	if err := e.b.PublishEvent(id, encode(ev)); err != nil {
		e.log.Warn("room event not sent", "room", id, "type", ev.Type, "err", err)
	}
}
