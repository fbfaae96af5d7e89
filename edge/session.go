package edge

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"golang.org/x/time/rate"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
)

// opTimeout bounds the broker work one client operation may cause.
const opTimeout = 10 * time.Second

// handle takes one client frame on the reader. Before auth it runs it;
// after, it answers a ping at once and queues anything else for c.ops, so
// that a slow operation never holds the reader. A non-nil error ends the
// connection (a close frame has been queued).
func (c *conn) handle(payload []byte) error {
	if c.isClosing() {
		// A close frame is queued (shutdown, slow consumer, …): serve
		// nothing more, so that nothing is stored after the client was
		// told to go.
		return errClose
	}
	if c.user != "" && !c.limiter.Allow() {
		c.strikes++
		if c.strikes >= maxStrikes {
			c.closeWith(CloseRateLimited, "rate limit exceeded")
			return errClose
		}
		c.send(event{Type: evError, Code: natter.ERATELIMIT, Message: "too many frames; slow down"})
		return nil
	}
	c.strikes = 0
	req, err := parseRequest(payload)
	switch {
	case errors.Is(err, errLongRID):
		// Answered without the rid, and the connection stays open even
		// before auth: the frame was well-formed (PROTOCOL.md, section 3).
		c.send(errEvent(nil, "", err))
		return nil
	case err != nil:
		c.send(errEvent(nil, "", err))
		if c.user == "" {
			// Nothing but a valid auth frame is served before auth.
			c.closeWith(CloseAuthRequired, "authenticate first")
			return errClose
		}
		return nil
	case c.user == "" && req.Op != opAuth:
		c.closeWith(CloseAuthRequired, "authenticate first")
		return errClose
	case c.user == "":
		return c.auth(req)
	case req.Op == opPing:
		// Not queued: a pong must not wait behind a slow operation.
		c.send(event{Type: evPong, RID: req.RID})
		return nil
	}
	if !c.ops.push(c, req) {
		return errClose
	}
	return nil
}

// perform runs one request of an authenticated connection on its op queue
// and answers its error, if any.
func (c *conn) perform(req request) {
	err := req.validate(c.e.cfg.MaxText)
	if err == nil {
		err = c.run(req)
	}
	if err != nil {
		if natter.ErrorCode(err) == natter.EINTERNAL {
			c.e.log.Error("operation failed", "op", req.Op, "user", c.user, "err", err)
		}
		ev := errEvent(req.RID, req.Room, err)
		ev.CID = req.CID
		c.send(ev)
	}
}

// run runs one valid request of an authenticated connection; its error is
// the client's error event.
func (c *conn) run(req request) error {
	ctx, cancel := context.WithTimeout(c.e.ctx, opTimeout)
	defer cancel()
	var err error
	switch req.Op {
	case opAuth:
		err = c.reauth(req)
	case opJoin:
		err = c.join(ctx, req)
	case opLeave:
		err = c.leaveOp(req)
	case opPart:
		err = c.part(ctx, req)
	case opCreate:
		err = c.create(ctx, req)
	case opAdd, opRemove:
		err = c.changeMember(ctx, req)
	case opDM:
		err = c.dm(ctx, req)
	case opSend:
		err = c.sendMsg(ctx, req)
	case opDelivered, opRead:
		err = c.cursor(ctx, req)
	case opTyping:
		err = c.typing(req)
	case opKick, opBan, opUnban, opMute, opUnmute, opRole, opSlowMode, opRetention:
		err = c.moderate(ctx, req)
	case opInvitations:
		err = c.listInvitations(ctx, req)
	case opAccept, opDecline:
		err = c.answerInvitation(ctx, req)
	case opSettings:
		err = c.settings(ctx, req)
	case "":
		err = natter.Errorf(natter.EINVALID, "missing op")
	default:
		err = natter.Errorf(natter.EINVALID, "unknown op %q", req.Op)
	}
	return err
}

func (c *conn) auth(req request) error {
	claims, err := c.e.cfg.Tokens.Verify(req.Token)
	if err != nil {
		c.send(errEvent(req.RID, "", err))
		c.closeWith(CloseUnauthorized, natter.ErrorMessage(err))
		return errClose
	}
	user := claims.User
	c.setClaims(claims)
	c.user = user
	err = c.e.rules.start(c.e.ctx)
	if err == nil {
		err = c.e.attach(c)
	}
	if err != nil {
		c.user = ""
		c.send(errEvent(req.RID, "", err))
		if natter.ErrorCode(err) == natter.EQUOTA {
			c.closeWith(CloseTooManyConns, "too many connections")
		} else {
			c.closeWith(1011, "unavailable")
		}
		return errClose
	}
	c.alive()
	c.authed.Store(true)
	c.limiter = rate.NewLimiter(rate.Limit(c.e.cfg.Rate), c.e.cfg.Burst)
	c.e.m.Connections.Inc()
	cfg := c.e.cfg
	c.send(event{Type: evReady, RID: req.RID, User: user, Epoch: c.e.b.Epoch(),
		Limits: &limitsInfo{MaxFrame: cfg.MaxFrame, MaxText: cfg.MaxText, Rate: cfg.Rate, Burst: cfg.Burst,
			Queue: cfg.QueueLen, IdleTimeout: int(cfg.IdleTimeout / time.Second)}})
	return nil
}

// reauth renews an authenticated connection with a fresh token of the same
// user, before the one it authenticated with expires (see checkTimeouts).
// A refused token is an error event, not a close: the connection keeps its
// current token until that expires.
func (c *conn) reauth(req request) error {
	claims, err := c.e.cfg.Tokens.Verify(req.Token)
	if err != nil {
		return err
	}
	if claims.User != c.user {
		return natter.Errorf(natter.EFORBIDDEN, "token is for another user")
	}
	c.setClaims(claims)
	c.send(event{Type: evOK, RID: req.RID})
	return nil
}

// setClaims records the connection's token: when it expires (never, if
// zero) and which session it belongs to.
func (c *conn) setClaims(claims natter.Claims) {
	var n int64
	if exp := claims.Expires; !exp.IsZero() {
		n = exp.UnixNano()
	}
	c.expires.Store(n)
	c.claims.Store(&claims)
}

// access checks that c's user may join id, creating a public room on first
// join and recording public-room membership. It returns the membership it
// saw, which the join re-checks when it registers (see rules.admits).
func (c *conn) access(ctx context.Context, id natter.RoomID) (natter.Room, admission, error) {
	b := c.e.b
	adm := admission{at: time.Now()}
	r, err := b.Room(ctx, id)
	if natter.ErrorCode(err) == natter.ENOTFOUND {
		if id.IsDM() {
			return r, adm, natter.Errorf(natter.EFORBIDDEN, "not a member of %s", id)
		}
		r, _, err = c.e.createRoom(ctx, c.user, natter.Room{ID: id, Kind: natter.Public, Owner: c.user, Created: time.Now().UTC()})
	}
	if err != nil {
		return r, adm, err
	}
	adm.owner = r.Owner
	if err := c.notBanned(ctx, r); err != nil {
		return r, adm, err
	}
	if adm.rev, err = b.MemberRev(ctx, id, c.user); err != nil {
		return r, adm, err
	}
	if adm.rev == 0 {
		if r.Kind != natter.Public {
			return r, adm, natter.Errorf(natter.EFORBIDDEN, "not a member of %s", id)
		}
		if adm.rev, err = c.e.addMember(ctx, r, c.user); err != nil {
			return r, adm, err
		}
		if adm.rev == 0 { // a racing join added it: take that revision
			if adm.rev, err = b.MemberRev(ctx, id, c.user); err != nil {
				return r, adm, err
			}
		}
		// A ban is written before the membership it ends is deleted: a
		// ban that this check misses deletes the membership just added.
		if err := c.notBanned(ctx, r); err != nil {
			_, _ = c.e.quotas.RemoveMember(ctx, id, c.user)
			return r, adm, err
		}
	}
	return r, adm, nil
}

// notBanned fails with EBANNED if c's user is banned from r.
func (c *conn) notBanned(ctx context.Context, r natter.Room) error {
	if r.Kind == natter.Direct {
		return nil
	}
	banned, err := c.e.b.Banned(ctx, r.ID, c.user)
	if err != nil {
		return err
	}
	if banned {
		return natter.Errorf(natter.EBANNED, "you are banned from %s", r.ID)
	}
	return nil
}

func (c *conn) join(ctx context.Context, req request) error {
	r, adm, err := c.access(ctx, req.Room)
	if err != nil {
		return err
	}
	b := c.e.b
	epoch := b.Epoch()
	reset := false
	var after uint64
	switch {
	case req.After != nil && req.Epoch != "" && req.Epoch != epoch:
		reset = true // the stream was recreated: everything in it is new to the client
	case req.After != nil:
		after = *req.After
	default:
		cur, err := b.Cursor(ctx, c.user, req.Room)
		if err != nil {
			return err
		}
		after = cur.Delivered
		if after == 0 {
			if after, err = b.LastSeq(ctx, req.Room); err != nil {
				return err
			}
		}
	}
	last, err := b.LastSeq(ctx, req.Room)
	if err != nil {
		return err
	}
	// A position past the room's end cannot be real (same epoch): trusting
	// it would silently skip the next live messages.
	after = min(after, last)
	return c.e.join(c, req.Room, after, adm, func(online []natter.UserID) []byte {
		return textFrame(encode(event{Type: evJoined, RID: req.RID, Room: r.ID, Kind: r.Kind, Owner: r.Owner, Users: r.Users,
			Epoch: epoch, After: u64(after), Last: u64(last), Reset: reset, Online: online, Retention: c.e.rules.retentionSeconds(r.ID)}))
	})
}

// leave unsubscribes this connection from id (membership is kept) and
// tells the client with a left event carrying rid.
func (c *conn) leave(id natter.RoomID, rid json.RawMessage) bool {
	var m *member
	c.mu.Lock()
	if i := c.roomIndex(id); i >= 0 {
		m = c.rooms[i]
		c.rooms = slices.Delete(c.rooms, i, i+1)
	}
	c.mu.Unlock()
	if m == nil {
		return false
	}
	m.room.remove(c)
	c.send(event{Type: evLeft, RID: rid, Room: id})
	return true
}

func (c *conn) leaveOp(req request) error {
	if !c.leave(req.Room, req.RID) {
		return natter.Errorf(natter.EINVALID, "not joined to %s", req.Room)
	}
	return nil
}

// part gives up membership of a public or private room.
func (c *conn) part(ctx context.Context, req request) error {
	member, err := c.e.b.IsMember(ctx, req.Room, c.user)
	if err != nil {
		return err
	}
	if !member {
		return natter.Errorf(natter.EINVALID, "not a member of %s", req.Room)
	}
	if err := c.e.removeMember(ctx, req.Room, c.user); err != nil {
		return err
	}
	c.leave(req.Room, nil)
	c.e.publishEvent(req.Room, event{Type: evMember, Room: req.Room, User: c.user, Action: "removed"})
	c.send(event{Type: evOK, RID: req.RID, Room: req.Room})
	return nil
}

func (c *conn) create(ctx context.Context, req request) error {
	kind := req.Kind
	if kind == "" {
		kind = natter.Public
	}
	if err := c.allowRoomOp(); err != nil {
		return err
	}
	r, _, err := c.e.createRoom(ctx, c.user, natter.Room{ID: req.Room, Kind: kind, Owner: c.user, Created: time.Now().UTC()})
	if natter.ErrorCode(err) == natter.ECONFLICT || (err == nil && r.Kind == natter.Private && r.Owner != c.user) {
		return notAvailable(req.Room)
	}
	if err != nil {
		return err
	}
	if err := c.notBanned(ctx, r); natter.ErrorCode(err) == natter.EBANNED {
		return notAvailable(req.Room)
	} else if err != nil {
		return err
	}
	if _, err := c.e.addMember(ctx, r, c.user); err != nil {
		return err
	}
	c.send(event{Type: evCreated, RID: req.RID, Room: r.ID, Kind: r.Kind, Owner: r.Owner})
	return nil
}

// notAvailable is create's one answer for every existing room the caller
// cannot have as asked: someone else's private room, a room of the other
// kind, a public room they are banned from. One answer for all, so that it
// does not tell a private room from a public one.
func notAvailable(id natter.RoomID) error {
	return natter.Errorf(natter.EFORBIDDEN, "room %s is not available", id)
}

// changeMember adds or removes a member of a private room; owner only.
func (c *conn) changeMember(ctx context.Context, req request) error {
	if err := c.allowRoomOp(); err != nil {
		return err
	}
	b := c.e.b
	r, err := b.Room(ctx, req.Room)
	if natter.ErrorCode(err) == natter.ENOTFOUND || (err == nil && r.Kind == natter.Private && r.Owner != c.user) {
		return natter.Errorf(natter.EFORBIDDEN, "only the owner of a private room manages its members")
	}
	if err != nil {
		return err
	}
	if r.Kind != natter.Private {
		return natter.Errorf(natter.EINVALID, "members are managed only in private rooms")
	}
	action := "added"
	if req.Op == opAdd {
		var invited bool
		if invited, err = c.addOrInvite(ctx, r, req.User); invited {
			c.send(event{Type: evOK, RID: req.RID, Room: r.ID, User: req.User, Invited: true})
			return nil
		}
	} else {
		if req.User == r.Owner {
			return natter.Errorf(natter.EINVALID, "the owner cannot be removed")
		}
		action = "removed"
		err = c.e.removeMember(ctx, r.ID, req.User)
	}
	if err != nil {
		return err
	}
	c.e.publishEvent(r.ID, event{Type: evMember, Room: r.ID, User: req.User, Action: action})
	c.e.notify(req.User, event{Type: evRoom, Room: r.ID, Kind: r.Kind, Owner: r.Owner, Action: action, From: c.user})
	c.send(event{Type: evOK, RID: req.RID, Room: r.ID, User: req.User})
	return nil
}

func (c *conn) dm(ctx context.Context, req request) error {
	if req.User == c.user {
		return natter.Errorf(natter.EINVALID, "a direct conversation needs another user")
	}
	if err := c.allowRoomOp(); err != nil {
		return err
	}
	id := natter.DMRoom(c.user, req.User)
	users := []natter.UserID{c.user, req.User}
	if users[1] < users[0] {
		users[0], users[1] = users[1], users[0]
	}
	if _, _, err := c.e.createRoom(ctx, c.user, natter.Room{ID: id, Kind: natter.Direct, Users: users, Created: time.Now().UTC()}); err != nil {
		return err
	}
	for _, u := range users {
		if _, err := c.e.addMember(ctx, natter.Room{ID: id, Kind: natter.Direct}, u); err != nil {
			return err
		}
	}
	c.e.notify(req.User, event{Type: evRoom, Room: id, Kind: natter.Direct, Action: "added", From: c.user, User: c.user})
	c.send(event{Type: evDM, RID: req.RID, Room: id, User: req.User, Kind: natter.Direct})
	return nil
}

// joined reports whether c is subscribed to id, which the removals watch
// keeps true only while c's user is a member.
func (c *conn) joined(id natter.RoomID) bool { return c.memberOf(id) != nil }

// roomIndex is the position of id in c.rooms, or -1. Called with c.mu held.
// A slice, not a map: most connections are in a few rooms, and an idle
// connection's memory is what limits how many one edge holds.
func (c *conn) roomIndex(id natter.RoomID) int {
	return slices.IndexFunc(c.rooms, func(m *member) bool { return m.room.id == id })
}

func (c *conn) sendMsg(ctx context.Context, req request) error {
	release, err := c.admitSend(ctx, req.Room)
	if err != nil {
		return err
	}
	defer release()
	if err := c.allowSend(); err != nil {
		return err
	}
	start := time.Now()
	rid, room, cid := req.RID, req.Room, req.CID
	ctx, span := c.e.cfg.Tracer.Send(ctx, string(room), string(c.user))
	draft := broker.Draft{Room: room, From: c.user, ClientID: cid, Text: *req.Text, TTL: c.e.rules.retention(room)}
	err = c.e.b.Publish(ctx, draft, func(a broker.Ack, err error) {
		span.End(a.Seq, err)
		if err != nil {
			c.e.m.PublishErrors.WithLabelValues(natter.ErrorCode(err)).Inc()
			ev := errEvent(rid, room, err)
			ev.CID = cid
			c.send(ev)
			return
		}
		c.e.m.PublishLatency.Observe(time.Since(start).Seconds())
		if a.Duplicate {
			c.e.m.Duplicates.Inc()
		} else {
			c.e.m.Published.Inc()
		}
		c.send(event{Type: evAck, RID: rid, Room: room, CID: cid, Seq: a.Seq, Epoch: a.Epoch, Dup: a.Duplicate})
	})
	if err != nil {
		c.e.m.PublishErrors.WithLabelValues(natter.ErrorCode(err)).Inc()
		span.End(0, err) // not sent: done is not called
	}
	return err
}

func (c *conn) cursor(ctx context.Context, req request) error {
	if !c.joined(req.Room) {
		ok, err := c.e.b.IsMember(ctx, req.Room, c.user)
		if err != nil {
			return err
		}
		if !ok {
			return natter.Errorf(natter.EFORBIDDEN, "not a member of %s", req.Room)
		}
	}
	last, err := c.e.b.LastSeq(ctx, req.Room)
	if err != nil {
		return err
	}
	if req.Seq > last {
		return natter.Errorf(natter.EINVALID, "seq %d is past the room's last message %d", req.Seq, last)
	}
	var delivered, read uint64
	if req.Op == opRead {
		read = req.Seq
	} else {
		delivered = req.Seq
	}
	cur, changed, err := c.e.b.AdvanceCursor(ctx, c.user, req.Room, delivered, read)
	if err != nil {
		return err
	}
	if changed && req.Op == opRead && cur.Read == req.Seq {
		c.e.publishEvent(req.Room, event{Type: evReceipt, Room: req.Room, User: c.user, Seq: cur.Read})
	}
	if len(req.RID) > 0 {
		c.send(event{Type: evOK, RID: req.RID, Room: req.Room, Seq: cur.Delivered, Read: u64(cur.Read)})
	}
	return nil
}

func (c *conn) typing(req request) error {
	if !c.joined(req.Room) {
		return natter.Errorf(natter.EFORBIDDEN, "join %s first", req.Room)
	}
	if c.e.rules.muted(req.Room, c.user) {
		return natter.Errorf(natter.EMUTED, "you are muted in %s", req.Room)
	}
	if !c.allowTyping() {
		return nil // advisory, and repeated by clients: dropped
	}
	c.e.publishEvent(req.Room, event{Type: evTyping, Room: req.Room, User: c.user})
	return nil
}
