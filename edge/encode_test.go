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
		From: m.From, Text: &text, CID: m.ClientID, TS: &ts}
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
