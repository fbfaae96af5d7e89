package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter/edge/wsclient"
)

// Quotas (docs/SECURITY.md#quotas): each test replays one of the issue's
// attacks, bounded, against real servers, and shows that it now stops at
// the quota with a documented error.

func createRoom(ctx context.Context, c *wsclient.Client, room, kind string) (wsclient.Event, error) {
	return c.Request(ctx, map[string]any{"op": "create", "room": room, "kind": kind})
}

// One user creating rooms as fast as they can, from two edges of one
// cluster, gets the hourly quota (default 30) and no more: the count is in
// KV, shared by the edges. Joining a room that does not exist creates it,
// so that is refused too; an existing room is not a new one.
func TestQuotaRoomsPerHourAcrossEdges(t *testing.T) {
	s1 := startServer(t, "", func(m *Main) { m.NATSListen = "127.0.0.1:-1" })
	secret, err := os.ReadFile(filepath.Join(s1.dir, "jwt.secret"))
	if err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, "", func(m *Main) {
		m.Role, m.NATS, m.JWTSecret = "edge", s1.m.embedded.ClientURL(), strings.TrimSpace(string(secret))
	})
	ctx := ctxFor(t, 60*time.Second)
	edges := []*wsclient.Client{login(t, ctx, s1, "alice"), login(t, ctx, s2, "alice")}

	created, refused := 0, 0
	for i := range 40 {
		_, err := createRoom(ctx, edges[i%2], fmt.Sprintf("r-%d", i), "public")
		switch code := errCode(t, err); code {
		case "":
			created++
		case "quota_exceeded":
			refused++
			if !strings.Contains(err.Error(), "per hour") || !strings.Contains(err.Error(), "frees up in") {
				t.Errorf("refusal does not say which quota and when: %v", err)
			}
		default:
			t.Fatalf("create %d: %v", i, err)
		}
	}
	if created != 30 || refused != 10 {
		t.Fatalf("created %d, refused %d; want 30 and 10 (--max-rooms-per-hour 30, cluster-wide)", created, refused)
	}
	for _, c := range edges {
		if _, err := c.Join(ctx, "not-yet", -1, ""); errCode(t, err) != "quota_exceeded" {
			t.Errorf("join creating a room past the quota: %v", err)
		}
		if _, err := createRoom(ctx, c, "r-0", "public"); err != nil {
			t.Errorf("create of an existing room past the quota: %v", err)
		}
	}
	if _, err := createRoom(ctx, login(t, ctx, s2, "bob"), "bobs", "private"); err != nil {
		t.Errorf("another user's create: %v", err)
	}
}

// The total quota survives a restart: the count is stored, not held in
// memory. A new DM is a new room and counts too.
func TestQuotaRoomsPerUserSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	tight := func(m *Main) { m.Quota.RoomsPerUser, m.Quota.RoomsPerHour = 3, -1 }
	s := startServer(t, dir, tight)
	ctx := ctxFor(t, 60*time.Second)
	alice := login(t, ctx, s, "alice")
	for _, r := range []string{"a", "b"} {
		if _, err := createRoom(ctx, alice, r, "private"); err != nil {
			t.Fatalf("create %s: %v", r, err)
		}
	}
	if _, err := alice.Request(ctx, map[string]any{"op": "dm", "user": "bob"}); err != nil {
		t.Fatalf("dm: %v", err)
	}
	_, err := createRoom(ctx, alice, "d", "public")
	if errCode(t, err) != "quota_exceeded" || !strings.Contains(err.Error(), "per user") {
		t.Fatalf("fourth room: %v, want quota_exceeded naming the per-user quota", err)
	}
	s.stop()

	s = startServer(t, dir, tight)
	alice = login(t, ctx, s, "alice")
	if _, err := createRoom(ctx, alice, "d", "public"); errCode(t, err) != "quota_exceeded" {
		t.Fatalf("fourth room after a restart: %v, want quota_exceeded", err)
	}
	if _, err := alice.Request(ctx, map[string]any{"op": "dm", "user": "carol"}); errCode(t, err) != "quota_exceeded" {
		t.Fatalf("new dm past the quota: %v, want quota_exceeded", err)
	}
	if _, err := alice.Request(ctx, map[string]any{"op": "dm", "user": "bob"}); err != nil {
		t.Fatalf("existing dm past the quota: %v", err)
	}
	if _, err := createRoom(ctx, alice, "a", "private"); err != nil {
		t.Fatalf("create of an own existing room: %v", err)
	}
}

// A stranger adding a victim to many private rooms: the first adds of the
// hour go through, the rest become invitations the victim accepts or
// declines, and past the pending cap they are refused. The victim's room
// list holds only what went through or was accepted.
func TestQuotaStrangerAddsBecomeInvitations(t *testing.T) {
	s := startServer(t, "", generousRate, func(m *Main) { m.Quota.AddsPerHour, m.Quota.Invitations = 3, 4 })
	ctx := ctxFor(t, 60*time.Second)
	mallory, victim := login(t, ctx, s, "mallory"), login(t, ctx, s, "victim")
	var outcome []string
	for i := range 9 {
		room := fmt.Sprintf("p%d", i)
		if _, err := createRoom(ctx, mallory, room, "private"); err != nil {
			t.Fatal(err)
		}
		ev, err := mallory.Request(ctx, map[string]any{"op": "add", "room": room, "user": "victim"})
		switch {
		case err != nil:
			outcome = append(outcome, errCode(t, err))
		case ev.Invited:
			outcome = append(outcome, "invited")
		default:
			outcome = append(outcome, "added")
		}
	}
	want := []string{"added", "added", "added", "invited", "invited", "invited", "invited", "quota_exceeded", "quota_exceeded"}
	if !slices.Equal(outcome, want) {
		t.Fatalf("adds: %v, want %v", outcome, want)
	}
	if n := metricValue(t, s, `natter_quota_refusals_total{quota="invitations"}`); n != 2 {
		t.Errorf("invitations refusals counted: %v, want 2", n)
	}
	for i := range 7 {
		ev, err := victim.Expect(ctx, "room")
		wantAction := map[bool]string{true: "added", false: "invited"}[i < 3]
		if err != nil || ev.Room != fmt.Sprintf("p%d", i) || ev.Action != wantAction || ev.From != "mallory" {
			t.Fatalf("room event %d: %+v %v, want %s p%d", i, ev, err, wantAction, i)
		}
	}
	if got := userRooms(t, ctx, s, "victim"); !slices.Equal(got, []string{"p0", "p1", "p2"}) {
		t.Fatalf("victim's rooms: %v", got)
	}
	if _, err := victim.Join(ctx, "p3", -1, ""); errCode(t, err) != "forbidden" {
		t.Fatalf("join of a room only invited to: %v, want forbidden", err)
	}

	inv, err := victim.Request(ctx, map[string]any{"op": "invitations"})
	if err != nil || len(inv.Invitations) != 4 || inv.Invitations[0].Room != "p3" || inv.Invitations[0].From != "mallory" || inv.Invitations[0].Owner != "mallory" {
		t.Fatalf("invitations: %+v %v", inv, err)
	}
	if _, err := victim.Request(ctx, map[string]any{"op": "accept", "room": "p3"}); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if _, err := victim.Join(ctx, "p3", -1, ""); err != nil {
		t.Fatalf("join after accepting: %v", err)
	}
	if st := apiDo(t, ctx, s, "POST", "victim", "/api/invitations/p4/decline", "", nil); st != http.StatusNoContent {
		t.Fatalf("decline over HTTP: %d", st)
	}
	if _, err := victim.Request(ctx, map[string]any{"op": "accept", "room": "p4"}); errCode(t, err) != "not_found" {
		t.Fatalf("accept of a declined invitation: %v, want not_found", err)
	}
	var page struct {
		Invitations []wsclient.Invitation `json:"invitations"`
	}
	if st := apiDo(t, ctx, s, "GET", "victim", "/api/invitations", "", &page); st != 200 || len(page.Invitations) != 2 || page.Invitations[0].Room != "p5" {
		t.Fatalf("GET /api/invitations: %d %+v", st, page)
	}
	if got := userRooms(t, ctx, s, "victim"); !slices.Equal(got, []string{"p0", "p1", "p2", "p3"}) {
		t.Fatalf("victim's rooms after accepting one: %v", got)
	}
	// The owner's remove withdraws a pending invitation.
	if _, err := mallory.Request(ctx, map[string]any{"op": "remove", "room": "p5", "user": "victim"}); err != nil {
		t.Fatal(err)
	}
	if inv, err := victim.Request(ctx, map[string]any{"op": "invitations"}); err != nil || len(inv.Invitations) != 1 || inv.Invitations[0].Room != "p6" {
		t.Fatalf("invitations after the owner's remove: %+v %v", inv, err)
	}

	if st := apiGet(t, ctx, s, "", "/api/invitations", nil); st != http.StatusUnauthorized {
		t.Fatalf("GET /api/invitations without a token: %d, want 401", st)
	}

	// With the "invite" policy, every add by someone else is an invitation.
	var settings struct {
		AddPolicy string `json:"add_policy"`
	}
	if st := apiDo(t, ctx, s, "PUT", "shy", "/api/me/settings", `{"add_policy":"invite"}`, &settings); st != 200 || settings.AddPolicy != "invite" {
		t.Fatalf("PUT /api/me/settings: %d %+v", st, settings)
	}
	if st := apiDo(t, ctx, s, "PUT", "shy", "/api/me/settings", `{"add_policy":"everyone"}`, nil); st != http.StatusBadRequest {
		t.Fatalf("PUT of a bad policy: %d, want 400", st)
	}
	shy := login(t, ctx, s, "shy")
	if ev, err := shy.Request(ctx, map[string]any{"op": "settings"}); err != nil || ev.AddPolicy != "invite" {
		t.Fatalf("settings op: %+v %v", ev, err)
	}
	if ev, err := mallory.Request(ctx, map[string]any{"op": "add", "room": "p0", "user": "shy"}); err != nil || !ev.Invited {
		t.Fatalf("add of a user with the invite policy: %+v %v, want invited", ev, err)
	}
	if got := userRooms(t, ctx, s, "shy"); len(got) != 0 {
		t.Fatalf("shy's rooms: %v", got)
	}
}

// apiDo sends an authenticated request with a JSON body (none if empty),
// decodes a 200 answer into v and returns the status.
func apiDo(t *testing.T, ctx context.Context, s *server, method, user, path, body string, v any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, s.m.URL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+issue(t, s, user))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// Members pile into one room until the cap; leaving frees a place. The cap
// holds for public rooms (join) and private ones (add) alike.
func TestQuotaRoomMembers(t *testing.T) {
	s := startServer(t, "", generousRate, func(m *Main) { m.Quota.RoomMembers = 4 })
	ctx := ctxFor(t, 60*time.Second)
	users := make([]*wsclient.Client, 5)
	for i := range users {
		users[i] = login(t, ctx, s, fmt.Sprintf("u%d", i))
	}
	for i := range 4 {
		if _, err := users[i].Join(ctx, "big", -1, ""); err != nil {
			t.Fatalf("u%d join: %v", i, err)
		}
	}
	if _, err := users[4].Join(ctx, "big", -1, ""); errCode(t, err) != "quota_exceeded" {
		t.Fatalf("fifth member: %v, want quota_exceeded", err)
	}
	if _, err := users[1].Request(ctx, map[string]any{"op": "part", "room": "big"}); err != nil {
		t.Fatal(err)
	}
	if _, err := users[4].Join(ctx, "big", -1, ""); err != nil {
		t.Fatalf("join after a member left: %v", err)
	}

	owner := users[0]
	if _, err := createRoom(ctx, owner, "club", "private"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := owner.Request(ctx, map[string]any{"op": "add", "room": "club", "user": fmt.Sprintf("m%d", i)}); err != nil {
			t.Fatalf("add m%d: %v", i, err)
		}
	}
	if _, err := owner.Request(ctx, map[string]any{"op": "add", "room": "club", "user": "m4"}); errCode(t, err) != "quota_exceeded" {
		t.Fatalf("add past the cap: %v, want quota_exceeded", err)
	}
	if _, err := owner.Request(ctx, map[string]any{"op": "remove", "room": "club", "user": "m1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Request(ctx, map[string]any{"op": "add", "room": "club", "user": "m4"}); err != nil {
		t.Fatalf("add after a removal: %v", err)
	}
}

// One user on 60 connections, each sending as fast as it may, stores no
// more than the per-user rate allows in total; refused sends get
// rate_limited with their cid and no connection is closed for it.
func TestQuotaUserSendRateAcrossConnections(t *testing.T) {
	const conns, each, rate, burst = 60, 10, 10, 20
	s := startServer(t, "", generousRate, func(m *Main) {
		m.Quota.ConnsPerUser, m.Quota.UserRate, m.Quota.UserBurst = 100, rate, burst
	})
	ctx := ctxFor(t, 90*time.Second)
	cs := make([]*wsclient.Client, conns)
	for i := range cs {
		cs[i] = login(t, ctx, s, "flooder", "flood")
	}
	var tally sendTally
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				if j > 0 {
					time.Sleep(100 * time.Millisecond) // pacing: ~600 sends/s from the user over about a second
				}
				if err := c.Send(map[string]any{"op": "send", "room": "flood", "cid": cid(fmt.Sprint(i), j), "text": "x"}); err != nil {
					t.Error(err)
					return
				}
			}
			for range each {
				if !tally.expect(t, ctx, c) {
					return
				}
			}
		}()
	}
	wg.Wait()
	window := time.Since(start).Seconds()
	if t.Failed() {
		t.FailNow()
	}
	acked, limited := tally.acked, tally.limited
	// The bucket holds burst and refills at rate: over the window no more
	// than rate×window+burst can pass (plus a margin for clock reading).
	if limit := rate*window + burst + 5; float64(acked) > limit || acked <= burst || acked+limited != conns*each {
		t.Fatalf("%d acked, %d refused in %.1fs; want at most %.0f acked (rate %d/s, burst %d)", acked, limited, window, limit, rate, burst)
	}
	t.Logf("%d acked, %d refused in %.2fs", acked, limited, window)
	for _, c := range cs {
		if _, err := c.Request(ctx, map[string]any{"op": "ping"}); err != nil {
			t.Fatalf("connection closed for sending too fast: %v", err)
		}
	}
	if _, err := login(t, ctx, s, "bob", "flood").SendText(ctx, "flood", "b1", "hi"); err != nil {
		t.Fatalf("another user's send: %v", err)
	}
}

// A user opening connection after connection is refused past the cap
// with quota_exceeded and close 4029; a closed one frees its place.
func TestQuotaConnsPerUser(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Quota.ConnsPerUser = 3 })
	ctx := ctxFor(t, 30*time.Second)
	first := login(t, ctx, s, "alice")
	login(t, ctx, s, "alice")
	login(t, ctx, s, "alice")
	extra := dialWS(t, ctx, s)
	if _, err := extra.Auth(ctx, issue(t, s, "alice")); errCode(t, err) != "quota_exceeded" {
		t.Fatalf("fourth connection: %v, want quota_exceeded", err)
	}
	expectClose(t, ctx, extra, 4029)
	if n := metricValue(t, s, `natter_quota_refusals_total{quota="conns_per_user"}`); n != 1 {
		t.Errorf("conns_per_user refusals counted: %v, want 1", n)
	}
	login(t, ctx, s, "bob")
	first.Close()
	err := poll(ctx, func() bool {
		c := dialWS(t, ctx, s)
		_, err := c.Auth(ctx, issue(t, s, "alice"))
		return err == nil
	})
	if err != nil {
		t.Fatalf("no connection after one closed: %v", err)
	}
}

// Room management ops are bounded per user and minute, whatever the room.
func TestQuotaRoomOpsPerMinute(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Quota.RoomOps = 5 })
	ctx := ctxFor(t, 30*time.Second)
	alice := login(t, ctx, s, "alice")
	for i := range 5 {
		if _, err := createRoom(ctx, alice, fmt.Sprintf("o%d", i), "public"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.Request(ctx, map[string]any{"op": "dm", "user": "bob"}); errCode(t, err) != "rate_limited" {
		t.Fatalf("sixth room op: %v, want rate_limited", err)
	}
	expectOpen(t, ctx, alice)
}

// Typing on many connections fans out no more than one user's share: the
// excess is dropped, without an error and without closing anything.
func TestQuotaTypingFanOut(t *testing.T) {
	s := startServer(t, "", generousRate)
	ctx := ctxFor(t, 30*time.Second)
	watcher := login(t, ctx, s, "watcher", "t")
	flood := make([]*wsclient.Client, 5)
	for i := range flood {
		flood[i] = login(t, ctx, s, "typist", "t")
	}
	start := time.Now()
	for _, c := range flood {
		for range 20 {
			if err := c.Send(map[string]any{"op": "typing", "room": "t"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range flood {
		// A round trip: every typing before it was handled. Dropped ones
		// get no error: only typing events may be waiting.
		if _, err := c.Request(ctx, map[string]any{"op": "ping"}); err != nil {
			t.Fatal(err)
		}
		for _, ev := range pending(c) {
			if ev.Type != "typing" {
				t.Fatalf("typist got %+v", ev)
			}
		}
	}
	window := time.Since(start).Seconds()
	// The edge publishes both users' events on one NATS connection, in
	// order: once the bystander's typing arrives, all the typist's have.
	if err := login(t, ctx, s, "bystander", "t").Send(map[string]any{"op": "typing", "room": "t"}); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for {
		ev, err := watcher.Expect(ctx, "typing")
		if err != nil {
			t.Fatal(err)
		}
		if ev.User == "bystander" {
			break
		}
		seen++
	}
	if limit := 2*window + 10 + 2; float64(seen) > limit || seen < 10 {
		t.Fatalf("watcher saw %d typing events of 100 sent in %.1fs; want 10 to %.0f", seen, window, limit)
	}
}
