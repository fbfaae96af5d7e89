package wsclient

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Room is one room's messages as a client shows them: the projection of
// the records it received (protocol version 2), applied in order with
// Apply. A change to a message the room does not hold is ignored, as a
// client that has not loaded it (or for whom it was erased) does.
type Room struct {
	Msgs  map[uint64]*Msg
	Topic *string
	Name  *string
	Last  uint64 // the highest seq applied
}

// Msg is one message in its current state.
type Msg struct {
	Seq             uint64
	From, Text      string
	Edited, Deleted bool
	DeletedBy       string
	ReplyTo, Thread uint64
	AlsoRoom        bool
	Mentions        []string
	Reactions       []Reaction // in order of each emoji's first reaction
}

// Reaction is one emoji on a message and who put it there, in order.
type Reaction struct {
	Emoji string
	Users []string
}

// NewRoom returns an empty projection.
func NewRoom() *Room { return &Room{Msgs: map[uint64]*Msg{}} }

// Apply applies one msg event of the room.
func (r *Room) Apply(ev Event) {
	r.Last = max(r.Last, ev.Seq)
	m := r.Msgs[ev.Target]
	switch ev.Kind {
	case "":
		r.Msgs[ev.Seq] = &Msg{Seq: ev.Seq, From: ev.From, Text: ev.Text, ReplyTo: ev.ReplyTo, Thread: ev.Thread,
			AlsoRoom: ev.AlsoRoom, Mentions: ev.Mentions}
	case "edit":
		if m != nil && !m.Deleted {
			m.Text, m.Edited, m.Mentions = ev.Text, true, ev.Mentions
		}
	case "delete":
		if m != nil {
			m.Deleted, m.DeletedBy, m.Text, m.Mentions, m.Reactions = true, ev.From, "", nil, nil
		}
	case "react":
		if m != nil && !m.Deleted {
			m.react(ev.Emoji, ev.From, ev.Remove)
		}
	case "topic":
		if ev.Topic != nil {
			r.Topic = ev.Topic
		}
		if ev.Name != nil {
			r.Name = ev.Name
		}
	}
}

func (m *Msg) react(emoji, user string, remove bool) {
	i := slices.IndexFunc(m.Reactions, func(r Reaction) bool { return r.Emoji == emoji })
	switch {
	case remove && i >= 0:
		r := &m.Reactions[i]
		r.Users = slices.DeleteFunc(r.Users, func(u string) bool { return u == user })
		if len(r.Users) == 0 {
			m.Reactions = slices.Delete(m.Reactions, i, i+1)
		}
	case remove:
	case i < 0:
		m.Reactions = append(m.Reactions, Reaction{Emoji: emoji, Users: []string{user}})
	case !slices.Contains(m.Reactions[i].Users, user):
		m.Reactions[i].Users = append(m.Reactions[i].Users, user)
	}
}

// View is what a reader sees, as text to compare: the messages that are
// not deleted, in order, and the topic and name. A deleted message a
// client had shows as deleted, one it never had (erased before it could
// see it) does not show at all: to a reader they are the same, so deleted
// messages are left out.
func (r *Room) View() string {
	var seqs []uint64
	for seq, m := range r.Msgs {
		if !m.Deleted {
			seqs = append(seqs, seq)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	var b strings.Builder
	for _, seq := range seqs {
		m := r.Msgs[seq]
		fmt.Fprintf(&b, "%d %s %q edited=%v reply=%d thread=%d also=%v mentions=%v reactions=%v\n",
			seq, m.From, m.Text, m.Edited, m.ReplyTo, m.Thread, m.AlsoRoom, m.Mentions, m.Reactions)
	}
	if r.Topic != nil {
		fmt.Fprintf(&b, "topic %q\n", *r.Topic)
	}
	if r.Name != nil {
		fmt.Fprintf(&b, "name %q\n", *r.Name)
	}
	return b.String()
}
