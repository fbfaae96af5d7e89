package edge

import (
	"bytes"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

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
