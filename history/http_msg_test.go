package history

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/natter-chat/natter"
)

// newScenarioFixture serves the projection scenario's room "general"
// (members alice, bob, carol) and a private room only alice is in.
func newScenarioFixture(t *testing.T) *fixture {
	t.Helper()
	s, _ := openStore(t)
	ctx := context.Background()
	if err := s.SetEpoch(ctx, "e1"); err != nil {
		t.Fatal(err)
	}
	secret := rec(21, "alice", "", 0, "alice's private note")
	secret.Room = "secret"
	if err := s.Append(ctx, append(scenario(), secret)); err != nil {
		t.Fatal(err)
	}
	dir := &directory{
		rooms: map[natter.RoomID]natter.Room{
			"general": {ID: "general", Kind: natter.Public},
			"secret":  {ID: "secret", Kind: natter.Private, Owner: "alice"},
		},
		members: map[natter.RoomID][]natter.UserID{
			"general": {"alice", "bob", "carol"},
			"secret":  {"alice"},
		},
	}
	srv := httptest.NewServer(NewHandler(s, dir, tokens{"tok-alice": "alice", "tok-bob": "bob", "tok-dave": "dave"}, nil))
	t.Cleanup(srv.Close)
	return &fixture{url: srv.URL, store: s, dir: dir}
}

func decode[T any](t *testing.T, res response) T {
	t.Helper()
	var v T
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	if err := json.Unmarshal(res.body, &v); err != nil {
		t.Fatalf("%s: %v", res.body, err)
	}
	return v
}

func TestMessageEndpoint(t *testing.T) {
	f := newScenarioFixture(t)
	d := decode[messageDetail](t, f.get(t, "/api/rooms/general/messages/1", "Bearer tok-bob"))
	if d.Text != "hello again @bob" || d.Edited == nil || len(d.History) != 1 || d.History[0].Text != "hello @bob" || len(d.Reactions) != 2 {
		t.Fatalf("message 1 = %+v", d)
	}
	d = decode[messageDetail](t, f.get(t, "/api/rooms/general/messages/12", "Bearer tok-bob"))
	if !d.Deleted || d.DeletedBy != "alice" || d.Text != "" || d.History == nil || len(d.History) != 0 {
		t.Fatalf("deleted message 12 = %+v", d)
	}
	// Raw JSON: "history" is [] (not absent) and the deleted text is absent.
	if res := f.get(t, "/api/rooms/general/messages/12", "Bearer tok-bob"); !json.Valid(res.body) ||
		!containsAll(string(res.body), `"history":[]`, `"deleted":true`, `"deleted_by":"alice"`) {
		t.Fatalf("body %s", res.body)
	}
	for path, want := range map[string]struct {
		token  string
		status int
		code   string
	}{
		"/api/rooms/general/messages/5":         {"Bearer tok-bob", http.StatusNotFound, natter.ENOTFOUND}, // an edit record
		"/api/rooms/general/messages/999":       {"Bearer tok-bob", http.StatusNotFound, natter.ENOTFOUND},
		"/api/rooms/general/messages/0":         {"Bearer tok-bob", http.StatusBadRequest, natter.EINVALID},
		"/api/rooms/general/messages/x":         {"Bearer tok-bob", http.StatusBadRequest, natter.EINVALID},
		"/api/rooms/general/messages/1":         {"Bearer tok-dave", http.StatusForbidden, natter.EFORBIDDEN},
		"/api/rooms/secret/messages/21":         {"Bearer tok-bob", http.StatusForbidden, natter.EFORBIDDEN},
		"/api/rooms/nothere/messages/21":        {"Bearer tok-bob", http.StatusForbidden, natter.EFORBIDDEN},
		"/api/rooms/general/messages/2":         {"", http.StatusUnauthorized, natter.EUNAUTHORIZED},
		"/api/rooms/general/threads/1":          {"Bearer tok-dave", http.StatusForbidden, natter.EFORBIDDEN},
		"/api/rooms/general/threads/5":          {"Bearer tok-bob", http.StatusNotFound, natter.ENOTFOUND},
		"/api/rooms/general/threads/2?before=0": {"Bearer tok-bob", http.StatusBadRequest, natter.EINVALID},
	} {
		t.Run(path, func(t *testing.T) { wantError(t, f.get(t, path, want.token), want.status, want.code) })
	}
}

func TestThreadEndpoint(t *testing.T) {
	f := newScenarioFixture(t)
	p := decode[threadPage](t, f.get(t, "/api/rooms/general/threads/2", "Bearer tok-bob"))
	if p.Room != "general" || p.Root.Seq != 2 || p.Root.ThreadSummary == nil || p.Root.ThreadSummary.Replies != 1 || p.HasMore {
		t.Fatalf("thread page %+v", p)
	}
	if got := pageSeqs(p.Messages); !reflect.DeepEqual(got, []uint64{3, 4}) {
		t.Fatalf("replies %v, want [3 4]", got)
	}
	p = decode[threadPage](t, f.get(t, "/api/rooms/general/threads/2?after=0&limit=1", "Bearer tok-bob"))
	if got := pageSeqs(p.Messages); !reflect.DeepEqual(got, []uint64{3}) || !p.HasMore {
		t.Fatalf("first page of one: %v more %v", got, p.HasMore)
	}
	p = decode[threadPage](t, f.get(t, "/api/rooms/general/threads/2?after=3&limit=1", "Bearer tok-bob"))
	if got := pageSeqs(p.Messages); !reflect.DeepEqual(got, []uint64{4}) || p.HasMore {
		t.Fatalf("second page of one: %v more %v", got, p.HasMore)
	}
	// A message without replies is a thread of none.
	p = decode[threadPage](t, f.get(t, "/api/rooms/general/threads/10", "Bearer tok-bob"))
	if p.Root.Seq != 10 || p.Messages == nil || len(p.Messages) != 0 {
		t.Fatalf("empty thread %+v", p)
	}
	// The room page leaves thread-only replies out.
	page := decode[messagePage](t, f.get(t, "/api/rooms/general/messages", "Bearer tok-bob"))
	if got := pageSeqs(page.Messages); !reflect.DeepEqual(got, []uint64{1, 2, 4, 10, 12, 20}) {
		t.Fatalf("room page %v", got)
	}
}

func TestRoomsActivity(t *testing.T) {
	f := newScenarioFixture(t)
	got := decode[struct{ Rooms []roomSummary }](t, f.get(t, "/api/rooms", "Bearer tok-bob"))
	if len(got.Rooms) != 1 {
		t.Fatalf("bob's rooms %+v", got.Rooms)
	}
	r := got.Rooms[0]
	if r.Mentions != 2 || r.Topic != "the topic" || r.Name != "General chat" || r.LastTime == nil || !r.LastTime.Equal(at(20)) || r.Unread != 3 {
		t.Fatalf("general for bob: %+v", r)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
