package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// readBatch is how many messages one direct-get request asks for.
const readBatch = 256

// batchTimeout bounds one direct-get round trip.
const batchTimeout = 5 * time.Second

// ReadRoom calls fn, in order, for every message of room with after < seq
// (and seq <= upTo when upTo > 0). It reads with batched direct gets, so no
// consumer is created however many clients resume at once.
//
// The messages handed to fn are contiguous by construction: the first one's
// Prev is set to after, each next one's Prev to the one before. It returns
// the sequence of the last message passed to fn (after if none).
func (b *Broker) ReadRoom(ctx context.Context, room natter.RoomID, after, upTo uint64, fn func(natter.Message) error) (uint64, error) {
	last := after
	for {
		n, pending, err := b.readBatch(ctx, room, last, upTo, func(m natter.Message) error {
			m.Prev = last
			if err := fn(m); err != nil {
				return err
			}
			last = m.Seq
			return nil
		})
		if err != nil {
			return last, err
		}
		if n == 0 || pending == 0 || (upTo > 0 && last >= upTo) {
			return last, nil
		}
	}
}

type directGetRequest struct {
	Seq     uint64 `json:"seq"`
	NextFor string `json:"next_by_subj"`
	Batch   int    `json:"batch"`
}

// readBatch performs one batched direct get from after+1. It returns how
// many messages it passed to fn and how many the server said remain.
func (b *Broker) readBatch(ctx context.Context, room natter.RoomID, after, upTo uint64, fn func(natter.Message) error) (int, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	batch := readBatch
	if upTo > 0 {
		// Sequences are stream-wide, so upTo-after bounds the room's
		// messages in range: a small gap costs a small batch.
		batch = int(min(uint64(readBatch), upTo-after))
	}
	req, _ := json.Marshal(directGetRequest{Seq: after + 1, NextFor: roomSubject(room), Batch: batch})
	inbox := b.nc.NewInbox()
	sub, err := b.nc.SubscribeSync(inbox)
	if err != nil {
		return 0, 0, fmt.Errorf("broker: read %s: %w", room, err)
	}
	defer sub.Unsubscribe()
	if err := b.nc.PublishRequest("$JS.API.DIRECT.GET."+StreamName, inbox, req); err != nil {
		return 0, 0, fmt.Errorf("broker: read %s: %w", room, err)
	}
	n := 0
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return n, 0, natter.Errorf(natter.EUNAVAILABLE, "reading room %s: %v", room, err)
		}
		switch status := m.Header.Get("Status"); status {
		case "":
		case "204": // end of batch
			pending, _ := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
			return n, pending, nil
		case "404": // nothing after `after`
			return n, 0, nil
		default:
			return n, 0, natter.Errorf(natter.EUNAVAILABLE, "reading room %s: status %s %s", room, status, m.Header.Get("Description"))
		}
		msg, err := decodeStored(m, b.epoch)
		if err != nil {
			return n, 0, err
		}
		if upTo > 0 && msg.Seq > upTo {
			// The server honours up_to_seq only for multi_last requests;
			// drain the rest of the batch without delivering it.
			continue
		}
		if err := fn(msg); err != nil {
			return n, 0, err
		}
		n++
	}
}

// LastSeq returns the sequence of room's newest message, 0 if it has none.
// It asks the stream leader through the JetStream API rather than a direct
// get, which a lagging replica may answer: feeds use this as the base for
// gap detection.
func (b *Broker) LastSeq(ctx context.Context, room natter.RoomID) (uint64, error) {
	m, err := b.leaderGet(ctx, "last message of "+string(room), map[string]any{"last_by_subj": roomSubject(room)})
	if err != nil || m == nil {
		return 0, err
	}
	return m.Seq, nil
}

// nextStored returns the stream's first message after seq, nil if there is
// none, from the stream leader.
func (b *Broker) nextStored(ctx context.Context, seq uint64) (*storedMsg, error) {
	return b.leaderGet(ctx, "stream message after "+strconv.FormatUint(seq, 10), map[string]any{"seq": seq + 1, "next_by_subj": roomWildcard})
}

// storedMsg is a stream message as the JetStream API returns it.
type storedMsg struct {
	Subject string    `json:"subject"`
	Seq     uint64    `json:"seq"`
	Data    []byte    `json:"data"`
	Time    time.Time `json:"time"`
	Header  []byte    `json:"hdrs"` // NATS header block (tracing reads it)
}

// leaderGet asks the stream leader for one message through the JetStream
// API (never a direct get, which any replica may answer, however far
// behind); nil if there is no such message.
func (b *Broker) leaderGet(ctx context.Context, what string, req map[string]any) (*storedMsg, error) {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	data, _ := json.Marshal(req)
	resp, err := b.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+StreamName, data)
	if err != nil {
		return nil, natter.Errorf(natter.EUNAVAILABLE, "%s: %v", what, err)
	}
	var r struct {
		Message *storedMsg `json:"message"`
		Error   *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return nil, fmt.Errorf("broker: %s: %w", what, err)
	}
	switch {
	case r.Error != nil && r.Error.Code == 404:
		return nil, nil
	case r.Error != nil:
		return nil, natter.Errorf(natter.EUNAVAILABLE, "%s: %s", what, r.Error.Description)
	case r.Message == nil:
		return nil, fmt.Errorf("broker: %s: empty response", what)
	}
	return r.Message, nil
}

// StreamLast returns the stream's last sequence, from its leader.
func (b *Broker) StreamLast(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	info, err := b.stream.Info(ctx)
	if err != nil {
		return 0, unavailable("stream info", err)
	}
	return info.State.LastSeq, nil
}

// RoomCounts returns, from the stream leader, the stream's first and last
// sequence and how many messages each room has in the stream: what an
// audit of an archive compares with.
func (b *Broker) RoomCounts(ctx context.Context) (first, last uint64, counts map[natter.RoomID]uint64, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // many rooms: many pages
	defer cancel()
	info, err := b.stream.Info(ctx, jetstream.WithSubjectFilter(roomWildcard))
	if err != nil {
		return 0, 0, nil, unavailable("stream info", err)
	}
	counts = make(map[natter.RoomID]uint64, len(info.State.Subjects))
	for subj, n := range info.State.Subjects {
		counts[roomFromSubject(subj)] = n
	}
	return info.State.FirstSeq, info.State.LastSeq, counts, nil
}
