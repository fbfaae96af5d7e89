package edge

import (
	"github.com/natter-chat/natter"
)

// userFeed is the edge's one subscription to a user's events, shared by
// that user's local connections.
type userFeed struct {
	stop  func()
	conns map[*conn]struct{}
}

// attach registers c for its user's events, following them if c is the
// user's first local connection.
func (e *Edge) attach(c *conn) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.users[c.user]
	if f == nil {
		f = &userFeed{conns: map[*conn]struct{}{}}
		user := c.user
		stop, err := e.b.FollowUser(user, func(data []byte) { e.userEvent(user, data) })
		if err != nil {
			return err
		}
		f.stop = stop
		e.users[c.user] = f
	}
	f.conns[c] = struct{}{}
	return nil
}

// detach undoes attach; the last connection of a user stops the feed.
func (e *Edge) detach(c *conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.users[c.user]
	if f == nil {
		return
	}
	delete(f.conns, c)
	if len(f.conns) == 0 {
		f.stop()
		delete(e.users, c.user)
	}
}

// userEvent queues a user event, framed once, to each of the user's
// local connections.
func (e *Edge) userEvent(user natter.UserID, data []byte) {
	frame := textFrame(data)
	e.mu.Lock()
	var conns []*conn
	if f := e.users[user]; f != nil {
		for c := range f.conns {
			conns = append(conns, c)
		}
	}
	e.mu.Unlock()
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
