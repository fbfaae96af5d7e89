package main

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/natter-chat/natter/edge/wsclient"
	"github.com/natter-chat/natter/history"
)

// Records sent over the WebSocket reach the history API through the real
// stream and archive: pages show each message's current state, the single
// message its edit history, the thread its replies, the room list the
// mentions and topic, search the current text; a deleted message's text is
// gone from the pages, the search and history.db.
func TestHistoryProjectsRecords(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, func(m *Main) { m.Rate, m.Burst = 10000, 10000 })
	ctx := ctxFor(t, 60*time.Second)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")
	alice.join(ctx, "proj", -1, "")
	bob.join(ctx, "proj", -1, "")

	must := func(ev wsclient.Event, err error) uint64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ev.Seq
	}
	root := alice.send(ctx, "proj", "a1", "hello @bob, deploy to 東京 today").Seq
	reply := must(bob.SendReply(ctx, "proj", "b1", "on it", wsclient.Reply{ReplyTo: root}))
	inThread := must(bob.SendReply(ctx, "proj", "b2", "thread detail", wsclient.Reply{Thread: root}))
	must(alice.Edit(ctx, "proj", root, "a2", "hello @bob, deploy to 大阪 today"))
	must(bob.React(ctx, "proj", root, "b3", "👍", false))
	secret := alice.send(ctx, "proj", "a3", "the launch code is xyzzy-plugh").Seq
	must(alice.Delete(ctx, "proj", secret, "a4"))
	topic := "Project room"
	must(alice.SetTopic(ctx, "proj", "a5", &topic, nil))
	last := must(alice.SetTopic(ctx, "proj", "a6", nil, &topic))

	waitFor(t, ctx, func() bool {
		var st struct {
			Rooms []struct {
				LastSeq uint64 `json:"last_seq"`
			}
		}
		s.getJSON(ctx, "bob", "/api/rooms", &st)
		return len(st.Rooms) == 1 && st.Rooms[0].LastSeq >= last
	})

	var p struct{ Messages []history.Message }
	if code := s.getJSON(ctx, "bob", "/api/rooms/proj/messages", &p); code != 200 {
		t.Fatalf("page: %d", code)
	}
	bySeq := map[uint64]history.Message{}
	var order []uint64
	for _, m := range p.Messages {
		bySeq[m.Seq] = m
		order = append(order, m.Seq)
	}
	if want := []uint64{root, reply, secret}; fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("room page %v, want %v (no change records, no thread-only reply)", order, want)
	}
	r := bySeq[root]
	if r.Text != "hello @bob, deploy to 大阪 today" || r.Edited == nil || len(r.Reactions) != 1 ||
		r.Reactions[0].Emoji != "👍" || r.ThreadSummary == nil || r.ThreadSummary.Replies != 1 ||
		len(r.Mentions) != 1 || r.Mentions[0] != "bob" {
		t.Fatalf("root %+v", r)
	}
	if q := bySeq[reply].Reply; q == nil || q.Seq != root || q.Text != r.Text {
		t.Fatalf("reply quote %+v", q)
	}
	if d := bySeq[secret]; !d.Deleted || d.DeletedBy != "alice" || d.Text != "" {
		t.Fatalf("deleted %+v", d)
	}

	var one struct {
		history.Message
		History []history.Version `json:"history"`
	}
	s.getJSON(ctx, "bob", fmt.Sprintf("/api/rooms/proj/messages/%d", root), &one)
	if len(one.History) != 1 || one.History[0].Text != "hello @bob, deploy to 東京 today" {
		t.Fatalf("edit history %+v", one.History)
	}
	var th struct {
		Root     history.Message
		Messages []history.Message
	}
	s.getJSON(ctx, "bob", fmt.Sprintf("/api/rooms/proj/threads/%d", root), &th)
	if th.Root.Seq != root || len(th.Messages) != 1 || th.Messages[0].Seq != inThread {
		t.Fatalf("thread %+v", th)
	}
	var rooms struct {
		Rooms []struct {
			Mentions int
			Topic    string
			Name     string
			LastTS   *time.Time `json:"last_ts"`
		}
	}
	s.getJSON(ctx, "bob", "/api/rooms", &rooms)
	if got := rooms.Rooms[0]; got.Mentions != 1 || got.Topic != topic || got.Name != topic || got.LastTS == nil {
		t.Fatalf("bob's room list entry %+v", got)
	}

	search := func(user, q string) []uint64 {
		t.Helper()
		var res history.SearchResult
		if code := s.getJSON(ctx, user, "/api/search?q="+url.QueryEscape(q), &res); code != 200 {
			t.Fatalf("search %q: %d", q, code)
		}
		var out []uint64
		for _, h := range res.Hits {
			out = append(out, h.Seq)
		}
		return out
	}
	if got := search("bob", "大阪"); len(got) != 1 || got[0] != root {
		t.Fatalf("search 大阪 = %v", got)
	}
	for q, user := range map[string]string{"東京": "bob", "xyzzy": "alice", "deploy": "carol"} {
		if got := search(user, q); len(got) != 0 {
			t.Errorf("%s searching %q found %v", user, q, got)
		}
	}

	s.stop()
	for _, name := range []string{"history.db", "history.db-wal"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("xyzzy-plugh")) {
			t.Errorf("%s still holds the deleted text", name)
		}
	}
}
