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

// Erase removes the records at seqs from the stream for good: JetStream
// overwrites their bytes on disk (SecureDeleteMsg) on every replica. A
// record already gone (erased before, or dropped by retention) is no error,
// so an erase can be repeated.
func (b *Broker) Erase(ctx context.Context, seqs ...uint64) error {
	for _, seq := range seqs {
		if seq == 0 {
			continue
		}
		err := b.stream.SecureDeleteMsg(ctx, seq)
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) && !isNotFoundAPIErr(err) {
			return unavailable(fmt.Sprintf("erase record %d", seq), err)
		}
	}
	return nil
}

// isNotFoundAPIErr reports the server's answer to a delete of a sequence
// the stream no longer holds. nats.go flattens it into a string
// (ErrMsgDeleteUnsuccessful wrapping the API error's text), so the NATS
// error code 10043 is matched there.
func isNotFoundAPIErr(err error) bool {
	return errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) && strings.Contains(err.Error(), "err_code=10043")
}

// lastMessageWindows are the spans of stream sequences LastMessage reads
// backwards from the room's end, each four times the one before, before it
// reads the room from its start.
var lastMessageWindows = []uint64{64, 256, 1024, 4096, 16384}

// LastMessage returns the seq of room's newest record of kind message at or
// before upTo (0 if it has none): what a version 1 connection, which is
// sent no change records, is told is the room's end. Direct gets only read
// forward, so it reads growing windows before upTo; changes that follow the
// last message are few, and one window nearly always finds it.
func (b *Broker) LastMessage(ctx context.Context, room natter.RoomID, upTo uint64) (uint64, error) {
	var after uint64
	for i := 0; ; i++ {
		after = 0
		if i < len(lastMessageWindows) && upTo > lastMessageWindows[i] {
			after = upTo - lastMessageWindows[i]
		}
		var found uint64
		_, err := b.ReadRoom(ctx, room, after, upTo, func(m natter.Message) error {
			if m.Kind == natter.KindMessage {
				found = m.Seq
			}
			return nil
		})
		if err != nil || found > 0 || after == 0 {
			return found, err
		}
	}
}
