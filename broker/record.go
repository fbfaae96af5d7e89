package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// Record returns the record of room stored at seq, from the stream leader
// (a record acked a moment ago must be found), or an ENOTFOUND error if
// there is none: never stored, erased, dropped by retention, or a record
// of another room. Its Prev is 0: a single record has no chain.
func (b *Broker) Record(ctx context.Context, room natter.RoomID, seq uint64) (natter.Message, error) {
	if seq == 0 {
		return natter.Message{}, natter.Errorf(natter.ENOTFOUND, "no message 0 in %s", room)
	}
	m, err := b.leaderGet(ctx, fmt.Sprintf("record %d", seq), map[string]any{"seq": seq})
	if err != nil {
		return natter.Message{}, err
	}
	if m == nil || m.Subject != roomSubject(room) {
		return natter.Message{}, natter.Errorf(natter.ENOTFOUND, "no message %d in %s", seq, room)
	}
	return decodeBody(room, m.Seq, 0, m.Time, b.epoch, m.Data)
}

// Erase removes the records at seqs from the stream: no read, replay or
// replica serves them again. It is a plain delete, not SecureDeleteMsg:
// with secure deletes (which rewrite the record's bytes in place), a
// cluster whose stream leader was killed -9 lost acknowledged records that
// were never deleted (2 of 2 chaos runs, none of 2 with plain deletes), and
// losing nothing acknowledged comes first. The bytes stay in the stream's
// block files until JetStream rewrites the block (docs/SECURITY.md). A
// record already gone (erased before, or dropped by retention) is no error,
// so an erase can be repeated.
func (b *Broker) Erase(ctx context.Context, seqs ...uint64) error {
	for _, seq := range seqs {
		if seq == 0 {
			continue
		}
		err := b.stream.DeleteMsg(ctx, seq)
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) && !isNotFoundAPIErr(err) {
			return unavailable(fmt.Sprintf("erase record %d", seq), err)
		}
	}
	return nil
}

// isNotFoundAPIErr reports the server's answer to a delete of a sequence
// the stream no longer holds: NATS error 10043 ("sequence not found") from
// a single server, 10057 ("no message found") from a clustered stream.
// nats.go flattens it into a string (ErrMsgDeleteUnsuccessful wrapping the
// API error's text), so the code is matched there.
func isNotFoundAPIErr(err error) bool {
	if !errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "err_code=10043") || strings.Contains(s, "err_code=10057")
}

// HasRecords reports, from the stream leader, whether room has a record
// with after < seq <= upTo. A replay whose direct get (which any replica
// may answer) ended before upTo asks it: a lagging replica lacks records
// the leader has, while erased ones are gone from both.
func (b *Broker) HasRecords(ctx context.Context, room natter.RoomID, after, upTo uint64) (bool, error) {
	m, err := b.leaderGet(ctx, fmt.Sprintf("record of %s after %d", room, after), map[string]any{"seq": after + 1, "next_by_subj": roomSubject(room)})
	if err != nil {
		return false, err
	}
	return m != nil && m.Seq <= upTo, nil
}

// lastMessageWindow is the span of stream sequences LastMessage reads
// first; each further read covers the span before the previous one, four
// times as long.
const lastMessageWindow = 64

// LastMessage returns the seq of room's newest record of kind message at or
// before upTo (0 if it has none): what a version 1 connection, which is
// sent no change records, is told is the room's end. Direct gets only read
// forward, so it reads disjoint, growing spans backwards from upTo until
// one holds a message: what it reads is bounded by a few times the records
// after the last message, which are few.
func (b *Broker) LastMessage(ctx context.Context, room natter.RoomID, upTo uint64) (uint64, error) {
	hi := upTo
	for w := uint64(lastMessageWindow); hi > 0; w *= 4 {
		lo := uint64(0)
		if hi > w {
			lo = hi - w
		}
		var found uint64
		_, err := b.ReadRoom(ctx, room, lo, hi, func(m natter.Message) error {
			if m.Kind == natter.KindMessage {
				found = m.Seq
			}
			return nil
		})
		if err != nil || found > 0 {
			return found, err
		}
		hi = lo
	}
	return 0, nil
}

// eraseDeleted is the archive's backstop for erasing: the edge that stored
// a tombstone erases its message and edits once it is acked, but an edge
// that dies in between leaves them, and an edit stored just after the
// tombstone is erased by the edge that stored it, which may die too. Every
// tombstone and every edit of a deleted message that the archive passes is
// checked here, once per archiver; erasing again is harmless.
func (b *Broker) eraseDeleted(ctx context.Context, msgs []natter.Message) {
	for _, m := range msgs {
		if m.Kind != natter.KindDelete && m.Kind != natter.KindEdit {
			continue
		}
		st, err := b.MsgState(ctx, m.Room, m.Target)
		if natter.ErrorCode(err) == natter.ENOTFOUND {
			continue // erased, or never a message
		}
		if err != nil {
			b.log.Warn("erase check failed", "room", m.Room, "seq", m.Target, "err", err)
			continue
		}
		var seqs []uint64
		switch {
		case m.Kind == natter.KindEdit && st.Deleted:
			seqs = []uint64{m.Seq}
		case m.Kind == natter.KindDelete && !st.Erased:
			seqs = append([]uint64{m.Target}, st.EditSeqs()...)
		}
		if err := b.Erase(ctx, seqs...); err != nil {
			b.log.Warn("erase of a deleted message failed", "room", m.Room, "seq", m.Target, "err", err)
		}
	}
}

// StoreSizes returns the bytes the ROOMS stream and the message state
// bucket hold (for measuring what records cost).
func (b *Broker) StoreSizes(ctx context.Context) (stream, msgState uint64, err error) {
	info, err := b.stream.Info(ctx)
	if err != nil {
		return 0, 0, unavailable("stream info", err)
	}
	st, err := b.msgs.Status(ctx)
	if err != nil {
		return 0, 0, unavailable("message state bucket", err)
	}
	return info.State.Bytes, st.Bytes(), nil
}
