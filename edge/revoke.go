package edge

import (
	"github.com/natter-chat/natter"
)

// revoked closes the local connections of user whose session has just been
// revoked (log out, log out everywhere, password change), on whichever node
// that happened. The broker's revocation watcher calls it.
func (e *Edge) revoked(user natter.UserID) {
	e.mu.Lock()
	conns := append([]*conn(nil), e.users[user]...)
	e.mu.Unlock()
	for _, c := range conns {
		if c.sessionRevoked() {
			c.endSession()
		}
	}
}

// sessionRevoked reports whether c's token belongs to a revoked session.
// It reads the in-memory revocation list only.
func (c *conn) sessionRevoked() bool {
	s := c.e.cfg.Sessions
	if s == nil || !c.authed.Load() {
		return false
	}
	claims := c.claims.Load()
	return claims != nil && s.Check(*claims) != nil
}

// endSession tells the client why and closes with 4001, as for an expired
// token: the client must log in again, not reconnect with the same token.
func (c *conn) endSession() {
	c.send(event{Type: evError, Code: natter.EUNAUTHORIZED, Message: "session ended; log in again"})
	c.closeWith(CloseUnauthorized, "session ended")
}
