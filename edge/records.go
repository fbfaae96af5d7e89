package edge

import (
	"context"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
)

// The ops that store a record changing a message or a room: edit, delete,
// react, topic, and send's replies. Each is authorised here, where it is
// accepted, against the target's state in the broker (MsgState), which any
// edge may change: the change is entered there by compare-and-swap before
// its record is published, so racing edges cannot both take the last
// allowed edit or edit a message being deleted. A resend (same user and
// cid) is recognised there and published again, which JetStream's dedupe
// answers with the original record. docs/PROTOCOL.md section 5.14.

// admitChange checks that c's user may change records of room id now:
// joined (a member), not banned, not muted, within the user's rate. Slow
// mode is for messages and does not apply. Like admitSend it returns
// holding c.sendMu until the record is handed to the broker.
func (c *conn) admitChange(id natter.RoomID) (release func(), err error) {
	c.sendMu.Lock()
	switch {
	case c.memberOf(id) == nil && c.e.rules.banned(id, c.user):
		err = natter.Errorf(natter.EBANNED, "you are banned from %s", id)
	case c.memberOf(id) == nil:
		err = natter.Errorf(natter.EFORBIDDEN, "join %s before changing its messages", id)
	case c.e.rules.muted(id, c.user):
		err = natter.Errorf(natter.EMUTED, "you are muted in %s", id)
	default:
		err = c.allowSend()
	}
	if err != nil {
		c.sendMu.Unlock()
		return nil, err
	}
	return c.sendMu.Unlock, nil
}

// moderator reports whether c's user is the owner or an admin of room (an
// admin being one while a member, which a joined connection is).
func (c *conn) moderator(ctx context.Context, id natter.RoomID) (bool, error) {
	r, err := c.e.b.Room(ctx, id)
	if err != nil {
		return false, err
	}
	role, err := c.e.b.Role(ctx, r, c.user)
	return role == natter.RoleOwner || role == natter.RoleAdmin, err
}

// store publishes d for req and acks the client once it is stored; after,
// if set, runs first, on its own goroutine (it may wait on the broker),
// and an error of it is the client's instead of the ack.
func (c *conn) store(ctx context.Context, req request, d broker.Draft, after func(context.Context, broker.Ack) error) error {
	start := time.Now()
	rid, room, cid := req.RID, req.Room, req.CID
	fail := func(err error) {
		ev := errEvent(rid, room, err)
		ev.CID = cid
		c.send(ev)
	}
	ack := func(a broker.Ack) {
		c.e.m.PublishLatency.Observe(time.Since(start).Seconds())
		if a.Duplicate {
			c.e.m.Duplicates.Inc()
		} else {
			c.e.m.Published.Inc()
		}
		c.send(event{Type: evAck, RID: rid, Room: room, CID: cid, Seq: a.Seq, Epoch: a.Epoch, Dup: a.Duplicate})
	}
	return c.e.b.Publish(ctx, d, func(a broker.Ack, err error) {
		switch {
		case err != nil:
			fail(err)
		case after == nil:
			ack(a)
		default:
			go func() { // done must not block: after does broker work
				ctx, cancel := context.WithTimeout(c.e.ctx, opTimeout)
				defer cancel()
				if err := after(ctx, a); err != nil {
					fail(err)
					return
				}
				ack(a)
			}()
		}
	})
}

// notFound is the answer for a target that is not a message of the room,
// or is deleted: one answer, so that a deleted message looks like none.
func notFound(room natter.RoomID, seq uint64) error {
	return natter.Errorf(natter.ENOTFOUND, "no message %d in %s", seq, room)
}

// resend looks req up among the changes of st: a resend of the same kind is
// published again (true, ErrNoChange); the same cid for another kind of
// change is invalid.
func resend(st *broker.MsgState, user natter.UserID, req request) (bool, error) {
	ch, ok := st.Change(user, req.CID)
	switch {
	case !ok:
		return false, nil
	case ch.Kind != req.Op:
		return false, natter.Errorf(natter.EINVALID, "cid %s was used for a %s of message %d", req.CID, ch.Kind, req.Seq)
	}
	return true, broker.ErrNoChange
}

// confirm records the seq of the stored change (user, cid) of target. An
// edit stored after its message's tombstone (the two raced) is erased at
// once: the deletion has already erased the edits it knew of.
func (e *Edge) confirm(ctx context.Context, room natter.RoomID, target uint64, user natter.UserID, cid string, seq uint64) error {
	var erase bool
	_, err := e.b.ChangeMsg(ctx, room, target, func(st *broker.MsgState) error {
		ch, ok := st.Change(user, cid)
		if !ok || ch.Seq == seq {
			erase = ok && st.Deleted && ch.Kind == natter.KindEdit
			return broker.ErrNoChange
		}
		ch.Seq = seq
		erase = st.Deleted && ch.Kind == natter.KindEdit
		return nil
	})
	if err != nil {
		return err
	}
	if erase {
		return e.b.Erase(ctx, seq)
	}
	return nil
}

func (c *conn) edit(ctx context.Context, req request) error {
	release, err := c.admitChange(req.Room)
	if err != nil {
		return err
	}
	defer release()
	_, err = c.e.b.ChangeMsg(ctx, req.Room, req.Seq, func(st *broker.MsgState) error {
		if again, err := resend(st, c.user, req); again || err != nil {
			return err
		}
		switch {
		case st.Deleted:
			return notFound(req.Room, req.Seq)
		case st.From != c.user:
			return natter.Errorf(natter.EFORBIDDEN, "only its author edits a message")
		case st.Edits() >= natter.MaxEdits:
			return natter.Errorf(natter.EQUOTA, "message %d has had %d edits, the most allowed", req.Seq, natter.MaxEdits)
		}
		st.AddChange(broker.Change{Kind: natter.KindEdit, From: c.user, CID: req.CID})
		return nil
	})
	if err != nil {
		return err
	}
	d := broker.Draft{Room: req.Room, From: c.user, ClientID: req.CID, Text: *req.Text,
		Record: broker.Record{Kind: natter.KindEdit, Target: req.Seq, Mentions: mentions(*req.Text, c.mayMentionRoom(req.Room))}}
	return c.store(ctx, req, d, func(ctx context.Context, a broker.Ack) error {
		return c.e.confirm(ctx, req.Room, req.Seq, c.user, req.CID, a.Seq)
	})
}

func (c *conn) deleteMsg(ctx context.Context, req request) error {
	release, err := c.admitChange(req.Room)
	if err != nil {
		return err
	}
	defer release()
	st, err := c.e.b.MsgState(ctx, req.Room, req.Seq)
	if err != nil {
		return err
	}
	mod := false
	if st.From != c.user {
		if mod, err = c.moderator(ctx, req.Room); err != nil {
			return err
		}
	}
	_, err = c.e.b.ChangeMsg(ctx, req.Room, req.Seq, func(st *broker.MsgState) error {
		if again, err := resend(st, c.user, req); again || err != nil {
			return err
		}
		switch {
		case st.Deleted:
			return notFound(req.Room, req.Seq)
		case st.From != c.user && !mod:
			return natter.Errorf(natter.EFORBIDDEN, "only its author, the room's owner or an admin deletes a message")
		}
		st.Deleted = true
		st.AddChange(broker.Change{Kind: natter.KindDelete, From: c.user, CID: req.CID})
		return nil
	})
	if err != nil {
		return err
	}
	d := broker.Draft{Room: req.Room, From: c.user, ClientID: req.CID,
		Record: broker.Record{Kind: natter.KindDelete, Target: req.Seq}}
	return c.store(ctx, req, d, func(ctx context.Context, a broker.Ack) error {
		return c.e.erase(ctx, req.Room, req.Seq, c.user, req.CID, a.Seq)
	})
}

// erase runs once the tombstone at seq of target is stored: it erases the
// target and every edit of it from the stream. A failure leaves the text
// in the stream and is the client's error: its resend erases again.
func (e *Edge) erase(ctx context.Context, room natter.RoomID, target uint64, user natter.UserID, cid string, seq uint64) error {
	if err := e.confirm(ctx, room, target, user, cid, seq); err != nil {
		return err
	}
	st, err := e.b.MsgState(ctx, room, target)
	if err != nil {
		return err
	}
	if err := e.b.Erase(ctx, append([]uint64{target}, st.EditSeqs()...)...); err != nil {
		return err
	}
	e.m.Erased.Add(float64(1 + len(st.EditSeqs())))
	if st.Erased {
		return nil
	}
	_, err = e.b.ChangeMsg(ctx, room, target, func(st *broker.MsgState) error {
		st.Erased = true
		return nil
	})
	return err
}

func (c *conn) react(ctx context.Context, req request) error {
	release, err := c.admitChange(req.Room)
	if err != nil {
		return err
	}
	defer release()
	noop := false
	_, err = c.e.b.ChangeMsg(ctx, req.Room, req.Seq, func(st *broker.MsgState) error {
		noop = false
		if again, err := resend(st, c.user, req); again || err != nil {
			return err
		}
		if st.Deleted {
			return notFound(req.Room, req.Seq)
		}
		i := reactionIndex(st.Reactions, req.Emoji)
		present := i >= 0 && containsUser(st.Reactions[i].Users, c.user)
		switch {
		case present != req.Remove:
			noop = true // already there, or already gone
			return broker.ErrNoChange
		case req.Remove:
			r := &st.Reactions[i]
			r.Users = removeUser(r.Users, c.user)
			if len(r.Users) == 0 {
				st.Reactions = append(st.Reactions[:i], st.Reactions[i+1:]...)
			}
		case i < 0 && len(st.Reactions) >= natter.MaxReactionEmoji:
			return natter.Errorf(natter.EQUOTA, "message %d has %d different emoji, the most allowed", req.Seq, natter.MaxReactionEmoji)
		case st.Pairs() >= natter.MaxReactionsTotal:
			return natter.Errorf(natter.EQUOTA, "message %d has %d reactions, the most allowed", req.Seq, natter.MaxReactionsTotal)
		case i < 0:
			st.Reactions = append(st.Reactions, broker.Reaction{Emoji: req.Emoji, Users: []natter.UserID{c.user}})
		default:
			st.Reactions[i].Users = append(st.Reactions[i].Users, c.user)
		}
		st.AddChange(broker.Change{Kind: natter.KindReact, From: c.user, CID: req.CID})
		return nil
	})
	if err != nil {
		return err
	}
	if noop {
		c.send(event{Type: evAck, RID: req.RID, Room: req.Room, CID: req.CID, Epoch: c.e.b.Epoch(), Noop: true})
		return nil
	}
	d := broker.Draft{Room: req.Room, From: c.user, ClientID: req.CID,
		Record: broker.Record{Kind: natter.KindReact, Target: req.Seq, Emoji: req.Emoji, Remove: req.Remove}}
	return c.store(ctx, req, d, func(ctx context.Context, a broker.Ack) error {
		return c.e.confirm(ctx, req.Room, req.Seq, c.user, req.CID, a.Seq)
	})
}

func reactionIndex(rs []broker.Reaction, emoji string) int {
	for i, r := range rs {
		if r.Emoji == emoji {
			return i
		}
	}
	return -1
}

func removeUser(us []natter.UserID, u natter.UserID) []natter.UserID {
	out := us[:0]
	for _, v := range us {
		if v != u {
			out = append(out, v)
		}
	}
	return out
}

// topic changes a room's topic and/or name: a record in the room's stream
// (members see it live and on replay), then the directory entry (room
// lists show it). Resends are the stream's dedupe: the directory update is
// repeated with the original seq, which changes nothing newer.
func (c *conn) topic(ctx context.Context, req request) error {
	release, err := c.admitChange(req.Room)
	if err != nil {
		return err
	}
	defer release()
	mod, err := c.moderator(ctx, req.Room)
	if err != nil {
		return err
	}
	if !mod {
		return natter.Errorf(natter.EFORBIDDEN, "only the room's owner or an admin changes its topic and name")
	}
	d := broker.Draft{Room: req.Room, From: c.user, ClientID: req.CID,
		Record: broker.Record{Kind: natter.KindTopic, Topic: req.Topic, Name: req.Name}}
	return c.store(ctx, req, d, func(ctx context.Context, a broker.Ack) error {
		return c.e.b.SetRoomInfo(ctx, req.Room, a.Seq, req.Topic, req.Name)
	})
}

// replyRecord checks what a send answers, and returns the record fields of
// the message: reply_to and thread must be messages of the room, not
// deleted, and a thread root must not be a thread reply itself.
func (c *conn) replyRecord(ctx context.Context, req request) (broker.Record, error) {
	rec := broker.Record{ReplyTo: req.ReplyTo, Thread: req.Thread, AlsoRoom: req.AlsoRoom,
		Mentions: mentions(*req.Text, c.mayMentionRoom(req.Room))}
	for _, seq := range []uint64{req.ReplyTo, req.Thread} {
		if seq == 0 {
			continue
		}
		st, err := c.e.b.MsgState(ctx, req.Room, seq)
		if err != nil {
			return rec, err
		}
		if st.Deleted {
			return rec, notFound(req.Room, seq)
		}
		if seq == req.Thread && st.Thread != 0 {
			return rec, natter.Errorf(natter.EINVALID, "message %d is a reply in thread %d: reply there", seq, st.Thread)
		}
	}
	return rec, nil
}

// mayMentionRoom reports whether c's user may notify everyone in room with
// @room: its owner or an admin.
func (c *conn) mayMentionRoom(id natter.RoomID) bool {
	m := c.memberOf(id)
	return m != nil && (m.owner == c.user || c.e.rules.admin(id, c.user))
}
