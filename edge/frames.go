package edge

import "github.com/natter-chat/natter"

// Protocol versions a connection may speak (auth's "v"). Version 1 is sent
// only records of kind message, with prev chained over those; version 2 is
// sent every record, with prev chained over all of them.
const (
	protoV1 = 1
	protoV2 = 2
)

// frameAt is one room record with its place in the room's two chains and
// its wire frames, encoded lazily, once per protocol version that a member
// is served: a room without version 1 members never encodes for them.
type frameAt struct {
	seq  uint64
	prev uint64 // the record before it (version 2's chain)
	// prev1 is the message before it (version 1's chain) as far as what
	// holds it knows. Messages only.
	prev1 uint64
	msg   *natter.Message
	size  int // what it costs a cache

	v1, v2 encoded
}

// encoded is a frame as encoded with prev; a chain that changes (an
// erased record) encodes it again.
type encoded struct {
	prev  uint64
	frame []byte
}

// recordCost is what a cached record costs beyond its text: the Message
// and the frames' fixed fields.
const recordCost = 400

func newFrameAt(m natter.Message) frameAt {
	return frameAt{seq: m.Seq, prev: m.Prev, msg: &m, size: recordCost + 2*len(m.Text)}
}

// isMessage reports whether fa is a record of kind message, the only kind
// version 1 connections are sent.
func (fa *frameAt) isMessage() bool { return fa.msg.Kind == natter.KindMessage }

// frame returns fa's frame for version v, encoding it unless it was
// encoded with the same prev; the other version's bytes are shared when
// their prev is the same.
func (fa *frameAt) frame(v int) []byte {
	e, other, prev := &fa.v2, &fa.v1, fa.prev
	if v == protoV1 {
		e, other, prev = &fa.v1, &fa.v2, fa.prev1
	}
	switch {
	case e.frame != nil && e.prev == prev:
	case other.frame != nil && other.prev == prev:
		*e = *other
	default:
		*e = encoded{prev: prev, frame: fa.frameWith(prev)}
	}
	return e.frame
}

// frameWith encodes fa with prev, for this member only.
func (fa *frameAt) frameWith(prev uint64) []byte {
	m := *fa.msg
	m.Prev = prev
	return textFrame(appendMsg(make([]byte, 0, 192+len(m.Text)), m))
}

// chain1 sets the prev1 of the messages of fas, in order, to follow one
// another from position base, and returns the last message's seq (base if
// none). prev (version 2) is the stream's and is never rewritten: an
// erased record leaves a hole in the chain, which member.queue closes for
// each member.
func chain1(fas []frameAt, base uint64) uint64 {
	lastMsg := base
	for i := range fas {
		if fa := &fas[i]; fa.isMessage() {
			fa.prev1 = lastMsg
			lastMsg = fa.seq
		}
	}
	return lastMsg
}

// erasedBy reports whether fa is erased by the deletion of a message in
// deleted: the message itself or one of its edits.
func erasedBy(fa *frameAt, deleted map[uint64]bool) bool {
	m := fa.msg
	return (m.Kind == natter.KindMessage && deleted[m.Seq]) || (m.Kind == natter.KindEdit && deleted[m.Target])
}

// withoutErased returns fas without the records a tombstone in fas, or in
// deleted, erases.
func withoutErased(fas []frameAt, deleted map[uint64]bool) []frameAt {
	var mine map[uint64]bool
	for i := range fas {
		if m := fas[i].msg; m.Kind == natter.KindDelete {
			if mine == nil {
				mine = map[uint64]bool{}
			}
			mine[m.Target] = true
		}
	}
	if mine == nil && len(deleted) == 0 {
		return fas
	}
	out := fas[:0:0]
	for i := range fas {
		if !erasedBy(&fas[i], mine) && !erasedBy(&fas[i], deleted) {
			out = append(out, fas[i])
		}
	}
	if len(out) == len(fas) {
		return fas
	}
	return out
}
