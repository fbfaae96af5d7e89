package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natter-chat/natter/edge"
)

// Issue 9's frame attacks, against a real server: each must close the one
// connection that sent it with its RFC 6455 code, and the bystanders must
// go on chatting and find history intact.
func TestFrameAttacks(t *testing.T) {
	s := startServer(t, "", generousRate)
	ctx := ctxFor(t, 60*time.Second)
	by := newBystanders(t, ctx, s, "lobby")

	text := func(fin bool, p string) []byte {
		return rawFrame(ws.Header{Fin: fin, OpCode: ws.OpText, Masked: true}, []byte(p))
	}
	ping := `{"op":"ping","rid":"pad"}`
	type attack struct {
		name   string
		frames [][]byte
		code   ws.StatusCode
	}
	attacks := []attack{
		// Finding 1: the continuation's length overflowed the size check
		// and went to make, which panicked and took the process down.
		{"continuation declaring 2^63-1", [][]byte{text(false, "{"), headerOnly(ws.OpContinuation, true, 1<<63-1)}, ws.StatusMessageTooBig},
		{"continuation declaring 2^63-2, not final", [][]byte{text(false, "{\""), headerOnly(ws.OpContinuation, false, 1<<63-2)}, ws.StatusMessageTooBig},
		{"text declaring 2^63-1", [][]byte{headerOnly(ws.OpText, true, 1<<63-1)}, ws.StatusMessageTooBig},
		{"binary frame inside a fragmented text message",
			[][]byte{text(false, ping[:5]), rawFrame(ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true}, []byte(ping[5:]))}, ws.StatusProtocolError},
	}
	for op := ws.OpCode(0x3); op <= 0xf; op++ {
		if op >= ws.OpClose && op <= ws.OpPong {
			continue
		}
		attacks = append(attacks, attack{fmt.Sprintf("reserved opcode 0x%X", int(op)),
			[][]byte{rawFrame(ws.Header{Fin: true, OpCode: op, Masked: true}, nil)}, ws.StatusProtocolError})
	}
	for _, a := range attacks {
		for _, authed := range []bool{false, true} {
			name := a.name + ", unauthenticated"
			if authed {
				name = a.name + ", authenticated"
			}
			t.Run(name, func(t *testing.T) {
				c := dialWS(t, ctx, s)
				if authed {
					c = login(t, ctx, s, "mallory", "lobby")
				}
				if err := writeRaw(c, a.frames...); err != nil {
					t.Fatalf("write: %v", err)
				}
				expectClose(t, ctx, c, a.code)
				by.check(t, ctx)
			})
		}
	}
}

// A rid over 64 bytes before auth is answered with an invalid error, without
// the rid, and the connection stays open: auth then works on it
// (docs/PROTOCOL.md, section 3).
func TestLongRIDBeforeAuth(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 30*time.Second)
	by := newBystanders(t, ctx, s, "lobby")
	long := `"` + strings.Repeat("r", 65) + `"`
	c := dialWS(t, ctx, s)
	for _, p := range []string{
		`{"op":"auth","token":"` + issue(t, s, "mallory") + `","rid":` + long + `}`,
		`{"op":"join","room":"lobby","rid":` + long + `}`,
	} {
		if err := c.WriteText([]byte(p)); err != nil {
			t.Fatal(err)
		}
		ev, err := nextEvent(ctx, c)
		if err != nil || ev.Type != "error" || ev.Code != "invalid" || ev.Message != "rid longer than 64 bytes" || len(ev.RID) != 0 {
			t.Fatalf("%s: got %+v, %v; want error invalid without rid", p, ev, err)
		}
	}
	if ev, err := c.Auth(ctx, issue(t, s, "mallory")); err != nil || ev.Type != "ready" {
		t.Fatalf("auth after the refused rids: %+v, %v", ev, err)
	}
	expectOpen(t, ctx, c)
	by.check(t, ctx)

	// Anything else before auth still closes at once.
	c = dialWS(t, ctx, s)
	if err := c.WriteText([]byte(`{"op":"join","room":"lobby","rid":1}`)); err != nil {
		t.Fatal(err)
	}
	expectClose(t, ctx, c, edge.CloseAuthRequired)
}
