package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/edge/wsclient"
)

// The bounds on changes: edits per message, distinct emoji and reactions
// per message. A refused change stores nothing and leaves room for the
// next allowed one.
func TestRecordLimits(t *testing.T) {
	s := startServer(t, "", fastRecords)
	ctx := ctxFor(t, 120*time.Second)
	alice := s.connectV2(ctx, "alice")
	alice.join(ctx, "lobby", -1, "")
	m := alice.send(ctx, "lobby", "m", "first")

	for i := 0; i < natter.MaxEdits; i++ {
		alice.ok(alice.Edit(ctx, "lobby", m.Seq, cid("e", i), fmt.Sprint("edit ", i)))
	}
	ev, err := alice.Edit(ctx, "lobby", m.Seq, "e-over", "one too many")
	refused(t, "edit past MaxEdits", ev, err, natter.EQUOTA)
	// A resend of an accepted edit is still answered.
	if again := alice.ok(alice.Edit(ctx, "lobby", m.Seq, cid("e", 7), "edit 7")); !again.Dup {
		t.Errorf("resend of an edit at the limit: %+v, want dup", again)
	}

	r := alice.send(ctx, "lobby", "r", "react to me")
	for i := 0; i < natter.MaxReactionEmoji; i++ {
		alice.ok(alice.React(ctx, "lobby", r.Seq, cid("x", i), fmt.Sprintf(":e%d:", i), false))
	}
	ev, err = alice.React(ctx, "lobby", r.Seq, "x-over", ":e-over:", false)
	refused(t, "emoji past MaxReactionEmoji", ev, err, natter.EQUOTA)
	alice.ok(alice.React(ctx, "lobby", r.Seq, "x-rm", ":e0:", true))
	alice.ok(alice.React(ctx, "lobby", r.Seq, "x-new", ":e-over:", false))

	// MaxReactionsTotal: users x emoji pairs, then one more is refused.
	users := natter.MaxReactionsTotal / natter.MaxReactionEmoji
	emoji := func(i int) string {
		if i == 0 {
			return ":e-over:"
		}
		return fmt.Sprintf(":e%d:", i)
	}
	for u := 1; u < users; u++ { // alice is one of them
		c := s.connect(ctx, fmt.Sprint("user", u))
		c.join(ctx, "lobby", -1, "")
		for i := 0; i < natter.MaxReactionEmoji; i++ {
			c.ok(c.React(ctx, "lobby", r.Seq, cid("y", i), emoji(i), false))
		}
		c.Close()
	}
	late := s.connect(ctx, "late")
	late.join(ctx, "lobby", -1, "")
	ev, err = late.React(ctx, "lobby", r.Seq, "z", ":e1:", false)
	refused(t, "reaction past MaxReactionsTotal", ev, err, natter.EQUOTA)
	st, err := s.m.broker.MsgState(ctx, "lobby", r.Seq)
	if err != nil || st.Pairs() != natter.MaxReactionsTotal || len(st.Reactions) != natter.MaxReactionEmoji {
		t.Errorf("state: %d pairs, %d emoji, %v", st.Pairs(), len(st.Reactions), err)
	}
}

// wrongType reports whether op has a field of the wrong JSON type, which
// fails the decoding of the whole frame.
func wrongType(op map[string]any) bool {
	for k, v := range op {
		switch v.(type) {
		case string:
			if k == "seq" || k == "reply_to" || k == "thread" || k == "also_room" || k == "remove" {
				return true
			}
		case int:
			if k == "emoji" || k == "topic" || k == "name" || v.(int) < 0 {
				return true
			}
		}
	}
	return false
}

// Bad input in every new field gets its documented error, stores nothing
// and costs the bystanders nothing.
func TestRecordBadInput(t *testing.T) {
	s := startServer(t, "", generousRate, func(m *Main) { m.MaxText = 1024 })
	ctx := ctxFor(t, 60*time.Second)
	alice := s.connectV2(ctx, "alice")
	alice.join(ctx, "work", -1, "")
	m := alice.send(ctx, "work", "m", "target")
	th := alice.ok(alice.SendReply(ctx, "work", "th", "in a thread", replyTo(0, m.Seq)))
	ed := alice.ok(alice.Edit(ctx, "work", m.Seq, "ed", "target, edited"))
	alice.request(ctx, map[string]any{"op": "dm", "user": "bob"})
	dm := natter.DMRoom("alice", "bob")
	by := newBystanders(t, ctx, s, "lobby")

	long := strings.Repeat("x", 1025)
	seq, huge := m.Seq, uint64(1<<64-1)
	cases := []struct {
		name string
		op   map[string]any
		code string
	}{
		{"edit without seq", map[string]any{"op": "edit", "room": "work", "cid": "b1", "text": "x"}, natter.EINVALID},
		{"edit seq 0", map[string]any{"op": "edit", "room": "work", "seq": 0, "cid": "b1", "text": "x"}, natter.EINVALID},
		{"edit seq a string", map[string]any{"op": "edit", "room": "work", "seq": "7", "cid": "b1", "text": "x"}, natter.EINVALID},
		{"edit seq negative", map[string]any{"op": "edit", "room": "work", "seq": -1, "cid": "b1", "text": "x"}, natter.EINVALID},
		{"edit seq past the end", map[string]any{"op": "edit", "room": "work", "seq": huge, "cid": "b1", "text": "x"}, natter.ENOTFOUND},
		{"edit of an edit record", map[string]any{"op": "edit", "room": "work", "seq": ed.Seq, "cid": "b1", "text": "x"}, natter.ENOTFOUND},
		{"edit without text", map[string]any{"op": "edit", "room": "work", "seq": seq, "cid": "b1"}, natter.EINVALID},
		{"edit empty text", map[string]any{"op": "edit", "room": "work", "seq": seq, "cid": "b1", "text": ""}, natter.EINVALID},
		{"edit text too long", map[string]any{"op": "edit", "room": "work", "seq": seq, "cid": "b1", "text": long}, natter.ETOOLARGE},
		{"edit without cid", map[string]any{"op": "edit", "room": "work", "seq": seq, "text": "x"}, natter.EINVALID},
		{"edit cid too long", map[string]any{"op": "edit", "room": "work", "seq": seq, "cid": long[:65], "text": "x"}, natter.EINVALID},
		{"edit in a room not joined", map[string]any{"op": "edit", "room": "lobby", "seq": seq, "cid": "b1", "text": "x"}, natter.EFORBIDDEN},
		{"edit bad room", map[string]any{"op": "edit", "room": "a.b", "seq": seq, "cid": "b1", "text": "x"}, natter.EINVALID},
		{"delete without seq", map[string]any{"op": "delete", "room": "work", "cid": "b2"}, natter.EINVALID},
		{"delete seq past the end", map[string]any{"op": "delete", "room": "work", "seq": huge, "cid": "b2"}, natter.ENOTFOUND},
		{"delete without cid", map[string]any{"op": "delete", "room": "work", "seq": seq}, natter.EINVALID},
		{"react without emoji", map[string]any{"op": "react", "room": "work", "seq": seq, "cid": "b3"}, natter.EINVALID},
		{"react emoji with a space", map[string]any{"op": "react", "room": "work", "seq": seq, "cid": "b3", "emoji": "👍 👍"}, natter.EINVALID},
		{"react emoji with a newline", map[string]any{"op": "react", "room": "work", "seq": seq, "cid": "b3", "emoji": "👍\n"}, natter.EINVALID},
		{"react emoji with NUL", map[string]any{"op": "react", "room": "work", "seq": seq, "cid": "b3", "emoji": "\x00"}, natter.EINVALID},
		{"react emoji too long", map[string]any{"op": "react", "room": "work", "seq": seq, "cid": "b3", "emoji": long[:natter.MaxEmojiBytes+1]}, natter.EINVALID},
		{"react emoji a number", map[string]any{"op": "react", "room": "work", "seq": seq, "cid": "b3", "emoji": 1}, natter.EINVALID},
		{"react remove a string", map[string]any{"op": "react", "room": "work", "seq": seq, "cid": "b3", "emoji": "x", "remove": "yes"}, natter.EINVALID},
		{"react seq past the end", map[string]any{"op": "react", "room": "work", "seq": huge, "cid": "b3", "emoji": "x"}, natter.ENOTFOUND},
		{"send reply_to a string", map[string]any{"op": "send", "room": "work", "cid": "b4", "text": "x", "reply_to": "1"}, natter.EINVALID},
		{"send reply_to past the end", map[string]any{"op": "send", "room": "work", "cid": "b4", "text": "x", "reply_to": huge}, natter.ENOTFOUND},
		{"send thread past the end", map[string]any{"op": "send", "room": "work", "cid": "b4", "text": "x", "thread": huge}, natter.ENOTFOUND},
		{"send thread in a thread", map[string]any{"op": "send", "room": "work", "cid": "b4", "text": "x", "thread": th.Seq}, natter.EINVALID},
		{"send also_room without thread", map[string]any{"op": "send", "room": "work", "cid": "b4", "text": "x", "also_room": true}, natter.EINVALID},
		{"send also_room a string", map[string]any{"op": "send", "room": "work", "cid": "b4", "text": "x", "thread": seq, "also_room": "yes"}, natter.EINVALID},
		{"topic with neither", map[string]any{"op": "topic", "room": "work", "cid": "b5"}, natter.EINVALID},
		{"topic too long", map[string]any{"op": "topic", "room": "work", "cid": "b5", "topic": strings.Repeat("x", natter.MaxTopicBytes+1)}, natter.ETOOLARGE},
		{"name too long", map[string]any{"op": "topic", "room": "work", "cid": "b5", "name": strings.Repeat("x", natter.MaxNameBytes+1)}, natter.ETOOLARGE},
		{"name on two lines", map[string]any{"op": "topic", "room": "work", "cid": "b5", "name": "a\nb"}, natter.EINVALID},
		{"topic a number", map[string]any{"op": "topic", "room": "work", "cid": "b5", "topic": 5}, natter.EINVALID},
		{"topic in a DM", map[string]any{"op": "topic", "room": string(dm), "cid": "b5", "topic": "t"}, natter.EINVALID},
		{"topic without cid", map[string]any{"op": "topic", "room": "work", "topic": "t"}, natter.EINVALID},
		{"renewal changing v", map[string]any{"op": "auth", "token": s.token("alice"), "v": 1}, natter.EINVALID},
		{"renewal with v 3", map[string]any{"op": "auth", "token": s.token("alice"), "v": 3}, natter.EINVALID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ev wsclient.Event
			var err error
			if wrongType(tc.op) {
				err = alice.Send(tc.op)
			} else {
				ev, err = alice.Request(ctx, tc.op)
			}
			if wrongType(tc.op) {
				// A field of the wrong type fails the frame's decoding: the
				// error carries no rid (PROTOCOL.md section 2).
				ev, err = alice.Expect(ctx, "error")
				if err == nil {
					err = &wsclient.Error{Code: ev.Code, Message: ev.Message}
				}
			}
			if code := errCode(t, err); code != tc.code {
				t.Fatalf("%+v %v, want %s", ev, err, tc.code)
			}
			by.check(t, ctx)
		})
	}
	for _, v := range []any{3, 0, "2", 2.5, -1} {
		t.Run(fmt.Sprintf("auth v %v", v), func(t *testing.T) {
			c := dialWS(t, ctx, s)
			if err := c.Send(map[string]any{"op": "auth", "token": s.token("carol"), "v": v}); err != nil {
				t.Fatal(err)
			}
			ev, err := nextEvent(ctx, c)
			if err != nil || ev.Type != "error" || ev.Code != natter.EINVALID {
				t.Fatalf("auth with v %v: %+v %v, want an invalid error", v, ev, err)
			}
			expectClose(t, ctx, c, ws.StatusCode(4003))
			by.check(t, ctx)
		})
	}
	// Nothing above reached the stream: alice's room still ends at her edit.
	if last, err := s.m.broker.LastSeq(ctx, "work"); err != nil || last != ed.Seq {
		t.Errorf("work ends at %d (%v), want %d", last, err, ed.Seq)
	}
}
