package edge

import (
	"context"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
)

// moderate serves kick, ban, unban, mute, unmute, role and slowmode. The
// broker checks the caller's role and writes the directory; the reply
// waits until this edge's watches have applied the change, so that the
// caller's next message already finds it in force here (other edges apply
// it as their watches see it, normally within milliseconds).
func (c *conn) moderate(ctx context.Context, req request) error {
	a := natter.ModAction{Action: req.Op, Room: req.Room, User: req.User, By: c.user, Role: req.Role}
	if req.Secs != nil {
		a.Seconds = *req.Secs
	}
	if req.Op == opSlowMode && req.Secs == nil {
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
	ev := event{Type: evOK, RID: req.RID, Room: done.Room, User: done.User, Action: done.Event(), Role: done.Role}
	if done.Action == natter.ActSlowMode {
		ev.Seconds = &done.Seconds
	}
	c.send(ev)
	return nil
}

// addMember adds user to r, unless banned from it.
func (e *Edge) addMember(ctx context.Context, r natter.Room, user natter.UserID) error {
	banned, err := e.b.Banned(ctx, r.ID, user)
	if err != nil {
		return err
	}
	if banned {
		return natter.Errorf(natter.EBANNED, "%s is banned from %s; unban first", user, r.ID)
	}
	return e.b.AddMember(ctx, r.ID, user)
}

// removeMember removes user from room and returns once this edge has
// unsubscribed them (see rules): when the remover hears "ok", nothing
// sent afterwards reaches the removed user here.
func (e *Edge) removeMember(ctx context.Context, room natter.RoomID, user natter.UserID) error {
	rev, err := e.b.DeleteMember(ctx, room, user)
	if err != nil {
		return err
	}
	return e.rules.wait(ctx, broker.Applied{MemberRev: rev})
}
