package broker

import (
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/natter-chat/natter"
)

// User events reach a user wherever they are connected, outside any room:
// "you were added to a room", "bob opened a DM with you". Like room events
// they are ephemeral; what they announce is also in the directory.
const userPrefix = "natter.user."

func userSubject(u natter.UserID) string { return userPrefix + string(u) }

// PublishUserEvent sends data to every connection of user, on every edge.
func (b *Broker) PublishUserEvent(user natter.UserID, data []byte) error {
	if err := b.nc.Publish(userSubject(user), data); err != nil {
		return unavailable("user event", err)
	}
	return nil
}

// FollowUsers calls fn with every user event of the cluster until stop is
// called. An edge makes one such subscription and picks the events of its
// local users: user events are rare (a room gained a member, a DM was
// opened), while a subscription per connected user would cost an edge more
// memory than the connection itself.
func (b *Broker) FollowUsers(fn func(natter.UserID, []byte)) (stop func(), err error) {
	sub, err := b.nc.Subscribe(userPrefix+"*", func(m *nats.Msg) {
		fn(natter.UserID(strings.TrimPrefix(m.Subject, userPrefix)), m.Data)
	})
	if err != nil {
		return nil, unavailable("follow users", err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}
