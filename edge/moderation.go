package edge

import (
	"context"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
)

// moderate serves kick, ban, unban, mute, unmute, role, slowmode and
// retention. The
// broker checks the caller's role and writes the directory; the reply
// waits until this edge's watches have applied the change, so that the
// caller's next message already finds it in force here, and for a kick or
// ban also for the other edges in the room (see removeMember). Other
// changes reach other edges as their watches see them, within milliseconds.
func (c *conn) moderate(ctx context.Context, req request) error {
	a := natter.ModAction{Action: req.Op, Room: req.Room, User: req.User, By: c.user, Role: req.Role}
	if req.Secs != nil {
		a.Seconds = *req.Secs
	}
	if (req.Op == opSlowMode || req.Op == opRetention) && req.Secs == nil {
		return natter.Errorf(natter.EINVALID, "missing seconds")
	}
	if err := validRoom(req.Room); err != nil {
		return err
	}
	done, ap, err := c.e.b.Moderate(ctx, a)
	if err != nil {
		return err
	}
	if err := c.e.rules.wait(ctx, ap); err != nil {
		return err
	}
	if ap.MemberRev > 0 {
		c.e.awaitOthers(ctx, done.Room, ap.MemberRev)
	}
	ev := event{Type: evOK, RID: req.RID, Room: done.Room, User: done.User, Action: done.Event(), Role: done.Role}
	if done.RoomWide() {
		ev.Seconds = &done.Seconds
	}
	c.send(ev)
	return nil
}

// addMember adds user to r, unless banned from it, within the
// members-per-room quota (quota.go). It returns the membership's revision,
// 0 if user was a member already.
func (e *Edge) addMember(ctx context.Context, r natter.Room, user natter.UserID) (uint64, error) {
	if r.Kind != natter.Direct {
		banned, err := e.b.Banned(ctx, r.ID, user)
		if err != nil {
			return 0, err
		}
		if banned {
			return 0, natter.Errorf(natter.EBANNED, "%s is banned from %s; unban first", user, r.ID)
		}
	}
	rev, err := e.quotas.AddMember(ctx, r.ID, user, e.cfg.Quota.RoomMembers)
	if natter.ErrorCode(err) == natter.EQUOTA {
		e.refused("room_members")
	}
	return rev, err
}

// removeMember ends user's membership of room and its place in the member
// count, withdraws a pending invitation to it (a removal means "not in
// this room", whether the user had accepted yet or not), and returns once
// this edge, and the other edges it knows to be in the room, have
// unsubscribed them (see rules and awaitOthers): when the remover hears
// "ok", nothing sent afterwards reaches the removed user.
func (e *Edge) removeMember(ctx context.Context, room natter.RoomID, user natter.UserID) error {
	rev, err := e.quotas.RemoveMember(ctx, room, user)
	if err != nil {
		return err
	}
	if err := e.quotas.DeleteInvitation(ctx, user, room); err != nil {
		return err
	}
	if err := e.rules.wait(ctx, broker.Applied{MemberRev: rev}); err != nil {
		return err
	}
	e.awaitOthers(ctx, room, rev)
	return nil
}
