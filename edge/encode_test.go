package edge

import (
	"bytes"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

// msgEvent is a room message in the event struct: encoding/json's form of
// it is the reference appendMsg must match.
func msgEvent(m natter.Message) event {
	text, ts := m.Text, m.Time
	return event{Type: evMsg, Room: m.Room, Seq: m.Seq, Prev: u64(m.Prev), Epoch: m.Epoch,
		From: m.From, Text: &text, CID: m.ClientID, TS: &ts, Kind: natter.RoomKind(m.Kind),
		Target: m.Target, ReplyTo: m.ReplyTo, Thread: m.Thread, AlsoRoom: m.AlsoRoom, Mentions: m.Mentions,
		Emoji: m.Emoji, Remove: m.Remove, Topic: m.Topic, Name: m.Name}
}

// Every record field is encoded as encoding/json encodes it.
func TestAppendMsgRecordsMatchEncodingJSON(t *testing.T) {
	topic, empty := "<b>plans</b> \u2028", ""
	ts := time.Date(2026, 12, 4, 22, 0, 0, 5, time.UTC)
	for i, m := range []natter.Message{
		{ReplyTo: 3, Thread: 2, AlsoRoom: true, Mentions: []natter.UserID{"bob", natter.RoomMention}, Text: "hi @bob"},
		{Kind: natter.KindEdit, Target: 7, Text: "new"},
		{Kind: natter.KindDelete, Target: 7},
		{Kind: natter.KindReact, Target: 7, Emoji: "👍🏽"},
		{Kind: natter.KindReact, Target: 7, Emoji: ":tada:", Remove: true},
		{Kind: natter.KindTopic, Topic: &topic, Name: &empty},
		{Kind: natter.KindTopic, Name: &topic},
	} {
		m.Room, m.Seq, m.Prev, m.Epoch, m.From, m.ClientID, m.Time = "r", uint64(10+i), 9, "e", "alice", "c", ts
		want := encode(msgEvent(m))
		if got := appendMsg(nil, m); !bytes.Equal(got, want) {
			t.Errorf("record %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// appendMsg must produce exactly what the reflective encoder produces,
// for every text a client can store.
func TestAppendMsgMatchesEncodingJSON(t *testing.T) {
	texts := []string{"", "hello", `quote " backslash \ slash /`, "tab\tnl\ncr\r\b\f\x00\x01\x1f\x7f",
		"<script>&amp;</script>", "é ü 日本語 🎉", "line\u2028sep\u2029para", "bad \xff\xfe utf8", "\u00a0\ufeff"}
	for i, text := range texts {
		m := natter.Message{Room: "lobby", Seq: uint64(1000 + i), Prev: uint64(999 + i), Epoch: "k3x9z", From: "alice",
			Text: text, ClientID: "c\"-" + text, Time: time.Date(2026, 11, 25, 14, 0, 0, i*1234567, time.UTC)}
		if i == 0 {
			m.ClientID, m.Epoch = "", "" // omitted fields
		}
		want := encode(msgEvent(m))
		got := appendMsg(nil, m)
		if !bytes.Equal(got, want) {
			t.Errorf("text %q:\n got %s\nwant %s", text, got, want)
		}
	}
}
