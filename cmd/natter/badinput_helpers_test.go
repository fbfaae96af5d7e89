package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/edge/wsclient"
)

// The helpers here take the *testing.T of the (sub)test that calls them:
// server's own helpers fail the test that started the server, which must not
// happen from a subtest's goroutine.

// generousRate lifts the per-connection rate limit: the bystanders send
// several frames per case, faster than the default rate allows.
func generousRate(m *Main) { m.Rate, m.Burst = 1000, 1000 }

// dialWS opens an unauthenticated connection that is closed when t ends.
func dialWS(t *testing.T, ctx context.Context, s *server) *wsclient.Client {
	t.Helper()
	c, err := wsclient.Dial(ctx, s.wsURL())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// login dials and authenticates user, and joins rooms.
func login(t *testing.T, ctx context.Context, s *server, user string, rooms ...string) *wsclient.Client {
	t.Helper()
	c := dialWS(t, ctx, s)
	if _, err := c.Auth(ctx, issue(t, s, user)); err != nil {
		t.Fatalf("auth %s: %v", user, err)
	}
	for _, r := range rooms {
		if _, err := c.Join(ctx, r, -1, ""); err != nil {
			t.Fatalf("%s join %s: %v", user, r, err)
		}
	}
	return c
}

func issue(t *testing.T, s *server, user string) string {
	t.Helper()
	tok, err := s.keys.Issue(natter.UserID(user), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rawFrame returns one hand-made client frame with header h (its Length
// set from payload). A masked frame gets a fresh mask applied to a copy.
func rawFrame(h ws.Header, payload []byte) []byte {
	h.Length = int64(len(payload))
	p := append([]byte(nil), payload...)
	if h.Masked {
		h.Mask = ws.NewMask()
		ws.Cipher(p, h.Mask, 0)
	}
	var buf bytes.Buffer
	_ = ws.WriteHeader(&buf, h)
	buf.Write(p)
	return buf.Bytes()
}

// headerOnly returns a masked frame header announcing length bytes, with
// none of them: the server must decide from the header alone.
func headerOnly(op ws.OpCode, fin bool, length int64) []byte {
	var buf bytes.Buffer
	_ = ws.WriteHeader(&buf, ws.Header{Fin: fin, OpCode: op, Masked: true, Mask: ws.NewMask(), Length: length})
	return buf.Bytes()
}

// nextEvent returns the next event that is not a presence event.
func nextEvent(ctx context.Context, c *wsclient.Client) (wsclient.Event, error) {
	for {
		ev, err := c.Next(ctx)
		if err != nil || ev.Type != "presence" {
			return ev, err
		}
	}
}

// writeRaw writes frames to the socket in one write. The server never pings
// these short-lived clients, so nothing else writes concurrently.
func writeRaw(c *wsclient.Client, frames ...[]byte) error {
	_, err := c.Conn().Write(bytes.Join(frames, nil))
	return err
}

// expectClose waits for the server's close frame and checks its code, and
// that nothing but ephemeral events came before it.
func expectClose(t *testing.T, ctx context.Context, c *wsclient.Client, code ws.StatusCode) {
	t.Helper()
	cl, err := c.Wait(ctx)
	if err != nil {
		t.Fatalf("waiting for close %d: %v", code, err)
	}
	if cl.Code != int(code) {
		t.Errorf("closed with %d %q, want %d", cl.Code, cl.Reason, code)
	}
	if evs := pending(c); len(evs) > 0 {
		t.Errorf("events before close %d: %+v", code, evs)
	}
}

// pending drains the events already received, dropping presence events
// (they are ephemeral and may arrive at any time).
func pending(c *wsclient.Client) []wsclient.Event {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	var out []wsclient.Event
	for {
		ev, err := c.Next(done)
		if err != nil {
			return out
		}
		if ev.Type != "presence" {
			out = append(out, ev)
		}
	}
}

// expectOpen checks that c still answers a ping and that no stray event
// (a message, an ack, another error) was sent to it.
func expectOpen(t *testing.T, ctx context.Context, c *wsclient.Client) {
	t.Helper()
	if _, err := c.Request(ctx, map[string]any{"op": "ping"}); err != nil {
		t.Fatalf("ping after bad input: %v", err)
	}
	if evs := pending(c); len(evs) > 0 {
		t.Errorf("unexpected events: %+v", evs)
	}
}

// apiGet does a GET of the HTTP API with Authorization "Bearer token" (none
// if token is empty), decodes a 200 body into v and returns the status.
func apiGet(t *testing.T, ctx context.Context, s *server, token, path string, v any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", s.m.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

type messagesPage struct {
	Room     string           `json:"room"`
	Messages []natter.Message `json:"messages"`
	HasMore  bool             `json:"has_more"`
}

type roomsPage struct {
	Rooms []struct {
		ID string `json:"id"`
	} `json:"rooms"`
}

// userRooms returns the ids GET /api/rooms lists for user.
func userRooms(t *testing.T, ctx context.Context, s *server, user string) []string {
	t.Helper()
	var page roomsPage
	if st := apiGet(t, ctx, s, issue(t, s, user), "/api/rooms", &page); st != http.StatusOK {
		t.Fatalf("GET /api/rooms as %s: %d", user, st)
	}
	ids := make([]string, 0, len(page.Rooms))
	for _, r := range page.Rooms {
		ids = append(ids, r.ID)
	}
	return ids
}

// poll calls f every few milliseconds until it reports true or ctx ends.
func poll(ctx context.Context, f func() bool) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !f() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// bystanders are two well-behaved users in some rooms: bob sends, dave
// listens. They record every message they stored, so that check can prove
// after each bad input that the process still serves them and that stored
// history is exactly what it was plus their new message.
type bystanders struct {
	s         *server
	rooms     []string
	bob, dave *wsclient.Client
	token     string                      // bob's, for the history API
	stored    map[string][]wsclient.Event // acks per room, in order
	texts     map[uint64]string           // text per seq
	last      uint64                      // the stream's last sequence
	n         int                         // checks run
}

// newBystanders connects bob and dave to rooms and has bob store one
// message in each before any bad input arrives.
func newBystanders(t *testing.T, ctx context.Context, s *server, rooms ...string) *bystanders {
	t.Helper()
	b := &bystanders{
		s: s, rooms: rooms,
		bob:    login(t, ctx, s, "bob", rooms...),
		dave:   login(t, ctx, s, "dave", rooms...),
		token:  issue(t, s, "bob"),
		stored: map[string][]wsclient.Event{},
		texts:  map[uint64]string{},
	}
	b.say(t, ctx, "pre")
	return b
}

// check runs after a bad input: bob sends a message to each room and it
// must be the very next stream sequence (nothing else was stored anywhere),
// both bystanders must receive it as their next message in that room
// (nothing else was delivered there), and once archived each room's history
// must be exactly the messages the bystanders stored.
func (b *bystanders) check(t *testing.T, ctx context.Context) {
	t.Helper()
	b.n++
	b.say(t, ctx, fmt.Sprintf("after-%d", b.n))
	if st := apiGet(t, ctx, b.s, "", "/readyz", nil); st != http.StatusOK {
		t.Errorf("/readyz: %d", st)
	}
}

func (b *bystanders) say(t *testing.T, ctx context.Context, label string) {
	t.Helper()
	for _, room := range b.rooms {
		cid := label + "-" + room
		text := fmt.Sprintf("%s from bob in %s", label, room)
		ack, err := b.bob.SendText(ctx, room, cid, text)
		if err != nil {
			t.Fatalf("bystander send in %s: %v", room, err)
		}
		if b.last != 0 && ack.Seq != b.last+1 {
			t.Errorf("bystander message in %s stored at seq %d, want %d: something else was stored", room, ack.Seq, b.last+1)
		}
		b.last = ack.Seq
		b.stored[room] = append(b.stored[room], ack)
		b.texts[ack.Seq] = text
		for who, c := range map[string]*wsclient.Client{"bob": b.bob, "dave": b.dave} {
			got, err := c.Messages(ctx, room, 1)
			if err != nil {
				t.Fatalf("%s waiting for %s in %s: %v", who, cid, room, err)
			}
			if got[0].CID != cid || got[0].Seq != ack.Seq || got[0].Text != text {
				t.Errorf("%s's next message in %s is %+v, want cid %s seq %d", who, room, got[0], cid, ack.Seq)
			}
		}
	}
	b.verifyHistory(t, ctx)
}

// verifyHistory waits for the archive to reach the last stored message (it
// copies in stream order) and compares each room's history with what the
// bystanders stored.
func (b *bystanders) verifyHistory(t *testing.T, ctx context.Context) {
	t.Helper()
	lastRoom := b.rooms[len(b.rooms)-1]
	var page messagesPage
	err := poll(ctx, func() bool {
		page = messagesPage{}
		st := apiGet(t, ctx, b.s, b.token, "/api/rooms/"+lastRoom+"/messages?after=0&limit=200", &page)
		return st == http.StatusOK && len(page.Messages) > 0 && page.Messages[len(page.Messages)-1].Seq >= b.last
	})
	if err != nil {
		t.Fatalf("history of %s never reached seq %d: %v (have %+v)", lastRoom, b.last, err, page.Messages)
	}
	for _, room := range b.rooms {
		page = messagesPage{}
		if st := apiGet(t, ctx, b.s, b.token, "/api/rooms/"+room+"/messages?after=0&limit=200", &page); st != http.StatusOK {
			t.Fatalf("history of %s: %d", room, st)
		}
		want := b.stored[room]
		if len(page.Messages) != len(want) {
			t.Errorf("history of %s has %d messages, want %d: %+v", room, len(page.Messages), len(want), page.Messages)
			continue
		}
		prev := uint64(0)
		for i, m := range page.Messages {
			w := want[i]
			if m.Seq != w.Seq || m.ClientID != w.CID || m.From != "bob" || m.Text != b.texts[w.Seq] || m.Prev != prev || string(m.Room) != room {
				t.Errorf("history of %s, message %d = %+v, want seq %d cid %s prev %d from bob", room, i, m, w.Seq, w.CID, prev)
			}
			prev = m.Seq
		}
	}
}

// errCode returns the protocol error code of err, failing if err is not an
// error event.
func errCode(t *testing.T, err error) string {
	t.Helper()
	var e *wsclient.Error
	if err != nil && !errors.As(err, &e) {
		t.Fatalf("want an error event, got %v", err)
	}
	return wsclient.ErrorCode(err)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
