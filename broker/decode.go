package broker

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// decodeStored turns a republished or directly fetched stream message into
// a natter.Message. Both carry the stream coordinates in headers.
func decodeStored(m *nats.Msg, epoch string) (natter.Message, error) {
	seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
	if err != nil {
		return natter.Message{}, fmt.Errorf("broker: bad %s header: %w", jetstream.SequenceHeader, err)
	}
	prev, _ := strconv.ParseUint(m.Header.Get(jetstream.LastSequenceHeader), 10, 64)
	ts, _ := time.Parse(time.RFC3339Nano, m.Header.Get(jetstream.TimeStampHeaer))
	return decodeBody(roomFromSubject(m.Header.Get(jetstream.SubjectHeader)), seq, prev, ts, epoch, m.Data)
}

func decodeBody(room natter.RoomID, seq, prev uint64, ts time.Time, epoch string, data []byte) (natter.Message, error) {
	var b body
	if err := json.Unmarshal(data, &b); err != nil {
		return natter.Message{}, fmt.Errorf("broker: message %d: %w", seq, err)
	}
	r := b.Record
	return natter.Message{
		Room: room, Seq: seq, Prev: prev, Epoch: epoch,
		From: b.From, Text: b.Text, ClientID: b.ClientID, Time: ts.UTC(),
		Kind: r.Kind, Target: r.Target, ReplyTo: r.ReplyTo, Thread: r.Thread, AlsoRoom: r.AlsoRoom,
		Mentions: r.Mentions, Emoji: r.Emoji, Remove: r.Remove, Topic: r.Topic, Name: r.Name,
	}, nil
}
