package edge

import (
	"context"

	"github.com/natter-chat/natter"
)

// Invitations: an add that the target's add policy or adds-per-hour quota
// turns into an offer (see addOrInvite). The target lists, accepts or
// declines offers with the ops below or the HTTP API (invitehttp.go).

// acceptInvitation makes user a member of the room they were invited to
// and tells the room and the user's other connections, as an add does.
func (e *Edge) acceptInvitation(ctx context.Context, user natter.UserID, room natter.RoomID) error {
	inv, err := e.quotas.Invitation(ctx, user, room)
	if err != nil {
		return err
	}
	r, err := e.b.Room(ctx, room)
	if natter.ErrorCode(err) == natter.ENOTFOUND || (err == nil && r.Kind != natter.Private) {
		_ = e.quotas.DeleteInvitation(ctx, user, room)
		return natter.Errorf(natter.ENOTFOUND, "no invitation to %s", room)
	}
	if err != nil {
		return err
	}
	if _, err := e.addMember(ctx, r, user); err != nil {
		return err
	}
	if err := e.quotas.DeleteInvitation(ctx, user, room); err != nil {
		return err
	}
	e.publishEvent(room, event{Type: evMember, Room: room, User: user, Action: "added"})
	e.notify(user, event{Type: evRoom, Room: room, Kind: r.Kind, Owner: r.Owner, Action: "added", From: inv.From})
	return nil
}

// declineInvitation drops user's invitation to room.
func (e *Edge) declineInvitation(ctx context.Context, user natter.UserID, room natter.RoomID) error {
	if _, err := e.quotas.Invitation(ctx, user, room); err != nil {
		return err
	}
	return e.quotas.DeleteInvitation(ctx, user, room)
}

// answerInvitation serves the accept and decline ops.
func (c *conn) answerInvitation(ctx context.Context, req request) error {
	if err := validRoom(req.Room); err != nil {
		return err
	}
	if err := c.allowRoomOp(); err != nil {
		return err
	}
	var err error
	if req.Op == opAccept {
		err = c.e.acceptInvitation(ctx, c.user, req.Room)
	} else {
		err = c.e.declineInvitation(ctx, c.user, req.Room)
	}
	if err != nil {
		return err
	}
	c.send(event{Type: evOK, RID: req.RID, Room: req.Room})
	return nil
}

// listInvitations serves the invitations op.
func (c *conn) listInvitations(ctx context.Context, req request) error {
	invs, err := c.e.quotas.Invitations(ctx, c.user)
	if err != nil {
		return err
	}
	c.send(event{Type: evInvitations, RID: req.RID, Invitations: invs})
	return nil
}

// settings serves the settings op: it sets the fields given and answers
// with all of them.
func (c *conn) settings(ctx context.Context, req request) error {
	if req.AddPolicy != "" {
		if err := c.e.quotas.SetPolicy(ctx, c.user, req.AddPolicy); err != nil {
			return err
		}
	}
	p, err := c.e.quotas.Policy(ctx, c.user)
	if err != nil {
		return err
	}
	c.send(event{Type: evSettings, RID: req.RID, AddPolicy: p})
	return nil
}
