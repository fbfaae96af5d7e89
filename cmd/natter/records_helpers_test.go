package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
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

// projMsg is one message as a client shows it, built from the records it
// received (a client-side projection).
type projMsg struct {
	From, Text      string
	Edited, Deleted bool
	ReplyTo, Thread uint64
	Mentions        []string
	Reactions       []projReaction
}

type projReaction struct {
	Emoji string
	Users []string
}

// projection applies a room's records in order, as a client does: changes
// to a message it does not have are ignored.
type projection struct {
	msgs  map[uint64]*projMsg
	topic *string
	name  *string
	last  uint64
}

func newProjection() *projection { return &projection{msgs: map[uint64]*projMsg{}} }

func (p *projection) apply(ev wsclient.Event) {
	p.last = max(p.last, ev.Seq)
	m := p.msgs[ev.Target]
	switch ev.Kind {
	case "":
		p.msgs[ev.Seq] = &projMsg{From: ev.From, Text: ev.Text, ReplyTo: ev.ReplyTo, Thread: ev.Thread, Mentions: ev.Mentions}
	case "edit":
		if m != nil && !m.Deleted {
			m.Text, m.Edited, m.Mentions = ev.Text, true, ev.Mentions
		}
	case "delete":
		if m != nil {
			m.Deleted, m.Text, m.Reactions = true, "", nil
		}
	case "react":
		if m == nil || m.Deleted {
			return
		}
		i := slices.IndexFunc(m.Reactions, func(r projReaction) bool { return r.Emoji == ev.Emoji })
		switch {
		case ev.Remove && i >= 0:
			r := &m.Reactions[i]
			r.Users = slices.DeleteFunc(r.Users, func(u string) bool { return u == ev.From })
			if len(r.Users) == 0 {
				m.Reactions = slices.Delete(m.Reactions, i, i+1)
			}
		case ev.Remove:
		case i < 0:
			m.Reactions = append(m.Reactions, projReaction{Emoji: ev.Emoji, Users: []string{ev.From}})
		case !slices.Contains(m.Reactions[i].Users, ev.From):
			m.Reactions[i].Users = append(m.Reactions[i].Users, ev.From)
		}
	case "topic":
		if ev.Topic != nil {
			p.topic = ev.Topic
		}
		if ev.Name != nil {
			p.name = ev.Name
		}
	}
}

// view is what a user sees: the messages that are not deleted, in order,
// and the room's topic and name. (A deleted message a client had shows as
// "deleted"; one it never had, erased before it could, does not show: the
// two are the same to a reader.)
func (p *projection) view() string {
	var seqs []uint64
	for seq, m := range p.msgs {
		if !m.Deleted {
			seqs = append(seqs, seq)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	var b strings.Builder
	for _, seq := range seqs {
		m := p.msgs[seq]
		fmt.Fprintf(&b, "%d %s %q edited=%v reply=%d thread=%d mentions=%v reactions=%v\n", seq, m.From, m.Text, m.Edited, m.ReplyTo, m.Thread, m.Mentions, m.Reactions)
	}
	if p.topic != nil {
		fmt.Fprintf(&b, "topic %q\n", *p.topic)
	}
	if p.name != nil {
		fmt.Fprintf(&b, "name %q\n", *p.name)
	}
	return b.String()
}

// follow reads c's msg events of room until one with seq >= upTo, applying
// each to p and checking the prev chain (each prev is exactly the seq
// received before it); it returns the events.
func (p *projection) follow(t *testing.T, ctx context.Context, c *tclient, room string, upTo uint64) []wsclient.Event {
	t.Helper()
	var evs []wsclient.Event
	for p.last < upTo {
		ev := c.messages(ctx, room, 1)[0]
		if ev.Seq <= p.last {
			continue
		}
		if ev.Prev != p.last {
			t.Fatalf("%s: msg %d has prev %d, last received %d", c.user, ev.Seq, ev.Prev, p.last)
		}
		p.apply(ev)
		evs = append(evs, ev)
	}
	return evs
}
