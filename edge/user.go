package edge

import (
	"context"

	"github.com/natter-chat/natter"
)

// followUsers starts the edge's one subscription to user events.
func (e *Edge) followUsers() error {
	stop, err := e.b.FollowUsers(e.userEvent)
	if err != nil {
		return err
	}
	context.AfterFunc(e.ctx, stop)
	return nil
}

// attach registers c for its user's events, starting the edge's
// subscription with its first user.
func (e *Edge) attach(c *conn) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.followingUsers {
		if err := e.followUsers(); err != nil {
			return err
		}
		e.followingUsers = true
	}
	if err := e.admit(c); err != nil {
		return err
	}
	e.users[c.user] = append(e.users[c.user], c)
	return nil
}

// detach undoes attach.
func (e *Edge) detach(c *conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.release(c)
	conns := e.users[c.user]
	for i, x := range conns {
		if x == c {
			conns = append(conns[:i], conns[i+1:]...)
			break
		}
	}
	if len(conns) == 0 {
		delete(e.users, c.user)
	} else {
		e.users[c.user] = conns
	}
}

// userEvent queues a user event, framed once, to each of the user's local
// connections; events of users not connected here are dropped.
func (e *Edge) userEvent(user natter.UserID, data []byte) {
	e.mu.Lock()
	conns := append([]*conn(nil), e.users[user]...)
	e.mu.Unlock()
	if len(conns) == 0 {
		return
	}
	frame := textFrame(data)
	for _, c := range conns {
		c.enqueue(frame)
	}
}

// notify sends ev to every connection of user.
func (e *Edge) notify(user natter.UserID, ev event) {
	if err := e.b.PublishUserEvent(user, encode(ev)); err != nil {
		e.log.Warn("user event not sent", "user", user, "type", ev.Type, "err", err)
	}
}
