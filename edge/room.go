package edge

import (
	"context"
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
	cache   roomCache // the latest messages; to is the last the feed delivered
	members map[*conn]*member
	users   map[natter.UserID]int // local connections per user, for presence
	// presence is what the other edges announce: user -> the edges that
	// have them online (usually one) and when each last said so.
	presence map[natter.UserID][]edgeSeen
	onlineN  int  // users online here or on another edge (see presence.go)
	closed   bool // removed from e.rooms; join a new one

	// filling is closed when the stream read under way for a replay ends
	// (nil: none), with its error in fillErr; replays of the room wait for
	// it and share what it put in the cache.
	filling chan struct{}
	fillErr error
}

// member is one connection's subscription to a room.
//
// A member is either live (fan-out queues frames straight to the socket) or
// replaying (a goroutine catches it up from the stream and the room's
// cache; fan-out skips it). The replay ends by taking the rest from the
// cache and going live under the room lock, so the switch has no gap and
// no duplicate.
type member struct {
	c    *conn
	room *room

	rev   uint64        // the membership revision the join saw (see rules.admits)
	owner natter.UserID // the room's owner, exempt from slow mode

	// Guarded by room.mu.
	last uint64 // highest seq queued to the client, or passed over (version 1)
	sent uint64 // the seq of the last frame queued, or the start position: the client's last
	live bool

	// gone is set when the member leaves or is replaced by a re-join; a
	// running replay checks it between messages, without the room lock.
	gone atomic.Bool
}

// join subscribes c to room id from position after and starts the replay.
// The joined frame is queued before any message of the room, so the client
// sees the reply to its join first, then the replayed messages, then live ones.
//
// joined builds that frame from the users connected to the room on this
// edge (the presence snapshot, c's user included). adm is the membership
// the caller checked: if the removals watch has seen it deleted since, the
// join fails with EFORBIDDEN and nothing is sent.
func (e *Edge) join(c *conn, id natter.RoomID, after uint64, adm admission, joined func(online []natter.UserID) []byte) error {
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
		if !e.rules.admits(id, c.user, adm) {
			r.mu.Unlock()
			return natter.Errorf(natter.EFORBIDDEN, "not a member of %s", id)
		}
		if old := r.members[c]; old != nil {
			// Re-join: drop the old subscription, replay from the new position.
			old.gone.Store(true)
		} else {
			r.users[c.user]++
		}
		m := &member{c: c, room: r, last: after, sent: after, rev: adm.rev, owner: adm.owner}
		r.members[c] = m
		first := r.users[c.user] == 1
		var local []byte
		if first && len(r.presence[c.user]) == 0 {
			// Online here at once, so the snapshot includes the joiner.
			local = r.cameOnline(c.user)
		}
		// joined goes out before any message, under the room lock, so no
		// live frame can overtake it.
		c.enqueueNow(joined(r.online()))
		r.mu.Unlock()
		if local != nil {
			r.broadcast([][]byte{local})
		}

		c.mu.Lock()
		if i := c.roomIndex(id); i >= 0 {
			c.rooms[i] = m
		} else {
			c.rooms = append(c.rooms, m)
		}
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
		presence: map[natter.UserID][]edgeSeen{}, cache: roomCache{limit: e.cfg.RoomCache}}
	e.rooms[id] = r
	e.mu.Unlock()
	r.feed, r.err = e.b.Follow(e.ctx, id, r)
	if r.err == nil {
		r.mu.Lock()
		if !r.cache.valid { // else the feed's first message has set it
			r.cache.reset(r.feed.Start())
		}
		r.mu.Unlock()
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

// lastMessage returns room id's last message at or before last, its end:
// from the room's cache when this edge follows the room and the cache
// knows it (a join storm of version 1 clients costs no stream reads),
// else from the stream.
func (e *Edge) lastMessage(ctx context.Context, id natter.RoomID, last uint64) (uint64, error) {
	e.mu.Lock()
	r := e.rooms[id]
	e.mu.Unlock()
	if r != nil {
		select {
		case <-r.ready:
			if r.err == nil {
				r.mu.Lock()
				seq, ok := r.cache.lastMessage(last)
				r.mu.Unlock()
				if ok {
					return seq, nil
				}
			}
		default:
		}
	}
	return e.b.LastMessage(ctx, id, last)
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
	if lastOfUser && len(r.presence[c.user]) == 0 {
		local = r.wentOffline(c.user)
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
// the message once, keeps it in the cache and queues the same bytes to
// every live member.
func (r *room) Message(msg natter.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fa := r.cache.add(newFrameAt(msg))
	n := 0
	for _, m := range r.members {
		if !m.live || msg.Seq <= m.last {
			continue // a replay will take it from the cache
		}
		if msg.Prev > m.last {
			// Cannot happen while the feed is contiguous; if it does, the
			// member repairs from the stream rather than skip a message.
			m.live = false
			go r.replay(m)
			continue
		}
		if fa == nil { // erased by a deletion it raced: served to no one
			m.last = msg.Seq
			continue
		}
		// The sender waits for its own message: it goes out at once.
		if sent, ok := m.queue(fa, m.c.user == msg.From); ok && sent {
			n++
		}
	}
	r.e.m.Delivered.Add(float64(n))
}

// Event is the Feed's delivery of an ephemeral room event: queued as is to
// every member. Removals are enforced by the removals watch (rules), not
// by the member events, which may be lost.
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
	r.mu.Lock()
	for c := range r.members {
		c.enqueue(frame)
	}
	r.mu.Unlock()
}

// replayRetry is the pause before a failed stream read is retried.
const replayRetry = 500 * time.Millisecond

// replayRound bounds the messages one stream read hands a member before
// they are queued: a long backlog is read and sent in rounds.
const replayRound = 256

var (
	errGone      = errors.New("member gone")
	errRoundFull = errors.New("round full")
)

// replay brings m up to date, then makes it live: from the stream for what
// the cache does not hold, then from the cache.
func (r *room) replay(m *member) {
	span := r.e.cfg.Tracer.Replay(string(r.id), string(m.c.user))
	defer span.End(0, nil)
	for attempt := 0; ; {
		r.mu.Lock()
		if m.gone.Load() {
			r.mu.Unlock()
			return
		}
		if fas, ok := r.cache.since(m.last); ok {
			n, _ := m.queueFrames(fas) // if closing, nothing more matters
			m.live = true
			r.mu.Unlock()
			r.replayed(n)
			return
		}
		r.mu.Unlock()
		progress, err := r.replayStream(m)
		if errors.Is(err, errGone) || r.e.ctx.Err() != nil {
			return
		}
		if err != nil {
			r.e.log.Warn("replay failed", "room", r.id, "user", m.c.user, "err", err)
			if attempt++; attempt > 5 {
				m.c.send(errEvent(nil, r.id, err))
				m.c.closeWith(1011, "room unavailable")
				return
			}
			time.Sleep(replayRetry)
			continue
		}
		if !progress {
			// The stream read ended short of what the feed has delivered: a
			// direct-get replica lagging behind the leader. Give it a moment.
			attempt++
			time.Sleep(min(time.Duration(attempt)*20*time.Millisecond, replayRetry))
		}
	}
}

// replayStream reads one round of what follows m.last up to the start of
// the cache, queues it to m, and puts it in front of the cache for the
// members that resume after m. Members replaying the room meanwhile wait
// for this read instead of each making their own. It reports whether m
// advanced (or may now be covered).
func (r *room) replayStream(m *member) (bool, error) {
	m.c.waitQueue(replayRound) // before waiting on others: a slow reader delays only itself
	r.mu.Lock()
	for r.filling != nil {
		// Another member is reading this room: wait for its read, which
		// will likely cover this member too, rather than read the same.
		// Its failure is this member's too (the stream is unavailable):
		// each then retries on its own schedule, none queued behind the
		// others' timeouts.
		ch := r.filling
		r.mu.Unlock()
		<-ch
		r.mu.Lock()
		if err := r.fillErr; err != nil {
			r.mu.Unlock()
			return false, err
		}
	}
	after, upTo := m.last, r.cache.from
	if _, ok := r.cache.since(after); ok || m.gone.Load() {
		r.mu.Unlock()
		return true, nil // filled while this member waited
	}
	done := make(chan struct{})
	r.filling = done
	r.mu.Unlock()
	var fas []frameAt
	r.e.m.ReplayReads.Inc()
	read, err := r.e.b.ReadRoom(r.e.ctx, r.id, after, upTo, func(msg natter.Message) error {
		if len(fas) == replayRound {
			return errRoundFull
		}
		fas = append(fas, newFrameAt(msg))
		return nil
	})
	// complete: every record of (after, upTo] is in fas. A read that ended
	// short of upTo is complete only if the leader has nothing more there
	// (the rest was erased), not if a lagging replica answered it.
	complete := err == nil
	if complete && read < upTo {
		more, lerr := r.e.b.HasRecords(r.e.ctx, r.id, read, upTo)
		complete = lerr == nil && !more
	}
	if errors.Is(err, errRoundFull) {
		err = nil
	}
	chain1(fas, after)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.filling, r.fillErr = nil, err
	close(done)
	if m.gone.Load() {
		return false, errGone
	}
	// Erased records may still be read while their tombstone, already
	// here, waits for the erase: they are never served.
	fas = withoutErased(fas, r.cache.deleted)
	before := m.last
	n, ok := m.queueFrames(fas) // first, so the frames it encodes are cached
	if complete {
		r.cache.prepend(fas, after, upTo)
		// Nothing of the room is left before upTo (erased records leave
		// holes): the member is at upTo, where the cache starts.
		m.last = max(m.last, upTo)
	} else if err == nil {
		m.last = max(m.last, min(read, upTo))
	}
	r.replayed(n)
	if !ok {
		return false, errGone
	}
	return m.last > before, err
}

// queueFrames queues to m, in order, the frames of fas it has not had yet.
// It returns how many it queued, and false if the connection is closing.
// Called with room.mu held.
func (m *member) queueFrames(fas []frameAt) (int, bool) {
	n := 0
	for i := range fas {
		if fas[i].seq <= m.last {
			continue
		}
		sent, ok := m.queue(&fas[i], false)
		if !ok {
			return n, false
		}
		if sent {
			n++
		}
	}
	return n, true
}

// queue queues fa to m in the member's protocol version, or passes over
// it (a change record for version 1). It reports whether a frame was
// queued, and false if the connection is closing. urgent frames skip the
// coalescing interval. Called with room.mu held.
func (m *member) queue(fa *frameAt, urgent bool) (sent, ok bool) {
	if m.c.v == protoV1 && !fa.isMessage() {
		m.last = fa.seq
		return false, true
	}
	v, prev := protoV2, fa.prev
	if m.c.v == protoV1 {
		v, prev = protoV1, fa.prev1
	}
	var frame []byte
	if prev == m.sent {
		frame = fa.frame(v)
	} else {
		// The record before it in its chain is not what this member was
		// sent last: its join position, erased records (a hole), change
		// records a version 1 member is not sent, or a cache's start.
		// Encode its prev for this member alone, so that prev is always
		// the seq sent before it. m.last, not this, guards against gaps.
		frame = fa.frameWith(m.sent)
	}
	if !m.c.queueFrame(frame, urgent) {
		return false, false
	}
	m.last, m.sent = fa.seq, fa.seq
	return true, true
}

// replayed counts n messages sent to a member by a replay.
func (r *room) replayed(n int) {
	r.e.m.Replayed.Add(float64(n))
	r.e.m.Delivered.Add(float64(n))
}

// publishEvent sends an ephemeral event to the room on every edge.
func (e *Edge) publishEvent(id natter.RoomID, ev event) {
	if err := e.b.PublishEvent(id, encode(ev)); err != nil {
		e.log.Warn("room event not sent", "room", id, "type", ev.Type, "err", err)
	}
}
