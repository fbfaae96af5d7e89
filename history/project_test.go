package history

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

var projBase = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// rec builds record seq of room "general" from f at projBase+seq seconds.
func rec(seq uint64, from natter.UserID, kind string, target uint64, text string) natter.Message {
	return natter.Message{
		Room: "general", Seq: seq, Epoch: "e1", From: from, Kind: kind, Target: target, Text: text,
		ClientID: "c" + string(rune('a'+seq)), Time: projBase.Add(time.Duration(seq) * time.Second),
	}
}

func at(seq uint64) time.Time { return projBase.Add(time.Duration(seq) * time.Second) }

func strp(s string) *string { return &s }

// scenario is a room's records of every kind, including changes to
// targets the archive never holds (16–18) and a deleted message whose
// texts must leave the file (12, 13).
func scenario() []natter.Message {
	msgs := []natter.Message{
		rec(1, "alice", "", 0, "hello @bob"),
		rec(2, "bob", "", 0, "root of a thread"),
		rec(3, "carol", "", 0, "in thread one"),
		rec(4, "alice", "", 0, "in thread two, also in the room"),
		rec(5, "alice", natter.KindEdit, 1, "hello again @bob"),
		rec(6, "bob", natter.KindReact, 1, ""),
		rec(7, "carol", natter.KindReact, 1, ""),
		rec(8, "carol", natter.KindReact, 1, ""),
		rec(9, "bob", natter.KindReact, 1, ""),
		rec(10, "bob", "", 0, "quoting alice"),
		rec(11, "carol", natter.KindDelete, 3, ""),
		rec(12, "alice", "", 0, "secret-text-xyzzy"),
		rec(13, "alice", natter.KindEdit, 12, "secret-edit-plugh"),
		rec(14, "alice", natter.KindDelete, 12, ""),
		rec(15, "alice", natter.KindTopic, 0, ""),
		rec(16, "bob", natter.KindReact, 99, ""),
		rec(17, "bob", natter.KindEdit, 98, "edit of a message never archived"),
		rec(18, "bob", natter.KindDelete, 97, ""),
		rec(19, "bob", natter.KindTopic, 0, ""),
		rec(20, "carol", "", 0, "@room look"),
	}
	msgs[0].Mentions = []natter.UserID{"bob"}
	msgs[2].Thread = 2
	msgs[3].Thread, msgs[3].AlsoRoom = 2, true
	msgs[4].Mentions = []natter.UserID{"bob"}
	msgs[5].Emoji, msgs[6].Emoji, msgs[7].Emoji, msgs[8].Emoji = "👍", "👍", "🎉", "👍"
	msgs[8].Remove = true
	msgs[9].ReplyTo = 1
	msgs[14].Topic, msgs[14].Name = strp("the topic"), strp("General")
	msgs[15].Emoji = "👀"
	msgs[18].Name = strp("General chat")
	msgs[19].Mentions = []natter.UserID{natter.RoomMention}
	return msgs
}

// projection is everything the API serves about room "general".
type projection struct {
	Page     []Message
	Thread   []Message
	Details  map[uint64]messageDetail
	Activity map[natter.UserID]Activity
	Unread   map[natter.UserID]int
}

func project(t *testing.T, s *Store) projection {
	t.Helper()
	ctx := context.Background()
	var p projection
	var err error
	if p.Page, _, err = s.page(ctx, "general", 0, Query{Before: 1 << 62, Limit: MaxPageSize}); err != nil {
		t.Fatal(err)
	}
	if p.Thread, _, err = s.ThreadPage(ctx, "general", 2, Query{After: 0}); err != nil {
		t.Fatal(err)
	}
	p.Details = map[uint64]messageDetail{}
	for _, seq := range []uint64{1, 2, 3, 4, 10, 12, 20} {
		m, h, err := s.Get(ctx, "general", seq)
		if err != nil {
			t.Fatalf("Get %d: %v", seq, err)
		}
		p.Details[seq] = messageDetail{m, h}
	}
	p.Activity, p.Unread = map[natter.UserID]Activity{}, map[natter.UserID]int{}
	for _, u := range []natter.UserID{"alice", "bob", "carol"} {
		if p.Activity[u], err = s.Activity(ctx, "general", 0, u); err != nil {
			t.Fatal(err)
		}
		if p.Unread[u], err = s.Unread(ctx, "general", 0, u); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func pageSeqs(msgs []Message) []uint64 { return seqs(records(msgs)) }

func TestProjection(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	if err := s.SetEpoch(ctx, "e1"); err != nil {
		t.Fatal(err)
	}
	unseen, err := s.AppendThrough(ctx, 20, scenario())
	if err != nil {
		t.Fatal(err)
	}
	if unseen != 1 {
		t.Errorf("unseen tombstones = %d, want 1 (of 97)", unseen)
	}
	p := project(t, s)

	// Room page: messages only, thread replies only with also_room.
	if got, want := pageSeqs(p.Page), []uint64{1, 2, 4, 10, 12, 20}; !reflect.DeepEqual(got, want) {
		t.Fatalf("room page seqs %v, want %v", got, want)
	}
	m1 := p.Details[1]
	if m1.Text != "hello again @bob" || m1.Edited == nil || !m1.Edited.Equal(at(5)) {
		t.Errorf("edited message: text %q edited %v", m1.Text, m1.Edited)
	}
	if want := []Version{{"hello @bob", at(1)}}; !reflect.DeepEqual(m1.History, want) {
		t.Errorf("history %+v, want %+v", m1.History, want)
	}
	wantReactions := []Reaction{{"👍", 1, []natter.UserID{"carol"}}, {"🎉", 1, []natter.UserID{"carol"}}}
	if !reflect.DeepEqual(m1.Reactions, wantReactions) {
		t.Errorf("reactions %+v, want %+v", m1.Reactions, wantReactions)
	}
	root := p.Details[2]
	want := &ThreadSummary{Replies: 1, Last: at(4), Participants: []natter.UserID{"alice"}}
	if !reflect.DeepEqual(root.ThreadSummary, want) {
		t.Errorf("thread summary %+v, want %+v (the deleted reply does not count)", root.ThreadSummary, want)
	}
	if got := pageSeqs(p.Thread); !reflect.DeepEqual(got, []uint64{3, 4}) {
		t.Errorf("thread page %v, want [3 4]", got)
	}
	if r := p.Details[10].Reply; r == nil || *r != (Quote{Seq: 1, From: "alice", Text: "hello again @bob"}) {
		t.Errorf("reply quote %+v", r)
	}
	for _, seq := range []uint64{3, 12} {
		d := p.Details[seq]
		if !d.Deleted || d.Text != "" || len(d.History) != 0 || d.Mentions != nil || d.Reactions != nil {
			t.Errorf("deleted %d: %+v", seq, d)
		}
	}
	if d := p.Details[12]; d.DeletedBy != "alice" {
		t.Errorf("deleted_by %q", d.DeletedBy)
	}
	if a := p.Activity["bob"]; a.Mentions != 2 || a.Topic != "the topic" || a.Name != "General chat" ||
		a.LastTime == nil || !a.LastTime.Equal(at(20)) {
		t.Errorf("bob's activity %+v, want 2 mentions (his and @room), topic, name, last at 20", a)
	}
	if a := p.Activity["carol"]; a.Mentions != 0 {
		t.Errorf("carol's own @room counts for her: %+v", a)
	}
	if a := p.Activity["alice"]; a.Mentions != 1 {
		t.Errorf("alice's mentions %d, want 1 (@room)", a.Mentions)
	}
	if want := map[natter.UserID]int{"alice": 3, "bob": 3, "carol": 4}; !reflect.DeepEqual(p.Unread, want) {
		t.Errorf("unread %v, want %v", p.Unread, want)
	}

	// Redelivered: nothing changes.
	if _, err := s.AppendThrough(ctx, 20, scenario()); err != nil {
		t.Fatal(err)
	}
	if again := project(t, s); !reflect.DeepEqual(again, p) {
		t.Errorf("redelivery changed the projection:\n%+v\n%+v", again, p)
	}

	// The deleted texts are gone from the database files, not only hidden.
	s.Close()
	for _, name := range []string{"history.db", "history.db-wal"} {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(path), name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, secret := range []string{"secret-text-xyzzy", "secret-edit-plugh", "in thread one"} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s still holds %q", name, secret)
			}
		}
	}
}

// The projection does not depend on the order records are stored in: an
// audit's repair may store old records after newer ones.
func TestProjectionOrderIndependent(t *testing.T) {
	ctx := context.Background()
	ref, _ := openStore(t)
	if err := ref.Append(ctx, scenario()); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(project(t, ref))
	for seed := range uint64(8) {
		s, _ := openStore(t)
		msgs := scenario()
		rand.New(rand.NewPCG(seed, 7)).Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
		for _, m := range msgs {
			if err := s.Append(ctx, []natter.Message{m}); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := json.Marshal(project(t, s)); !bytes.Equal(got, want) {
			t.Fatalf("seed %d, order %v:\n got %s\nwant %s", seed, seqs(msgs), got, want)
		}
	}
}

// A deletion erases its target and the target's edits from the stream but
// not from the archive's chain: the audit compares only rows that are not
// erased, and a repair from the stream's chain (which skips the erased
// records) keeps the archive's chain whole.
func TestRepairKeepsErasedRecordsInChain(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	msgs := scenario()
	var prev uint64
	for i := range msgs {
		msgs[i].Prev, prev = prev, msgs[i].Seq
	}
	if err := s.Append(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	// The stream after the deletions: 3, 12 and 13 erased, Prev skipping them.
	var streamChain []natter.Message
	prev = 0
	for _, m := range msgs {
		if m.Seq == 3 || m.Seq == 12 || m.Seq == 13 {
			continue
		}
		m.Prev, prev = prev, m.Seq
		streamChain = append(streamChain, m)
	}
	counts, err := s.RoomCounts(ctx, 1, 20)
	if err != nil || counts["general"] != uint64(len(streamChain)) {
		t.Fatalf("archive counts %v, %v; want the stream's %d", counts, err, len(streamChain))
	}
	inserted, corrected, err := s.Repair(ctx, streamChain)
	if err != nil || inserted != 0 || corrected != 0 {
		t.Fatalf("repair = %d inserted, %d corrected, %v; want nothing to do", inserted, corrected, err)
	}
	if broken, err := s.BrokenChains(ctx, 1); err != nil || len(broken) != 0 {
		t.Fatalf("broken chains %v, %v", broken, err)
	}
}

// A deleted thread root keeps its thread: the replies and their summary.
func TestDeletedRootKeepsThread(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	root, reply := rec(1, "alice", "", 0, "root"), rec(2, "bob", "", 0, "reply")
	reply.Thread = 1
	if err := s.Append(ctx, []natter.Message{root, reply, rec(3, "alice", natter.KindDelete, 1, "")}); err != nil {
		t.Fatal(err)
	}
	m, _, err := s.Get(ctx, "general", 1)
	want := &ThreadSummary{Replies: 1, Last: at(2), Participants: []natter.UserID{"bob"}}
	if err != nil || !m.Deleted || !reflect.DeepEqual(m.ThreadSummary, want) {
		t.Fatalf("deleted root %+v, %v; want summary %+v", m, err, want)
	}
	replies, _, err := s.ThreadPage(ctx, "general", 1, Query{})
	if err != nil || len(replies) != 1 || replies[0].Text != "reply" {
		t.Fatalf("thread of the deleted root: %+v, %v", replies, err)
	}
}
