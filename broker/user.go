package broker

import (
	"github.com/nats-io/nats.go"

	"github.com/natter-chat/natter"
)

// User events reach a user wherever they are connected, outside any room:
// "you were added to a room", "bob opened a DM with you". Like room events
// they are ephemeral; what they announce is also in the directory.
func userSubject(u natter.UserID) string { return "natter.user." + string(u) }

// PublishUserEvent sends data to every connection of user, on every edge.
func (b *Broker) PublishUserEvent(user natter.UserID, data []byte) error {
	if err := b.nc.Publish(userSubject(user), data); err != nil {
		return unavailable("user event", err)
	}
	return nil
}

// FollowUser subscribes to user's events until the returned stop is called.
// An edge holds one such subscription per user with local connections.
func (b *Broker) FollowUser(user natter.UserID, fn func([]byte)) (stop func(), err error) {
	sub, err := b.nc.Subscribe(userSubject(user), func(m *nats.Msg) { fn(m.Data) })
	if err != nil {
		return nil, unavailable("follow user", err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}
