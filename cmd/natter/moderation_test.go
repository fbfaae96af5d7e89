package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/edge/wsclient"
)

// moderate sends a moderation op and returns its error code ("" for ok).
func moderate(ctx context.Context, c *tclient, op map[string]any) string {
	c.t.Helper()
	_, err := c.Request(ctx, op)
	if err != nil && wsclient.ErrorCode(err) == "" {
		c.t.Fatalf("%s %v: %v", c.user, op, err)
	}
	return wsclient.ErrorCode(err)
}

// expectMemberEvent waits for the member event of action on user by by.
func expectMemberEvent(t *testing.T, ctx context.Context, c *tclient, action, user, by string) wsclient.Event {
	t.Helper()
	for {
		ev, err := c.Expect(ctx, "member")
		if err != nil {
			t.Fatalf("%s: no member event %s %s by %s: %v", c.user, action, user, by, err)
		}
		if ev.Action == action && ev.User == user && ev.By == by {
			return ev
		}
	}
}

// Roles, kick, ban, mute and slow mode in a public room, through the
// protocol, with the rules on who may act on whom.
func TestModeration(t *testing.T) {
	s := startServer(t, "", generousRate)
	ctx := ctxFor(t, 60*time.Second)
	alice, bob, carol, dave := s.connect(ctx, "alice"), s.connect(ctx, "bob"), s.connect(ctx, "carol"), s.connect(ctx, "dave")
	alice.request(ctx, map[string]any{"op": "create", "room": "town"})
	for _, c := range []*tclient{alice, bob, carol, dave} {
		c.join(ctx, "town", -1, "")
	}

	// Roles: only the owner names admins; admins cannot act on the owner
	// or on each other; members moderate nothing.
	if code := moderate(ctx, bob, map[string]any{"op": "role", "room": "town", "user": "carol", "role": "admin"}); code != "forbidden" {
		t.Errorf("member names an admin: %q, want forbidden", code)
	}
	for _, u := range []string{"bob", "dave"} {
		if code := moderate(ctx, alice, map[string]any{"op": "role", "room": "town", "user": u, "role": "admin"}); code != "" {
			t.Fatalf("owner makes %s admin: %s", u, code)
		}
	}
	expectMemberEvent(t, ctx, carol, "role", "bob", "alice")
	for name, op := range map[string]map[string]any{
		"admin kicks owner":  {"op": "kick", "room": "town", "user": "alice"},
		"admin bans admin":   {"op": "ban", "room": "town", "user": "dave"},
		"admin demotes":      {"op": "role", "room": "town", "user": "dave", "role": "member"},
		"member mutes":       nil,
		"admin mutes owner":  {"op": "mute", "room": "town", "user": "alice"},
		"admin mutes admin":  {"op": "mute", "room": "town", "user": "dave"},
		"moderate a DM":      {"op": "kick", "room": natter.DMRoom("alice", "bob"), "user": "alice"},
		"moderate no room":   {"op": "kick", "room": "nowhere", "user": "carol"},
		"slowmode too long":  {"op": "slowmode", "room": "town", "seconds": natter.MaxSlowMode + 1},
		"role of nonsense":   {"op": "role", "room": "town", "user": "carol", "role": "king"},
		"moderate yourself":  {"op": "mute", "room": "town", "user": "bob"},
		"slowmode no amount": {"op": "slowmode", "room": "town"},
	} {
		want := "forbidden"
		switch name {
		case "member mutes":
			if code := moderate(ctx, carol, map[string]any{"op": "mute", "room": "town", "user": "dave"}); code != "forbidden" {
				t.Errorf("%s: %q, want forbidden", name, code)
			}
			continue
		case "moderate a DM", "slowmode too long", "role of nonsense", "moderate yourself", "slowmode no amount":
			want = "invalid"
		}
		if code := moderate(ctx, bob, op); code != want {
			t.Errorf("%s: %q, want %s", name, code, want)
		}
	}

	// Mute: carol still reads, cannot send or type; unmute undoes it.
	if code := moderate(ctx, bob, map[string]any{"op": "mute", "room": "town", "user": "carol"}); code != "" {
		t.Fatalf("admin mutes member: %s", code)
	}
	expectMemberEvent(t, ctx, dave, "muted", "carol", "bob")
	if _, err := carol.SendText(ctx, "town", "c1", "hello?"); wsclient.ErrorCode(err) != "muted" {
		t.Errorf("muted send: %v, want muted", err)
	}
	if _, err := carol.Request(ctx, map[string]any{"op": "typing", "room": "town"}); wsclient.ErrorCode(err) != "muted" {
		t.Errorf("muted typing: %v, want muted", err)
	}
	seq := alice.send(ctx, "town", "a1", "carol can read this").Seq
	if got := carol.messages(ctx, "town", 1); got[0].Seq != seq {
		t.Errorf("muted carol got %+v, want seq %d", got[0], seq)
	}
	moderate(ctx, bob, map[string]any{"op": "unmute", "room": "town", "user": "carol"})
	carol.send(ctx, "town", "c2", "thanks")

	// Slow mode: one send per interval for members; owner and admins exempt.
	if code := moderate(ctx, bob, map[string]any{"op": "slowmode", "room": "town", "seconds": 30}); code != "" {
		t.Fatalf("admin sets slow mode: %s", code)
	}
	if ev := expectMemberEvent(t, ctx, carol, "slowmode", "", "bob"); ev.Seconds != 30 {
		t.Errorf("slowmode event %+v, want seconds 30", ev)
	}
	carol.send(ctx, "town", "c3", "one")
	ev, err := carol.SendText(ctx, "town", "c4", "two")
	if wsclient.ErrorCode(err) != "slow_mode" || ev.WaitMS <= 0 || ev.WaitMS > 30000 {
		t.Errorf("second send in slow mode: %v (wait_ms %d), want slow_mode with a wait", err, ev.WaitMS)
	}
	for i, c := range []*tclient{alice, bob, alice, bob} {
		c.send(ctx, "town", cid("exempt", i), "moderators are not slowed")
	}
	moderate(ctx, alice, map[string]any{"op": "slowmode", "room": "town", "seconds": 0})
	carol.send(ctx, "town", "c5", "free again")

	// Ban: removed at once, cannot re-join (public room), send, or create
	// the room anew; unban lets them back.
	if code := moderate(ctx, bob, map[string]any{"op": "ban", "room": "town", "user": "carol"}); code != "" {
		t.Fatalf("admin bans member: %s", code)
	}
	expectMemberEvent(t, ctx, dave, "banned", "carol", "bob")
	if _, err := carol.Expect(ctx, "left"); err != nil {
		t.Fatalf("banned carol not unsubscribed: %v", err)
	}
	for name, op := range map[string]map[string]any{
		"join":   {"op": "join", "room": "town"},
		"send":   {"op": "send", "room": "town", "cid": "c6", "text": "let me in"},
		"create": {"op": "create", "room": "town"},
	} {
		want := "banned"
		if name == "create" {
			want = "forbidden"
		}
		if _, err := carol.Request(ctx, op); wsclient.ErrorCode(err) != want {
			t.Errorf("banned %s: %v, want %s", name, err, want)
		}
	}
	if rooms := userRooms(t, ctx, s, "carol"); len(rooms) != 0 {
		t.Errorf("banned carol is still in %v", rooms)
	}
	moderate(ctx, alice, map[string]any{"op": "unban", "room": "town", "user": "carol"})
	carol.join(ctx, "town", -1, "")

	// Kick: out now, may come back to a public room. A kicked admin comes
	// back a member.
	moderate(ctx, alice, map[string]any{"op": "kick", "room": "town", "user": "dave"})
	if _, err := dave.Expect(ctx, "left"); err != nil {
		t.Fatalf("kicked dave not unsubscribed: %v", err)
	}
	dave.join(ctx, "town", -1, "")
	if code := moderate(ctx, dave, map[string]any{"op": "mute", "room": "town", "user": "carol"}); code != "forbidden" {
		t.Errorf("kicked admin moderates after coming back: %q, want forbidden", code)
	}

	// The state and the log over HTTP, for members only.
	var st struct {
		Owner    string             `json:"owner"`
		Admins   []string           `json:"admins"`
		Bans     []string           `json:"bans"`
		Mutes    []string           `json:"mutes"`
		SlowMode int                `json:"slowmode"`
		Log      []natter.ModAction `json:"log"`
	}
	if code := s.getJSON(ctx, "carol", "/api/rooms/town/moderation", &st); code != 200 {
		t.Fatalf("GET moderation: %d", code)
	}
	var actions []string
	for _, a := range st.Log {
		actions = append(actions, a.Action+":"+string(a.User)+":"+string(a.By))
	}
	want := []string{"role:bob:alice", "role:dave:alice", "mute:carol:bob", "unmute:carol:bob", "slowmode::bob",
		"slowmode::alice", "ban:carol:bob", "unban:carol:alice", "kick:dave:alice"}
	if !sameSet(actions, want) || len(actions) != len(want) {
		t.Errorf("log %v, want %v", actions, want)
	}
	if st.Owner != "alice" || !sameSet(st.Admins, []string{"bob"}) || len(st.Bans) != 0 || len(st.Mutes) != 0 || st.SlowMode != 0 {
		t.Errorf("state %+v", st)
	}
	if code := s.getJSON(ctx, "mallory", "/api/rooms/town/moderation", nil); code != 403 {
		t.Errorf("non-member GET moderation: %d, want 403", code)
	}
}

// The HTTP API's moderation acts like the ops and is enforced on the edge.
func TestModerationHTTP(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 30*time.Second)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")
	alice.request(ctx, map[string]any{"op": "create", "room": "town"})
	alice.join(ctx, "town", -1, "")
	bob.join(ctx, "town", -1, "")
	post := func(user string, body map[string]any) int {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, "POST", s.m.URL+"/api/rooms/town/moderation", bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+s.token(user))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("bob", map[string]any{"action": "ban", "user": "alice"}); code != 403 {
		t.Errorf("member bans owner over HTTP: %d, want 403", code)
	}
	if code := post("alice", map[string]any{"action": "mute", "user": "bob"}); code != 200 {
		t.Fatalf("owner mutes over HTTP: %d", code)
	}
	expectMemberEvent(t, ctx, bob, "muted", "bob", "alice")
	waitFor(t, ctx, func() bool {
		_, err := bob.SendText(ctx, "town", cid("b", int(time.Now().UnixNano())), "hi")
		return wsclient.ErrorCode(err) == "muted"
	})
	if code := post("alice", map[string]any{"action": "ban", "user": "bob"}); code != 200 {
		t.Fatalf("owner bans over HTTP: %d", code)
	}
	if _, err := bob.Expect(ctx, "left"); err != nil {
		t.Fatalf("banned bob not unsubscribed: %v", err)
	}
	if _, err := bob.Join(ctx, "town", -1, ""); wsclient.ErrorCode(err) != "banned" {
		t.Errorf("banned join: %v, want banned", err)
	}
}

// create tells nobody whether someone else's private room exists: the
// answer is the one for a room of the other kind or one they are banned
// from.
func TestCreateDoesNotRevealPrivateRooms(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 20*time.Second)
	alice, mallory := s.connect(ctx, "alice"), s.connect(ctx, "mallory")
	alice.request(ctx, map[string]any{"op": "create", "room": "secret", "kind": "private"})
	alice.request(ctx, map[string]any{"op": "create", "room": "lobby", "kind": "public"})
	var answers []string
	for _, op := range []map[string]any{
		{"op": "create", "room": "secret", "kind": "private"}, // someone else's private room
		{"op": "create", "room": "secret", "kind": "public"},  // the same, asked as public
		{"op": "create", "room": "lobby", "kind": "private"},  // a public room, asked as private
	} {
		_, err := mallory.Request(ctx, op)
		var e *wsclient.Error
		if err == nil || !asError(err, &e) {
			t.Fatalf("%v: %v, want an error", op, err)
		}
		answers = append(answers, e.Code+": "+e.Message[len("room "):][len(op["room"].(string)):])
	}
	for _, a := range answers[1:] {
		if a != answers[0] {
			t.Errorf("answers differ: %q", answers)
		}
	}
	if answers[0] != "forbidden:  is not available" {
		t.Errorf("answer %q", answers[0])
	}
	if rooms := userRooms(t, ctx, s, "mallory"); len(rooms) != 0 {
		t.Errorf("mallory became a member of %v", rooms)
	}
}

func asError(err error, e **wsclient.Error) bool {
	x, ok := err.(*wsclient.Error)
	*e = x
	return ok
}

// Slow mode is the user's across the cluster: a send accepted on one edge
// holds back the next on another.
func TestSlowModeAcrossEdges(t *testing.T) {
	s1 := startServer(t, "", func(m *Main) { m.NATSListen = "127.0.0.1:-1" })
	s2 := startEdge(t, s1)
	ctx := ctxFor(t, 30*time.Second)
	alice := s1.connect(ctx, "alice")
	alice.request(ctx, map[string]any{"op": "create", "room": "town"})
	alice.join(ctx, "town", -1, "")
	c1, c2 := s1.connect(ctx, "carol"), s2.connect(ctx, "carol")
	c1.join(ctx, "town", -1, "")
	c2.join(ctx, "town", -1, "")
	if code := moderate(ctx, alice, map[string]any{"op": "slowmode", "room": "town", "seconds": 60}); code != "" {
		t.Fatalf("slowmode: %s", code)
	}
	// The second edge applies slow mode through its watch; until then a
	// send there goes through and is the one that counts.
	waitFor(t, ctx, func() bool {
		_, err := c2.SendText(ctx, "town", cid("c2", int(time.Now().UnixNano())), "edge 2")
		return wsclient.ErrorCode(err) == "slow_mode"
	})
	ev, err := c1.SendText(ctx, "town", "c1", "edge 1")
	if wsclient.ErrorCode(err) != "slow_mode" || ev.WaitMS <= 0 || ev.WaitMS > 60000 {
		t.Errorf("send on the other edge within the interval: %v (wait_ms %d), want slow_mode", err, ev.WaitMS)
	}
}
