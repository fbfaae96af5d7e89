package main

import (
	"context"
	"testing"

	"github.com/natter-chat/natter/edge/wsclient"
)

// fastRecords lets a test store many records quickly.
func fastRecords(m *Main) {
	m.Rate, m.Burst = 10000, 10000
	m.Quota.UserRate, m.Quota.UserBurst = -1, 0
}

// connectV2 dials and authenticates user with protocol version 2.
func (s *server) connectV2(ctx context.Context, user string) *tclient {
	s.t.Helper()
	c, err := wsclient.Dial(ctx, s.wsURL())
	if err != nil {
		s.t.Fatalf("dial: %v", err)
	}
	s.t.Cleanup(func() { c.Close() })
	ready, err := c.AuthV(ctx, s.token(user), 2)
	if err != nil || ready.V != 2 {
		s.t.Fatalf("auth %s v2: %+v %v", user, ready, err)
	}
	return &tclient{Client: c, t: s.t, user: user}
}

// ok fails the test unless a record op was acked.
func (c *tclient) ok(ev wsclient.Event, err error) wsclient.Event {
	c.t.Helper()
	if err != nil || ev.Type != "ack" {
		c.t.Fatalf("%s: %+v %v, want an ack", c.user, ev, err)
	}
	return ev
}

// refused fails the test unless err carries code.
func refused(t *testing.T, what string, ev wsclient.Event, err error, code string) {
	t.Helper()
	if wsclient.ErrorCode(err) != code {
		t.Fatalf("%s: %+v %v, want %s", what, ev, err, code)
	}
}

// projection is a client's view of a room, built from its records.
type projection struct{ *wsclient.Room }

func newProjection() *projection { return &projection{wsclient.NewRoom()} }

// follow reads c's msg events of room until one with seq >= upTo, applying
// each to p and checking the prev chain (each prev is exactly the seq
// received before it); it returns the events.
func (p *projection) follow(t *testing.T, ctx context.Context, c *tclient, room string, upTo uint64) []wsclient.Event {
	t.Helper()
	var evs []wsclient.Event
	for p.Last < upTo {
		ev := c.messages(ctx, room, 1)[0]
		if ev.Seq <= p.Last {
			continue
		}
		if ev.Prev != p.Last {
			t.Fatalf("%s: msg %d has prev %d, last received %d", c.user, ev.Seq, ev.Prev, p.Last)
		}
		p.Apply(ev)
		evs = append(evs, ev)
	}
	return evs
}
