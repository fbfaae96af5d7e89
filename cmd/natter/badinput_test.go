package main

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/golang-jwt/jwt/v5"

	"github.com/natter-chat/natter/auth"
	"github.com/natter-chat/natter/edge"
	"github.com/natter-chat/natter/edge/wsclient"
)

// Every test here follows the same pattern: a fresh connection sends one
// kind of bad input and must get its documented error event or close code;
// then the bystanders prove that the process, other users and stored
// history are untouched.

// paddedPing is a ping op of exactly n bytes (unknown fields are ignored).
func paddedPing(n int) []byte {
	const head, tail = `{"op":"ping","rid":"pad","pad":"`, `"}`
	return []byte(head + strings.Repeat("a", n-len(head)-len(tail)) + tail)
}

// Malformed and oversized WebSocket frames close the connection with the
// RFC 6455 code for the fault; well-formed frames at the limits are served.
func TestBadFrames(t *testing.T) {
	const maxFrame = 4096
	s := startServer(t, "", generousRate, func(m *Main) { m.MaxFrame = maxFrame; m.MaxText = 1024 })
	ctx := ctxFor(t, 30*time.Second)
	by := newBystanders(t, ctx, s, "lobby")

	text := func(fin bool, p []byte) []byte {
		return rawFrame(ws.Header{Fin: fin, OpCode: ws.OpText, Masked: true}, p)
	}
	cont := func(fin bool, p []byte) []byte {
		return rawFrame(ws.Header{Fin: fin, OpCode: ws.OpContinuation, Masked: true}, p)
	}
	ping := []byte(`{"op":"ping","rid":"pad"}`)
	half := paddedPing(maxFrame)[:maxFrame/2+100] // two of these exceed maxFrame
	euro := []byte(`{"op":"ping","rid":"pad","x":"€"}`)
	cut := bytes.IndexByte(euro, 0xe2) + 2 // inside the three bytes of €

	cases := []struct {
		name   string
		frames [][]byte
		code   ws.StatusCode // 0: accepted, a pong must come back
	}{
		{"frame over MaxFrame", [][]byte{text(true, paddedPing(maxFrame+1))}, ws.StatusMessageTooBig},
		{"header announcing 1 TiB", [][]byte{headerOnly(ws.OpText, true, 1<<40)}, ws.StatusMessageTooBig},
		{"fragments over MaxFrame", [][]byte{text(false, half), cont(true, half)}, ws.StatusMessageTooBig},
		{"fragments over MaxFrame, last by header", [][]byte{text(false, half), headerOnly(ws.OpContinuation, true, maxFrame)}, ws.StatusMessageTooBig},
		{"binary frame", [][]byte{rawFrame(ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true}, ping)}, ws.StatusUnsupportedData},
		{"invalid UTF-8", [][]byte{text(true, []byte("{\"op\":\"ping\",\"x\":\"\xff\xfe\"}"))}, ws.StatusInvalidFramePayloadData},
		{"invalid UTF-8 across fragments", [][]byte{text(false, euro[:cut]), cont(true, []byte(`x"}`))}, ws.StatusInvalidFramePayloadData},
		{"unmasked frame", [][]byte{rawFrame(ws.Header{Fin: true, OpCode: ws.OpText}, ping)}, ws.StatusProtocolError},
		{"reserved opcode", [][]byte{rawFrame(ws.Header{Fin: true, OpCode: 0x3, Masked: true}, ping)}, ws.StatusProtocolError},
		{"RSV1 without extension", [][]byte{rawFrame(ws.Header{Fin: true, Rsv: ws.Rsv(true, false, false), OpCode: ws.OpText, Masked: true}, ping)}, ws.StatusProtocolError},
		{"continuation without start", [][]byte{cont(true, ping)}, ws.StatusProtocolError},
		{"text frame inside fragmented message", [][]byte{text(false, ping[:5]), text(true, ping[5:])}, ws.StatusProtocolError},
		{"fragmented ping", [][]byte{rawFrame(ws.Header{OpCode: ws.OpPing, Masked: true}, nil)}, ws.StatusProtocolError},
		// RFC 6455 5.2: the most significant bit of a 64-bit length must be 0.
		{"64-bit length with MSB set", [][]byte{{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}}, ws.StatusProtocolError},
		{"ping over 125 bytes", [][]byte{rawFrame(ws.Header{Fin: true, OpCode: ws.OpPing, Masked: true}, make([]byte, 126))}, ws.StatusProtocolError},

		{"frame of exactly MaxFrame", [][]byte{text(true, paddedPing(maxFrame))}, 0},
		{"fragments within MaxFrame", [][]byte{text(false, ping[:5]), cont(false, ping[5:10]), cont(true, ping[10:])}, 0},
		{"UTF-8 character across fragments", [][]byte{text(false, euro[:cut]), cont(true, euro[cut:])}, 0},
		{"ping between fragments", [][]byte{text(false, ping[:5]), rawFrame(ws.Header{Fin: true, OpCode: ws.OpPing, Masked: true}, []byte("hi")), cont(true, ping[5:])}, 0},
	}
	// Known bugs: the case is skipped if the server drops the connection
	// without any close frame.
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := login(t, ctx, s, "mallory", "lobby")
			if err := writeRaw(c, tc.frames...); err != nil {
				t.Fatalf("write: %v", err)
			}
			switch {
			case tc.code != 0:
				expectClose(t, ctx, c, tc.code)
			default:
				ev, err := nextEvent(ctx, c)
				if err != nil || ev.Type != "pong" || string(ev.RID) != `"pad"` {
					t.Fatalf("want pong for rid pad, got %+v, %v", ev, err)
				}
				expectOpen(t, ctx, c)
			}
			by.check(t, ctx)
		})
	}
}

// Frames that are valid WebSocket but not a valid request get an error event
// and leave the connection open.
func TestBadRequests(t *testing.T) {
	s := startServer(t, "", generousRate, func(m *Main) { m.MaxText = 1024 })
	ctx := ctxFor(t, 30*time.Second)
	by := newBystanders(t, ctx, s, "lobby")
	long := strings.Repeat("x", 65)

	cases := []struct {
		name    string
		payload string
		code    string
		rid     string // echoed rid, if the frame parsed
		cid     string // echoed cid
	}{
		{"invalid JSON", `{"op":`, "invalid", "", ""},
		{"empty frame", ``, "invalid", "", ""},
		{"JSON array", `["ping"]`, "invalid", "", ""},
		{"JSON string", `"ping"`, "invalid", "", ""},
		{"op not a string", `{"op":5,"rid":"r"}`, "invalid", "", ""},
		{"rid over 64 bytes", `{"op":"ping","rid":"` + long + `"}`, "invalid", "", ""},
		{"unknown op", `{"op":"frobnicate","rid":"r1"}`, "invalid", "r1", ""},
		{"missing op", `{"rid":"r2","room":"lobby"}`, "invalid", "r2", ""},
		{"empty object", `{}`, "invalid", "", ""},
		{"join without room", `{"op":"join","rid":"r3"}`, "invalid", "r3", ""},
		{"send without cid", `{"op":"send","rid":"r4","room":"lobby","text":"hi"}`, "invalid", "r4", ""},
		{"send without text", `{"op":"send","rid":"r5","room":"lobby","cid":"c5"}`, "invalid", "r5", "c5"},
		{"send with empty text", `{"op":"send","rid":"r6","room":"lobby","cid":"c6","text":""}`, "invalid", "r6", "c6"},
		{"send with text not a string", `{"op":"send","rid":"r7","room":"lobby","cid":"c7","text":7}`, "invalid", "", ""},
		{"send with cid over 64 bytes", `{"op":"send","rid":"r8","room":"lobby","cid":"` + long + `","text":"hi"}`, "invalid", "r8", long},
		{"text over MaxText", `{"op":"send","rid":"r9","room":"lobby","cid":"c9","text":"` + strings.Repeat("é", 513) + `"}`, "too_large", "r9", "c9"},
		{"read without seq", `{"op":"read","rid":"r10","room":"lobby"}`, "invalid", "r10", ""},
		{"renewal with a bad token", `{"op":"auth","rid":"r11","token":"x"}`, "unauthorized", "r11", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := login(t, ctx, s, "mallory", "lobby")
			if err := c.WriteText([]byte(tc.payload)); err != nil {
				t.Fatal(err)
			}
			ev, err := nextEvent(ctx, c)
			if err != nil {
				t.Fatalf("want error %s, got %v", tc.code, err)
			}
			if ev.Type != "error" || ev.Code != tc.code {
				t.Errorf("got %+v, want error %s", ev, tc.code)
			}
			wantRID := ""
			if tc.rid != "" {
				wantRID = strconv.Quote(tc.rid)
			}
			if string(ev.RID) != wantRID || ev.CID != tc.cid {
				t.Errorf("error echoed rid %s cid %q, want %s %q", ev.RID, ev.CID, wantRID, tc.cid)
			}
			expectOpen(t, ctx, c)
			by.check(t, ctx)
		})
	}
}

// Room ids that are not one plain NATS subject token are refused by every
// op that takes a room, and reach neither the stream, the directory nor any
// other room.
func TestBadRoomIDs(t *testing.T) {
	s := startServer(t, "", generousRate)
	ctx := ctxFor(t, 30*time.Second)
	// The bystanders sit in rooms that a careless subject mapping would hit.
	by := newBystanders(t, ctx, s, "lobby", "a", "x", "foo", "natter")

	ids := []string{"a.b", "*", ">", "a b", "", strings.Repeat("r", 65), "natter.room.x", "foo>",
		"a\x00b", "ü", "a/b", "..", "natter.live.a.m"}
	for _, id := range ids {
		t.Run(strconv.Quote(id), func(t *testing.T) {
			c := login(t, ctx, s, "mallory", "lobby")
			ops := []map[string]any{
				{"op": "join"},
				{"op": "join", "after": 0},
				{"op": "send", "cid": "m1", "text": "injected"},
				{"op": "create"},
				{"op": "create", "kind": "private"},
				{"op": "leave"},
				{"op": "part"},
				{"op": "add", "user": "bob"},
				{"op": "remove", "user": "bob"},
				{"op": "typing"},
				{"op": "read", "seq": 1},
				{"op": "delivered", "seq": 1},
			}
			for _, op := range ops {
				op["room"] = id
				_, err := c.Request(ctx, op)
				if code := errCode(t, err); code != "invalid" {
					t.Errorf("%v: got %v, want error invalid", op, err)
				}
			}
			expectOpen(t, ctx, c)
			if rooms := userRooms(t, ctx, s, "mallory"); !slices.Equal(rooms, []string{"lobby"}) {
				t.Errorf("mallory's rooms = %q, want only lobby", rooms)
			}
			if id != "" {
				path := "/api/rooms/" + url.PathEscape(id) + "/messages"
				st := apiGet(t, ctx, s, issue(t, s, "mallory"), path, nil)
				// net/http cleans ".." out of the path before the API sees it.
				if st != http.StatusBadRequest && (id != ".." || st == http.StatusOK) {
					t.Errorf("GET %s: %d, want 400", path, st)
				}
			}
			by.check(t, ctx)
		})
	}
	if rooms := userRooms(t, ctx, s, "bob"); !sameSet(rooms, by.rooms) {
		t.Errorf("bob's rooms = %q, want %q", rooms, by.rooms)
	}
}

// Bad, expired and forged tokens get an unauthorized error then close 4001;
// anything but auth as the first frame closes 4003.
func TestBadAuth(t *testing.T) {
	s := startServer(t, "", generousRate)
	ctx := ctxFor(t, 30*time.Second)
	by := newBystanders(t, ctx, s, "lobby")

	secret, err := signingSecret("", s.dir, auth.LoadSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(sub string, exp, nbf time.Duration) jwt.RegisteredClaims {
		c := jwt.RegisteredClaims{Issuer: auth.DefaultIssuer, Subject: sub, IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute))}
		if exp != 0 {
			c.ExpiresAt = jwt.NewNumericDate(now.Add(exp))
		}
		if nbf != 0 {
			c.NotBefore = jwt.NewNumericDate(now.Add(nbf))
		}
		return c
	}
	sign := func(m jwt.SigningMethod, c jwt.RegisteredClaims, key any) string {
		tok, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	other := bytes.Repeat([]byte("k"), 32)
	valid := sign(jwt.SigningMethodHS256, claims("mallory", time.Hour, 0), secret)
	parts := strings.Split(valid, ".")

	tokens := []struct{ name, token string }{
		{"forged", sign(jwt.SigningMethodHS256, claims("mallory", time.Hour, 0), other)},
		{"expired", sign(jwt.SigningMethodHS256, claims("mallory", -time.Hour, 0), secret)},
		{"alg none", sign(jwt.SigningMethodNone, claims("mallory", time.Hour, 0), jwt.UnsafeAllowNoneSignatureType)},
		{"garbage", "garbage"},
		{"three garbage parts", "a.b.c"},
		{"empty", ""},
		{"no exp", sign(jwt.SigningMethodHS256, claims("mallory", 0, 0), secret)},
		{"not yet valid", sign(jwt.SigningMethodHS256, claims("mallory", 2*time.Hour, time.Hour), secret)},
		{"subject not a user id", sign(jwt.SigningMethodHS256, claims("a.b", time.Hour, 0), secret)},
		{"HS512 with the server secret", sign(jwt.SigningMethodHS512, claims("mallory", time.Hour, 0), secret)},
		{"signature stripped", parts[0] + "." + parts[1] + "."},
		{"over 8 KiB", valid + strings.Repeat("A", 8<<10)},
	}
	for _, tc := range tokens {
		t.Run("token "+tc.name, func(t *testing.T) {
			c := dialWS(t, ctx, s)
			ev, err := c.Auth(ctx, tc.token)
			if code := errCode(t, err); code != "unauthorized" {
				t.Fatalf("auth: got %+v, %v; want error unauthorized", ev, err)
			}
			if tc.name == "expired" && !strings.Contains(err.Error(), "expired") {
				t.Errorf("expired token: message %q does not say so", err)
			}
			expectClose(t, ctx, c, edge.CloseUnauthorized)
			by.check(t, ctx)
		})
	}

	first := []struct{ name, payload string }{
		{"join", `{"op":"join","room":"lobby"}`},
		{"send", `{"op":"send","room":"lobby","cid":"m1","text":"sneaky"}`},
		{"ping", `{"op":"ping","rid":"1"}`},
		{"create", `{"op":"create","room":"mine","kind":"private"}`},
		{"missing op", `{"token":"x"}`},
	}
	for _, tc := range first {
		t.Run("first frame "+tc.name, func(t *testing.T) {
			c := dialWS(t, ctx, s)
			if err := c.WriteText([]byte(tc.payload)); err != nil {
				t.Fatal(err)
			}
			expectClose(t, ctx, c, edge.CloseAuthRequired)
			by.check(t, ctx)
		})
	}

	// Invalid JSON before auth is answered, then the connection is closed:
	// nothing but a valid auth frame is served before auth.
	t.Run("invalid JSON before auth", func(t *testing.T) {
		c := dialWS(t, ctx, s)
		if err := c.WriteText([]byte(`{"op":`)); err != nil {
			t.Fatal(err)
		}
		if ev, err := nextEvent(ctx, c); err != nil || ev.Type != "error" || ev.Code != "invalid" {
			t.Fatalf("got %+v, %v; want error invalid", ev, err)
		}
		expectClose(t, ctx, c, edge.CloseAuthRequired)
		by.check(t, ctx)
	})
	if rooms := userRooms(t, ctx, s, "mallory"); len(rooms) != 0 {
		t.Errorf("mallory, never authenticated, has rooms %q", rooms)
	}
}

// A connection that does not authenticate in time is closed with 4002, even
// if it keeps sending frames that are not auth.
func TestAuthTimeout(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.AuthTimeout = 300 * time.Millisecond })
	ctx := ctxFor(t, 10*time.Second)
	c := dialWS(t, ctx, s)
	// WebSocket pings before auth do not extend the deadline.
	for i := 0; i < 3; i++ {
		if err := c.WriteFrame(ws.OpPing, nil); err != nil {
			break
		}
		time.Sleep(150 * time.Millisecond)
	}
	expectClose(t, ctx, c, edge.CloseAuthTimeout)
}

// Non-members are refused by private and DM rooms, over WebSocket and HTTP,
// without learning anything or becoming members.
func TestForbidden(t *testing.T) {
	s := startServer(t, "", generousRate)
	ctx := ctxFor(t, 30*time.Second)
	alice := login(t, ctx, s, "alice")
	if _, err := alice.Request(ctx, map[string]any{"op": "create", "room": "secret", "kind": "private"}); err != nil {
		t.Fatalf("create: %v", err)
	}
	for _, u := range []string{"bob", "dave"} {
		if _, err := alice.Request(ctx, map[string]any{"op": "add", "room": "secret", "user": u}); err != nil {
			t.Fatalf("add %s: %v", u, err)
		}
	}
	dm, err := alice.Request(ctx, map[string]any{"op": "dm", "user": "bob"})
	if err != nil || dm.Room == "" {
		t.Fatalf("dm: %+v, %v", dm, err)
	}
	by := newBystanders(t, ctx, s, "lobby", "secret")
	if st := apiGet(t, ctx, s, by.token, "/api/rooms/"+dm.Room+"/messages", nil); st != http.StatusOK {
		t.Fatalf("bob reading his DM: %d", st)
	}

	ops := []struct {
		name string
		op   map[string]any
		code string
	}{
		{"join private", map[string]any{"op": "join", "room": "secret"}, "forbidden"},
		{"join private from 0", map[string]any{"op": "join", "room": "secret", "after": 0}, "forbidden"},
		{"join DM", map[string]any{"op": "join", "room": dm.Room}, "forbidden"},
		{"send private", map[string]any{"op": "send", "room": "secret", "cid": "c1", "text": "let me in"}, "forbidden"},
		{"send DM", map[string]any{"op": "send", "room": dm.Room, "cid": "c1", "text": "let me in"}, "forbidden"},
		{"typing private", map[string]any{"op": "typing", "room": "secret"}, "forbidden"},
		{"read private", map[string]any{"op": "read", "room": "secret", "seq": 1}, "forbidden"},
		{"add self to private", map[string]any{"op": "add", "room": "secret", "user": "carol"}, "forbidden"},
		{"remove owner's member", map[string]any{"op": "remove", "room": "secret", "user": "bob"}, "forbidden"},
		{"recreate private", map[string]any{"op": "create", "room": "secret", "kind": "private"}, "forbidden"},
		{"create DM id", map[string]any{"op": "create", "room": dm.Room}, "invalid"},
	}
	for _, tc := range ops {
		t.Run(tc.name, func(t *testing.T) {
			c := login(t, ctx, s, "carol")
			if _, err := c.Request(ctx, tc.op); errCode(t, err) != tc.code {
				t.Errorf("got %v, want error %s", err, tc.code)
			}
			expectOpen(t, ctx, c)
			if rooms := userRooms(t, ctx, s, "carol"); len(rooms) != 0 {
				t.Errorf("carol became a member of %q", rooms)
			}
			by.check(t, ctx)
		})
	}

	forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject: "bob", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}).SignedString(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	reqs := []struct {
		name, token, path string
		status            int
	}{
		{"history private", issue(t, s, "carol"), "/api/rooms/secret/messages", http.StatusForbidden},
		{"history DM", issue(t, s, "carol"), "/api/rooms/" + dm.Room + "/messages", http.StatusForbidden},
		// The same answer as for a private room: existence is not revealed.
		{"history missing room", issue(t, s, "carol"), "/api/rooms/nosuchroom/messages", http.StatusForbidden},
		{"history without token", "", "/api/rooms/lobby/messages", http.StatusUnauthorized},
		{"rooms without token", "", "/api/rooms", http.StatusUnauthorized},
		{"history forged token", forged, "/api/rooms/secret/messages", http.StatusUnauthorized},
		{"history garbage token", "garbage", "/api/rooms/secret/messages", http.StatusUnauthorized},
	}
	for _, tc := range reqs {
		t.Run(tc.name, func(t *testing.T) {
			var page messagesPage
			if st := apiGet(t, ctx, s, tc.token, tc.path, &page); st != tc.status {
				t.Errorf("GET %s: %d, want %d (body %+v)", tc.path, st, tc.status, page)
			}
			by.check(t, ctx)
		})
	}
}

// A client flooding past the rate limit gets rate_limited errors, then close
// 4008; other connections are served promptly meanwhile.
func TestFlood(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Rate, m.Burst = 5, 5 })
	ctx := ctxFor(t, 30*time.Second)
	by := newBystanders(t, ctx, s, "lobby")
	c := login(t, ctx, s, "mallory", "lobby")

	stop, done := make(chan struct{}), make(chan int, 1)
	go func() {
		n := 0
		defer func() { done <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if c.WriteText([]byte(`{"op":"ping"}`)) != nil {
				return
			}
			n++
		}
	}()
	defer func() {
		close(stop)
		t.Logf("flooder wrote %d frames", <-done)
	}()

	// The bystander must be served while the flood goes on: it sends as soon
	// as the first rate_limited error shows the limiter is refusing frames.
	during := func() {
		bctx := ctxFor(t, 2*time.Second)
		if _, err := by.bob.SendText(bctx, "lobby", "during-flood", "still here"); err != nil {
			t.Fatalf("bystander send during flood: %v", err)
		}
	}
	limited, pongs, sent := 0, 0, false
	var closed *wsclient.Closed
	for closed == nil {
		ev, err := nextEvent(ctx, c)
		switch {
		case err != nil:
			cl, ok := err.(*wsclient.Closed)
			if !ok {
				t.Fatalf("flooding: %v (after %d rate_limited errors)", err, limited)
			}
			closed = cl
		case ev.Type == "pong":
			pongs++
		case ev.Type == "error" && ev.Code == "rate_limited":
			limited++
			if !sent {
				during()
				sent = true
			}
		case ev.Type == "msg" && ev.CID == "during-flood":
		default:
			t.Errorf("unexpected event while flooding: %+v", ev)
		}
	}
	t.Logf("%d pongs, %d rate_limited errors, then close %d %q", pongs, limited, closed.Code, closed.Reason)
	if !sent {
		during() // the flood is over, but the bystander's message is still checked
	}

	// Account for the during-flood message, then check as after any case.
	for who, bc := range map[string]*wsclient.Client{"bob": by.bob, "dave": by.dave} {
		got, err := bc.Messages(ctx, "lobby", 1)
		if err != nil || got[0].CID != "during-flood" {
			t.Fatalf("%s's during-flood message: %+v, %v", who, got, err)
		}
		if who == "bob" {
			if got[0].Seq != by.last+1 {
				t.Errorf("during-flood message stored at seq %d, want %d", got[0].Seq, by.last+1)
			}
			by.last = got[0].Seq
			by.stored["lobby"] = append(by.stored["lobby"], got[0])
			by.texts[got[0].Seq] = "still here"
		}
	}
	by.check(t, ctx)

	if limited == 0 {
		t.Error("no rate_limited error before the close")
	}
	if closed.Code != int(edge.CloseRateLimited) {
		t.Errorf("closed with %d %q, want %d", closed.Code, closed.Reason, edge.CloseRateLimited)
	}
}

// A flood before auth gets one answer: the first frame that is not a valid
// auth closes the connection (4003), so nothing is parsed without limit.
func TestFloodBeforeAuth(t *testing.T) {
	const n = 200
	s := startServer(t, "", func(m *Main) { m.Rate, m.Burst = 5, 5 })
	ctx := ctxFor(t, 20*time.Second)
	by := newBystanders(t, ctx, s, "lobby")
	c := dialWS(t, ctx, s)
	frames := make([][]byte, n)
	for i := range frames {
		frames[i] = rawFrame(ws.Header{Fin: true, OpCode: ws.OpText, Masked: true}, []byte(`{"op":`))
	}
	if err := writeRaw(c, frames...); err != nil {
		t.Fatal(err)
	}
	invalid := 0
	var closed *wsclient.Closed
	for closed == nil {
		ev, err := nextEvent(ctx, c)
		switch {
		case err != nil:
			if closed, _ = err.(*wsclient.Closed); closed == nil {
				t.Fatal(err)
			}
		case ev.Type == "error" && ev.Code == "invalid":
			invalid++
		default:
			t.Errorf("unexpected event: %+v", ev)
		}
	}
	by.check(t, ctx)
	if invalid != 1 || closed.Code != int(edge.CloseAuthRequired) {
		t.Fatalf("%d invalid answers, closed %+v; want 1 answer then %d", invalid, closed, edge.CloseAuthRequired)
	}
}
