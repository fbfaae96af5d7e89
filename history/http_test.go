package history

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/httpapi"
)

// directory is a map-based natter.Directory. The real one (broker/, on
// JetStream KV) is covered by the end-to-end tests.
type directory struct {
	rooms   map[natter.RoomID]natter.Room
	members map[natter.RoomID][]natter.UserID
	cursors map[natter.UserID]map[natter.RoomID]natter.Cursor
	err     error // returned by every call when set
}

func (d *directory) Room(_ context.Context, id natter.RoomID) (natter.Room, error) {
	if d.err != nil {
		return natter.Room{}, d.err
	}
	r, ok := d.rooms[id]
	if !ok {
		return natter.Room{}, natter.Errorf(natter.ENOTFOUND, "no room %s", id)
	}
	return r, nil
}

func (d *directory) IsMember(_ context.Context, room natter.RoomID, user natter.UserID) (bool, error) {
	if d.err != nil {
		return false, d.err
	}
	for _, u := range d.members[room] {
		if u == user {
			return true, nil
		}
	}
	return false, nil
}

// UserRooms answers in map order, so the handler's sorting is exercised.
func (d *directory) UserRooms(_ context.Context, user natter.UserID) ([]natter.RoomID, error) {
	if d.err != nil {
		return nil, d.err
	}
	var out []natter.RoomID
	for room, users := range d.members {
		for _, u := range users {
			if u == user {
				out = append(out, room)
			}
		}
	}
	return out, nil
}

func (d *directory) Cursor(_ context.Context, user natter.UserID, room natter.RoomID) (natter.Cursor, error) {
	if d.err != nil {
		return natter.Cursor{}, d.err
	}
	return d.cursors[user][room], nil
}

func (d *directory) Members(_ context.Context, room natter.RoomID) ([]natter.UserID, error) {
	if d.err != nil {
		return nil, d.err
	}
	out := slices.Clone(d.members[room])
	slices.Sort(out)
	return out, nil
}

func (d *directory) PublicRooms(_ context.Context, prefix string, limit int) ([]natter.Room, error) {
	if d.err != nil {
		return nil, d.err
	}
	var out []natter.Room
	for _, r := range d.rooms {
		if r.Kind == natter.Public && strings.HasPrefix(string(r.ID), prefix) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b natter.Room) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out[:min(limit, len(out))], nil
}

type tokens map[string]natter.UserID

func (t tokens) Verify(token string) (natter.Claims, error) {
	if u, ok := t[token]; ok {
		return natter.Claims{User: u}, nil
	}
	return natter.Claims{}, natter.Errorf(natter.EUNAUTHORIZED, "bad token")
}

// syncBuffer lets the test read what the server goroutines log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type fixture struct {
	url   string
	store *Store
	dir   *directory
	log   *syncBuffer
	// msgs is the archived history of each room, in seq order.
	msgs map[natter.RoomID][]natter.Message
}

// dmRoom is the direct room of alice and carol.
var dmRoom = natter.DMRoom("alice", "carol")

// newFixture archives 300 interleaved messages in "general", "secret" and a
// DM, and serves the API over loopback. alice belongs to all three, bob to
// general only, dave to nothing.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, _ := openStore(t)
	ctx := context.Background()
	if err := s.SetEpoch(ctx, "e1"); err != nil {
		t.Fatal(err)
	}
	msgs := stream("e1", 300, "general", "secret", dmRoom)
	appendAll(t, s, msgs)

	dir := &directory{
		rooms: map[natter.RoomID]natter.Room{
			"general": {ID: "general", Kind: natter.Public},
			"secret":  {ID: "secret", Kind: natter.Private, Owner: "alice"},
			"empty":   {ID: "empty", Kind: natter.Private, Owner: "alice"},
			dmRoom:    {ID: dmRoom, Kind: natter.Direct, Users: []natter.UserID{"alice", "carol"}},
		},
		members: map[natter.RoomID][]natter.UserID{
			"general": {"alice", "bob"},
			"secret":  {"alice"},
			"empty":   {"alice"},
			dmRoom:    {"alice", "carol"},
			"ghost":   {"alice"}, // listed for alice but deleted from the directory
		},
		cursors: map[natter.UserID]map[natter.RoomID]natter.Cursor{
			"alice": {
				"general": {Read: msgs["general"][9].Seq, Delivered: msgs["general"][20].Seq, Epoch: "e1"},
				"secret":  {Read: msgs["secret"][len(msgs["secret"])-1].Seq, Delivered: msgs["secret"][len(msgs["secret"])-1].Seq},
				dmRoom:    {Read: 250, Delivered: 290, Epoch: "e0"}, // from the previous stream
			},
		},
	}
	log := &syncBuffer{}
	h := NewHandler(s, dir, tokens{"tok-alice": "alice", "tok-bob": "bob", "tok-dave": "dave", "tok-nobody": ""},
		slog.New(slog.NewTextHandler(log, nil)))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{url: srv.URL, store: s, dir: dir, log: log, msgs: msgs}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (f *fixture) get(t *testing.T, path, token string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, body}
}

// wantError checks an error response's status, code and JSON shape.
func wantError(t *testing.T, res response, status int, code string) httpapi.ErrorBody {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d; body %s", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var body httpapi.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(res.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("error body %s: %v", res.body, err)
	}
	if body.Error.Code != code || body.Error.Message == "" {
		t.Fatalf("error = %+v, want code %q with a message", body.Error, code)
	}
	return body
}

func TestUnauthorized(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/api/rooms", "/api/rooms/general/messages", "/api/nope"} {
		for _, auth := range []string{"", "tok-alice", "Basic tok-alice", "Bearer", "Bearer ", "Bearer tok-mallory", "Bearer tok-nobody"} {
			t.Run(path+"/"+auth, func(t *testing.T) {
				res := f.get(t, path, auth)
				wantError(t, res, http.StatusUnauthorized, natter.EUNAUTHORIZED)
				if got := res.header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", got)
				}
				if got := res.header.Get("WWW-Authenticate"); got != "Bearer" {
					t.Errorf("WWW-Authenticate = %q, want Bearer", got)
				}
			})
		}
	}
	// The scheme is case-insensitive.
	if res := f.get(t, "/api/rooms", "bearer tok-alice"); res.status != http.StatusOK {
		t.Errorf("lower-case scheme: status %d", res.status)
	}
}

func TestForbidden(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ token, room string }{
		{"Bearer tok-bob", "secret"}, // exists, private
		{"Bearer tok-bob", string(dmRoom)},
		{"Bearer tok-bob", "nowhere"},  // does not exist: same answer
		{"Bearer tok-dave", "general"}, // public but not joined
	} {
		res := f.get(t, "/api/rooms/"+tc.room+"/messages", tc.token)
		wantError(t, res, http.StatusForbidden, natter.EFORBIDDEN)
	}
}

func TestBadRequest(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{
		"/api/rooms/a.b/messages",
		"/api/rooms/a%2Eb/messages",
		"/api/rooms/%2A/messages",
		"/api/rooms/*/messages",
		"/api/rooms/%3E/messages",
		"/api/rooms/a%20b/messages",
		"/api/rooms/a%2Fb/messages",
		"/api/rooms/" + strings.Repeat("x", natter.MaxIDLen+1) + "/messages",
		"/api/rooms/general/messages?before=x",
		"/api/rooms/general/messages?before=",
		"/api/rooms/general/messages?before=0",
		"/api/rooms/general/messages?before=-1",
		"/api/rooms/general/messages?after=1.5",
		"/api/rooms/general/messages?after=-1",
		"/api/rooms/general/messages?before=10&after=2",
		"/api/rooms/general/messages?after=0&before=99",
		"/api/rooms/general/messages?limit=0",
		"/api/rooms/general/messages?limit=-3",
		"/api/rooms/general/messages?limit=abc",
		"/api/rooms/general/messages?limit=",
		"/api/rooms/general/messages?after=3&limit=1e3",
	} {
		t.Run(path, func(t *testing.T) {
			wantError(t, f.get(t, path, "Bearer tok-alice"), http.StatusBadRequest, natter.EINVALID)
		})
	}
}

// TestEscapedRoomID checks that percent-escapes in the path are decoded
// before validation: an escaped valid id names the same room.
func TestEscapedRoomID(t *testing.T) {
	f := newFixture(t)
	res := f.get(t, "/api/rooms/gen%65ral/messages?limit=1", "Bearer tok-alice")
	var p messagePage
	if err := json.Unmarshal(res.body, &p); err != nil || res.status != http.StatusOK {
		t.Fatalf("status %d, body %s", res.status, res.body)
	}
	if p.Room != "general" || len(p.Messages) != 1 {
		t.Fatalf("page = %+v, want one message of general", p)
	}
}

func TestNotFound(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.get(t, "/nope", ""), http.StatusNotFound, natter.ENOTFOUND)
	wantError(t, f.get(t, "/api/nope", "Bearer tok-alice"), http.StatusNotFound, natter.ENOTFOUND)
}

func (f *fixture) page(t *testing.T, room natter.RoomID, query string) messagePage {
	t.Helper()
	res := f.get(t, "/api/rooms/"+string(room)+"/messages"+query, "Bearer tok-alice")
	if res.status != http.StatusOK {
		t.Fatalf("%s%s: status %d: %s", room, query, res.status, res.body)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var p messagePage
	if err := json.Unmarshal(res.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Room != room || p.Messages == nil {
		t.Fatalf("page = %+v, want room %s and a non-null message list", p, room)
	}
	return p
}

func TestPaginationWalk(t *testing.T) {
	f := newFixture(t)
	for _, room := range []natter.RoomID{"general", dmRoom} {
		want := f.msgs[room]
		for _, limit := range []int{1, 9, 50, len(want)} {
			t.Run(fmt.Sprintf("%s/%d", room, limit), func(t *testing.T) {
				var backward []natter.Message
				query := fmt.Sprintf("?limit=%d", limit) // no cursor: the latest page
				for {
					p := f.page(t, room, query)
					backward = append(records(p.Messages), backward...)
					if !p.HasMore {
						break
					}
					if len(p.Messages) != limit {
						t.Fatalf("page of %d before the last, limit %d", len(p.Messages), limit)
					}
					query = fmt.Sprintf("?before=%d&limit=%d", p.Messages[0].Seq, limit)
				}
				if !equalMessages(backward, want) {
					t.Fatalf("backward walk: %v, want %v", seqs(backward), seqs(want))
				}

				var forward []natter.Message
				query = fmt.Sprintf("?after=0&limit=%d", limit)
				for {
					p := f.page(t, room, query)
					forward = append(forward, records(p.Messages)...)
					if !p.HasMore {
						break
					}
					query = fmt.Sprintf("?after=%d&limit=%d", p.Messages[len(p.Messages)-1].Seq, limit)
				}
				if !equalMessages(forward, want) {
					t.Fatalf("forward walk: %v, want %v", seqs(forward), seqs(want))
				}
			})
		}
	}
}

// equalMessages compares through time.Time.Equal: JSON decoding gives UTC
// times their own *Location value.
func equalMessages(a, b []natter.Message) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !x.Time.Equal(y.Time) {
			return false
		}
		x.Time, y.Time = time0, time0
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

var time0 = natter.Message{}.Time

func TestPageEdges(t *testing.T) {
	f := newFixture(t)
	g := f.msgs["general"]
	last := g[len(g)-1].Seq
	for _, tc := range []struct {
		query    string
		wantLen  int
		wantMore bool
	}{
		{"", DefaultPageSize, true},
		{"?limit=5000", len(g), false}, // clamped to MaxPageSize, which covers general (200 messages)
		{fmt.Sprintf("?after=%d", last), 0, false},
		{fmt.Sprintf("?after=%d", g[len(g)-4].Seq), 3, false},
		{fmt.Sprintf("?after=%d&limit=3", g[len(g)-5].Seq), 3, true},
		{fmt.Sprintf("?before=%d", g[0].Seq), 0, false},
		{fmt.Sprintf("?before=%d&limit=3", g[3].Seq), 3, false},
		{fmt.Sprintf("?before=%d&limit=3", g[4].Seq), 3, true},
		{"?limit=99999999999999999999999", MaxPageSize, false},
		{"?before=18446744073709551615&limit=2", 2, true},
		{"?after=18446744073709551615", 0, false},
		{"?limit=1", 1, true},
	} {
		p := f.page(t, "general", tc.query)
		if len(p.Messages) != tc.wantLen || p.HasMore != tc.wantMore {
			t.Errorf("general%s: %d messages, has_more %v; want %d, %v",
				tc.query, len(p.Messages), p.HasMore, tc.wantLen, tc.wantMore)
		}
	}
	if len(g) != MaxPageSize {
		t.Fatalf("fixture: general has %d messages; the clamping cases assume %d", len(g), MaxPageSize)
	}
}

func TestLimitClamped(t *testing.T) {
	f := newFixture(t)
	// Extend general well past one maximal page.
	more := stream("e1", 1000, "general", "other")["general"]
	if err := f.store.Append(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	p := f.page(t, "general", "?limit=201")
	if len(p.Messages) != MaxPageSize || !p.HasMore {
		t.Fatalf("limit=201: %d messages, has_more %v; want %d, true", len(p.Messages), p.HasMore, MaxPageSize)
	}
}

func TestRooms(t *testing.T) {
	f := newFixture(t)
	res := f.get(t, "/api/rooms", "Bearer tok-alice")
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	var got struct{ Rooms []roomSummary }
	dec := json.NewDecoder(bytes.NewReader(res.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}

	g, s, d := f.msgs["general"], f.msgs["secret"], f.msgs[dmRoom]
	want := []roomSummary{ // sorted by id; "ghost" is gone from the directory
		{ID: dmRoom, Kind: natter.Direct, LastSeq: d[len(d)-1].Seq, Unread: len(d), LastTime: &d[len(d)-1].Time}, // old-epoch cursor: all unread
		{ID: "empty", Kind: natter.Private},
		{ID: "general", Kind: natter.Public, LastSeq: g[len(g)-1].Seq, Read: g[9].Seq, Delivered: g[20].Seq, Unread: len(g) - 10, LastTime: &g[len(g)-1].Time},
		{ID: "secret", Kind: natter.Private, LastSeq: s[len(s)-1].Seq, Read: s[len(s)-1].Seq, Delivered: s[len(s)-1].Seq, LastTime: &s[len(s)-1].Time},
	}
	if !reflect.DeepEqual(got.Rooms, want) {
		t.Fatalf("rooms:\n got %+v\nwant %+v", got.Rooms, want)
	}

	// No rooms is an empty list, not null.
	res = f.get(t, "/api/rooms", "Bearer tok-dave")
	if res.status != http.StatusOK || strings.TrimSpace(string(res.body)) != `{"rooms":[]}` {
		t.Fatalf("no rooms: %d %s", res.status, res.body)
	}
}

func TestDirectoryErrors(t *testing.T) {
	for _, tc := range []struct {
		err        error
		status     int
		code       string
		message    string
		wantLogged bool
	}{
		{errors.New("kv: bucket secret-bucket-7 corrupt"), 500, natter.EINTERNAL, "internal error", true},
		{natter.Errorf(natter.EEPOCH, "epoch detail"), 409, natter.EEPOCH, "epoch detail", false},
		{fmt.Errorf("wrapped: %w", natter.Errorf(natter.EUNAVAILABLE, "directory unreachable")), 503, natter.EUNAVAILABLE, "directory unreachable", false},
	} {
		t.Run(tc.code, func(t *testing.T) {
			f := newFixture(t)
			f.dir.err = tc.err
			for _, path := range []string{"/api/rooms", "/api/rooms/general/messages"} {
				body := wantError(t, f.get(t, path, "Bearer tok-alice"), tc.status, tc.code)
				if body.Error.Message != tc.message {
					t.Errorf("%s: message %q, want %q", path, body.Error.Message, tc.message)
				}
			}
			if tc.wantLogged && !strings.Contains(f.log.String(), tc.err.Error()) {
				t.Errorf("internal error not logged; log:\n%s", f.log.String())
			}
		})
	}
}
