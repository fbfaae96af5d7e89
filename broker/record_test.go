package broker

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

// Every record kind is stored with its fields and read back, by a replay
// and by a direct get, as the natter.Message it was published as.
func TestRecordKindsRoundTrip(t *testing.T) {
	b := start(t)
	topic, name := "plans", ""
	msg := publish(t, b.Broker, Draft{Room: "r", From: "alice", ClientID: "m1", Text: "hi @bob"})
	drafts := []Draft{
		{Room: "r", From: "bob", ClientID: "m2", Text: "reply", Record: Record{ReplyTo: msg.Seq, Thread: msg.Seq, AlsoRoom: true, Mentions: []natter.UserID{"alice", natter.RoomMention}}},
		{Room: "r", From: "alice", ClientID: "e1", Text: "hi @bob!", Record: Record{Kind: natter.KindEdit, Target: msg.Seq}},
		{Room: "r", From: "bob", ClientID: "x1", Record: Record{Kind: natter.KindReact, Target: msg.Seq, Emoji: "👍"}},
		{Room: "r", From: "bob", ClientID: "x2", Record: Record{Kind: natter.KindReact, Target: msg.Seq, Emoji: "👍", Remove: true}},
		{Room: "r", From: "alice", ClientID: "t1", Record: Record{Kind: natter.KindTopic, Topic: &topic, Name: &name}},
		{Room: "r", From: "alice", ClientID: "d1", Record: Record{Kind: natter.KindDelete, Target: msg.Seq}},
	}
	var acks []Ack
	for _, d := range drafts {
		acks = append(acks, publish(t, b.Broker, d))
	}
	got, _ := readAll(t, b.Broker, "r", msg.Seq, 0)
	if len(got) != len(drafts) {
		t.Fatalf("read %d records, want %d", len(got), len(drafts))
	}
	for i, d := range drafts {
		m := got[i]
		want := natter.Message{Room: "r", Seq: acks[i].Seq, Prev: m.Prev, Epoch: b.Epoch(), From: d.From, Text: d.Text, ClientID: d.ClientID, Time: m.Time,
			Kind: d.Kind, Target: d.Target, ReplyTo: d.ReplyTo, Thread: d.Thread, AlsoRoom: d.AlsoRoom, Mentions: d.Mentions,
			Emoji: d.Emoji, Remove: d.Remove, Topic: d.Topic, Name: d.Name}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("record %d read as\n%+v\nwant\n%+v", i, m, want)
		}
		one, err := b.Record(testCtx(t), "r", m.Seq)
		if err != nil {
			t.Fatal(err)
		}
		one.Prev = m.Prev
		if !reflect.DeepEqual(one, m) {
			t.Errorf("direct get of %d: %+v, replay %+v", m.Seq, one, m)
		}
	}
	if _, err := b.Record(testCtx(t), "other", msg.Seq); natter.ErrorCode(err) != natter.ENOTFOUND {
		t.Errorf("record of another room: %v, want not_found", err)
	}
	if _, err := b.Record(testCtx(t), "r", acks[len(acks)-1].Seq+100); natter.ErrorCode(err) != natter.ENOTFOUND {
		t.Errorf("record past the end: %v, want not_found", err)
	}
}

// A body written before records had kinds reads as a message.
func TestRecordOldBodyIsMessage(t *testing.T) {
	m, err := decodeBody("r", 5, 4, time.Now(), "e", []byte(`{"from":"a","text":"old","cid":"c"}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != natter.KindMessage || m.Text != "old" || m.Target != 0 || m.Mentions != nil {
		t.Errorf("old body read as %+v", m)
	}
}

// Erase removes a record's bytes from the stream: neither a direct get nor
// a replay finds it, the records around it keep their order, and erasing
// again is no error.
func TestEraseRemovesRecord(t *testing.T) {
	b := start(t)
	a := say(t, b.Broker, "r", "keep 1")
	secret := say(t, b.Broker, "r", "the secret text")
	c := say(t, b.Broker, "r", "keep 2")
	if err := b.Erase(testCtx(t), secret.Seq); err != nil {
		t.Fatal(err)
	}
	if err := b.Erase(testCtx(t), secret.Seq); err != nil {
		t.Fatalf("second erase: %v", err)
	}
	if _, err := b.Record(testCtx(t), "r", secret.Seq); natter.ErrorCode(err) != natter.ENOTFOUND {
		t.Errorf("erased record: %v, want not_found", err)
	}
	got, _ := readAll(t, b.Broker, "r", 0, 0)
	if len(got) != 2 || got[0].Seq != a.Seq || got[1].Seq != c.Seq || got[1].Prev != a.Seq {
		t.Errorf("after erase the room reads %+v", got)
	}
	for _, m := range got {
		if strings.Contains(m.Text, "secret") {
			t.Errorf("erased text read back: %+v", m)
		}
	}
	// The leader has nothing between a and c now, but has c.
	if more, err := b.HasRecords(testCtx(t), "r", a.Seq, secret.Seq); err != nil || more {
		t.Errorf("records in (%d, %d] after the erase: %v %v", a.Seq, secret.Seq, more, err)
	}
	if more, err := b.HasRecords(testCtx(t), "r", a.Seq, c.Seq); err != nil || !more {
		t.Errorf("records in (%d, %d]: %v %v, want c", a.Seq, c.Seq, more, err)
	}
}

// LastMessage skips the change records after a room's last message, also
// beyond the first window.
func TestLastMessage(t *testing.T) {
	b := start(t)
	if seq, err := b.LastMessage(testCtx(t), "r", 0); err != nil || seq != 0 {
		t.Fatalf("empty room: %d, %v", seq, err)
	}
	m := say(t, b.Broker, "r", "m")
	var last Ack
	for i := 0; i < 70; i++ {
		last = publish(t, b.Broker, Draft{Room: "r", From: "u", ClientID: "x" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Record: Record{Kind: natter.KindReact, Target: m.Seq, Emoji: "👍", Remove: i%2 == 1}})
	}
	seq, err := b.LastMessage(testCtx(t), "r", last.Seq)
	if err != nil || seq != m.Seq {
		t.Errorf("LastMessage = %d, %v; want %d", seq, err, m.Seq)
	}
}

// The message state is filled from the stream on first use, refuses change
// records as targets, and serialises racing changes: of 8 concurrent
// reactions every one is counted once.
func TestMsgStateCompareAndSwap(t *testing.T) {
	b := start(t)
	m := publish(t, b.Broker, Draft{Room: "r", From: "alice", ClientID: "m", Text: "t", Record: Record{Thread: 0}})
	edit := publish(t, b.Broker, Draft{Room: "r", From: "alice", ClientID: "e", Text: "t2", Record: Record{Kind: natter.KindEdit, Target: m.Seq}})
	st, err := b.MsgState(testCtx(t), "r", m.Seq)
	if err != nil || st.From != "alice" || st.Deleted {
		t.Fatalf("state %+v, %v", st, err)
	}
	if _, err := b.MsgState(testCtx(t), "r", edit.Seq); natter.ErrorCode(err) != natter.ENOTFOUND {
		t.Errorf("state of an edit record: %v, want not_found", err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(u natter.UserID) {
			defer wg.Done()
			_, err := b.ChangeMsg(testCtx(t), "r", m.Seq, func(s *MsgState) error {
				if len(s.Reactions) == 0 {
					s.Reactions = []Reaction{{Emoji: "👍"}}
				}
				s.Reactions[0].Users = append(s.Reactions[0].Users, u)
				s.AddChange(Change{Kind: natter.KindReact, From: u, CID: "c"})
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}(natter.UserID("u" + string(rune('a'+i))))
	}
	wg.Wait()
	st, _ = b.MsgState(testCtx(t), "r", m.Seq)
	if st.Pairs() != 8 {
		t.Errorf("%d reactions counted, want 8", st.Pairs())
	}
	if n := len(st.Changes); n != 8 {
		t.Errorf("%d changes remembered, want 8", n)
	}
	if _, ok := st.Change("ub", "c"); !ok {
		t.Error("a reaction change is not found by its client id")
	}
}

// The archive's backstop erases what a tombstone's edge did not: the
// message and its edits, and an edit stored after the tombstone.
func TestEraseDeletedBackstop(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	m := say(t, b.Broker, "r", "secret")
	e := publish(t, b.Broker, Draft{Room: "r", From: "u", ClientID: "e", Text: "secret 2", Record: Record{Kind: natter.KindEdit, Target: m.Seq}})
	if _, err := b.ChangeMsg(ctx, "r", m.Seq, func(s *MsgState) error {
		s.Deleted = true
		s.AddChange(Change{Kind: natter.KindEdit, From: "u", CID: "e", Seq: e.Seq})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	d := publish(t, b.Broker, Draft{Room: "r", From: "u", ClientID: "d", Record: Record{Kind: natter.KindDelete, Target: m.Seq}})
	late := publish(t, b.Broker, Draft{Room: "r", From: "u", ClientID: "late", Text: "secret 3", Record: Record{Kind: natter.KindEdit, Target: m.Seq}})
	recs, _ := readAll(t, b.Broker, "r", 0, 0)
	b.eraseDeleted(ctx, recs)
	got, _ := readAll(t, b.Broker, "r", 0, 0)
	if len(got) != 1 || got[0].Seq != d.Seq {
		t.Errorf("after the backstop the room holds %+v, want only the tombstone %d (late edit %d)", got, d.Seq, late.Seq)
	}
}
