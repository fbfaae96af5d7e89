package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// Draft is a record a user asks to store: a message, or a change to one
// (Record.Kind, see natter's record.go).
type Draft struct {
	Room     natter.RoomID
	From     natter.UserID
	ClientID string
	Text     string
	TTL      time.Duration // the room's retention, 0: none
	Record
}

// Record is what a stored record carries beyond its sender, text and
// client id. The JSON tags are natter.Message's: the stream body, the wire
// event and the history API use one set of names. A body without kind is
// a message, so every stream written before records had kinds reads
// unchanged.
type Record struct {
	Kind     string          `json:"kind,omitempty"`
	Target   uint64          `json:"target,omitempty"`
	ReplyTo  uint64          `json:"reply_to,omitempty"`
	Thread   uint64          `json:"thread,omitempty"`
	AlsoRoom bool            `json:"also_room,omitempty"`
	Mentions []natter.UserID `json:"mentions,omitempty"`
	Emoji    string          `json:"emoji,omitempty"`
	Remove   bool            `json:"remove,omitempty"`
	Topic    *string         `json:"topic,omitempty"`
	Name     *string         `json:"name,omitempty"`
}

// Ack is JetStream's acknowledgement of a stored Draft.
type Ack struct {
	Seq       uint64
	Epoch     string
	Duplicate bool // the same client id was stored before; Seq is the original's
}

// body is the stored payload. Sequence, Prev and time come from the stream.
// Text is omitted when empty (tombstones and reactions have none).
type body struct {
	From     natter.UserID `json:"from"`
	Text     string        `json:"text,omitempty"`
	ClientID string        `json:"cid"`
	Record
}

// MsgID is the JetStream de-duplication id of a draft. Users and rooms
// contain no '/', so the id is unambiguous whatever the client id holds.
func MsgID(d Draft) string { return string(d.From) + "/" + string(d.Room) + "/" + d.ClientID }

// Publish stores d asynchronously and calls done exactly once with the
// outcome, from a NATS goroutine: done must not block. Publish itself only
// blocks while the number of unacknowledged publishes is at MaxInflight
// (backpressure), and fails at once if the message cannot be sent.
//
// A done error means the outcome is unknown (timeout, disconnect): the
// client must resend with the same client id, which stores at most once.
func (b *Broker) Publish(ctx context.Context, d Draft, done func(Ack, error)) error {
	if err := b.storeFault(true); err != nil {
		return err
	}
	data, err := json.Marshal(body{From: d.From, Text: d.Text, ClientID: d.ClientID, Record: d.Record})
	if err != nil {
		return err
	}
	m := &nats.Msg{Subject: roomSubject(d.Room), Data: data, Header: nats.Header{}}
	done, failed := b.tracePublish(ctx, d.Room, m, done)
	b.pending.Store(m, &inflight{done: done, at: time.Now()})
	opts := []jetstream.PublishOpt{jetstream.WithMsgID(MsgID(d)), jetstream.WithExpectStream(StreamName)}
	if d.TTL > 0 && b.msgTTL {
		opts = append(opts, jetstream.WithMsgTTL(d.TTL)) // room retention (retention.go)
	}
	_, err = b.js.PublishMsgAsync(m, opts...)
	if err != nil {
		b.pending.Delete(m)
		failed(err)
		if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionDraining) {
			return natter.Errorf(natter.EUNAVAILABLE, "shutting down")
		}
		return natter.Errorf(natter.EUNAVAILABLE, "message store unavailable: %v", err)
	}
	return nil
}

func (b *Broker) onPubAck(_ jetstream.JetStream, m *nats.Msg, pa *jetstream.PubAck) {
	b.full.stored()
	b.answer(m, Ack{Seq: pa.Sequence, Epoch: b.epoch, Duplicate: pa.Duplicate}, nil)
}

func (b *Broker) onPubErr(_ jetstream.JetStream, m *nats.Msg, err error) {
	if isFullErr(err) {
		b.full.refused()
	}
	if ferr := b.storeFault(false); ferr != nil {
		// Say why, rather than how the wait for the ack ended.
		err = ferr
	} else {
		err = natter.Errorf(natter.EUNAVAILABLE, "store did not confirm: %v", err)
	}
	b.answer(m, Ack{}, err)
}

// PublishEvent sends an ephemeral event (typing, presence, receipt) to
// every edge following room. It is not stored and may be lost.
func (b *Broker) PublishEvent(room natter.RoomID, data []byte) error {
	if err := b.nc.Publish(eventSubject(room), data); err != nil {
		return fmt.Errorf("broker: event: %w", err)
	}
	return nil
}
