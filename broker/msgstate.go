package broker

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// msgsBucket holds the authorisation state of messages that were changed
// or quoted, one key per message: <room>.<seq> -> MsgState (JSON). It is
// cluster-wide, so any edge may accept a change, and every change passes
// through a compare-and-swap of its target's key before it is published:
// two edges cannot both accept the last allowed edit, nor an edit of a
// message being deleted. Keys are created lazily from the stream record
// the first time a message is a target.
const msgsBucket = "natter-msgs"

func msgKey(room natter.RoomID, seq uint64) string {
	return string(room) + "." + strconv.FormatUint(seq, 10)
}

// MsgState is what the edges know of one message to authorise and bound
// changes to it. It may run ahead of the stream: a change is entered here
// before it is published, so a change whose publish failed and that its
// client never resent stays counted (a reaction then reads as present).
type MsgState struct {
	From      natter.UserID `json:"from"`
	Thread    uint64        `json:"thread,omitempty"` // the message is a reply in this thread
	Deleted   bool          `json:"deleted,omitempty"`
	Erased    bool          `json:"erased,omitempty"` // the text and its edits are erased from the stream
	Reactions []Reaction    `json:"reactions,omitempty"`
	// Changes are the accepted changes: every edit and the deletion, and
	// the latest reactions (reactionMemory), by client id, so that a resend
	// is recognised and answered with the original record.
	Changes []Change `json:"changes,omitempty"`
}

// Reaction is one emoji on a message and who put it there, in order.
type Reaction struct {
	Emoji string          `json:"emoji"`
	Users []natter.UserID `json:"users"`
}

// Change is one accepted change of a message.
type Change struct {
	Kind string        `json:"kind"`
	From natter.UserID `json:"from"`
	CID  string        `json:"cid"`
	Seq  uint64        `json:"seq,omitempty"` // 0 until the record's publish is acked
}

// reactionMemory is how many of a message's latest reaction changes are
// remembered for resends; an older resend is checked like a new request
// (the stream's dedupe window still stores it at most once).
const reactionMemory = 64

// Edits counts the accepted edits.
func (s *MsgState) Edits() int {
	n := 0
	for _, c := range s.Changes {
		if c.Kind == natter.KindEdit {
			n++
		}
	}
	return n
}

// EditSeqs are the stored edits' sequences.
func (s *MsgState) EditSeqs() []uint64 {
	var seqs []uint64
	for _, c := range s.Changes {
		if c.Kind == natter.KindEdit && c.Seq > 0 {
			seqs = append(seqs, c.Seq)
		}
	}
	return seqs
}

// Change returns the accepted change by from with client id cid, if any.
func (s *MsgState) Change(from natter.UserID, cid string) (*Change, bool) {
	for i := range s.Changes {
		if c := &s.Changes[i]; c.From == from && c.CID == cid {
			return c, true
		}
	}
	return nil, false
}

// AddChange records an accepted change, forgetting the oldest remembered
// reaction change beyond reactionMemory.
func (s *MsgState) AddChange(c Change) {
	s.Changes = append(s.Changes, c)
	if c.Kind != natter.KindReact {
		return
	}
	n := 0
	for _, old := range s.Changes {
		if old.Kind == natter.KindReact {
			n++
		}
	}
	if n <= reactionMemory {
		return
	}
	for i, old := range s.Changes {
		if old.Kind == natter.KindReact {
			s.Changes = append(s.Changes[:i], s.Changes[i+1:]...)
			return
		}
	}
}

// Pairs counts the (user, emoji) reactions.
func (s *MsgState) Pairs() int {
	n := 0
	for _, r := range s.Reactions {
		n += len(r.Users)
	}
	return n
}

// ErrNoChange, returned by a ChangeMsg function, leaves the state as it is
// without an error for the caller.
var ErrNoChange = errors.New("no change")

// MsgState returns the state of room's message seq, creating it from the
// stream record if it has none: ENOTFOUND if there is no such record or it
// is not a message (a change record is never a target).
func (b *Broker) MsgState(ctx context.Context, room natter.RoomID, seq uint64) (MsgState, error) {
	st, _, err := b.loadMsgState(ctx, room, seq)
	return st, err
}

// ChangeMsg applies fn to the state of room's message seq under
// compare-and-swap, retrying on contention with a fresh state. fn refuses
// with an error (returned as is), or returns ErrNoChange to keep the state;
// it may run several times. It returns the state as stored.
func (b *Broker) ChangeMsg(ctx context.Context, room natter.RoomID, seq uint64, fn func(*MsgState) error) (MsgState, error) {
	for attempt := 0; attempt < casAttempts; attempt++ {
		st, rev, err := b.loadMsgState(ctx, room, seq)
		if err != nil {
			return st, err
		}
		switch err := fn(&st); {
		case errors.Is(err, ErrNoChange):
			return st, nil
		case err != nil:
			return st, err
		}
		data, err := json.Marshal(st)
		if err != nil {
			return st, err
		}
		_, err = b.msgs.Update(ctx, msgKey(room, seq), data, rev)
		if err == nil {
			return st, nil
		}
		if !isWrongSequence(err) {
			return st, unavailable("message state", err)
		}
	}
	return MsgState{}, natter.Errorf(natter.EUNAVAILABLE, "message state contention on %s", msgKey(room, seq))
}

// loadMsgState reads the state and its revision, creating it first if
// needed.
func (b *Broker) loadMsgState(ctx context.Context, room natter.RoomID, seq uint64) (MsgState, uint64, error) {
	key := msgKey(room, seq)
	for attempt := 0; attempt < casAttempts; attempt++ {
		var st MsgState
		e, err := b.msgs.Get(ctx, key)
		if err == nil {
			if err := json.Unmarshal(e.Value(), &st); err != nil {
				return st, 0, err
			}
			return st, e.Revision(), nil
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return st, 0, unavailable("message state", err)
		}
		rec, err := b.Record(ctx, room, seq)
		if err != nil {
			return st, 0, err
		}
		if rec.Kind != natter.KindMessage {
			return st, 0, natter.Errorf(natter.ENOTFOUND, "no message %d in %s", seq, room)
		}
		st = MsgState{From: rec.From, Thread: rec.Thread}
		data, _ := json.Marshal(st)
		rev, err := b.msgs.Create(ctx, key, data)
		if err == nil {
			return st, rev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return st, 0, unavailable("message state", err)
		}
		// Another edge created it meanwhile: read theirs.
	}
	return MsgState{}, 0, natter.Errorf(natter.EUNAVAILABLE, "message state contention on %s", key)
}
