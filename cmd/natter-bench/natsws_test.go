package main

import (
	"strings"
	"testing"
)

// The NATS protocol stream is parsed the same however the server's frames
// cut it: every message once, whole, and every PING seen.
func TestNATSStreamAcrossFrames(t *testing.T) {
	stream := "INFO {\"server_id\":\"x\"}\r\n+OK\r\nMSG bench.room.r1 1 5\r\nhello\r\nPING\r\n" +
		"MSG bench.room.r2 2 _INBOX.x 0\r\n\r\nMSG bench.room.r1 1 12\r\nwith\r\ninside\r\nPONG\r\n"
	want := []string{"hello", "", "with\r\ninside"}
	for cut := 0; cut <= len(stream); cut++ {
		for cut2 := cut; cut2 <= len(stream); cut2 += 7 {
			var got []string
			pings, pongs := 0, 0
			s := &natsStream{onMsg: func(p []byte) { got = append(got, string(p)) },
				onPing: func() { pings++ }, onPong: func() { pongs++ }}
			for _, part := range []string{stream[:cut], stream[cut:cut2], stream[cut2:]} {
				if !s.feed([]byte(part)) {
					t.Fatalf("cut at %d, %d: failed: %s", cut, cut2, s.failed)
				}
			}
			if strings.Join(got, "|") != strings.Join(want, "|") || pings != 1 || pongs != 1 || len(s.pend) != 0 {
				t.Fatalf("cut at %d, %d: messages %q, %d pings, %d pongs, %d bytes left", cut, cut2, got, pings, pongs, len(s.pend))
			}
		}
	}
	s := &natsStream{onMsg: func([]byte) {}}
	if s.feed([]byte("-ERR 'Slow Consumer'\r\n")) || !strings.Contains(s.failed, "Slow Consumer") {
		t.Fatalf("-ERR: failed %q", s.failed)
	}
	if s := (&natsStream{onMsg: func([]byte) {}}); s.feed([]byte("MSG a 1 x\r\n")) {
		t.Fatal("a MSG line without a length was accepted")
	}
}
