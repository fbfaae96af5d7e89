package broker

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/natter-chat/natter"
)

func TestPublishAckSequence(t *testing.T) {
	b := start(t)
	p := newPublisher(t, b.Broker)
	for i := range 20 {
		room := natter.RoomID("a")
		if i%3 == 0 {
			room = "b"
		}
		p.send(Draft{Room: room, From: "alice", ClientID: fmt.Sprint(i), Text: fmt.Sprint("hello ", i)})
	}
	results := p.wait()
	for i, r := range results {
		if r.calls != 1 {
			t.Errorf("publish %d: done called %d times", i, r.calls)
		}
		if r.ack.Duplicate {
			t.Errorf("publish %d: Duplicate on a first send", i)
		}
		if r.ack.Epoch != b.Epoch() || r.ack.Epoch == "" {
			t.Errorf("publish %d: epoch %q, want %q", i, r.ack.Epoch, b.Epoch())
		}
		// One connection, so the stream stores in publish order.
		if want := uint64(i + 1); r.ack.Seq != want {
			t.Errorf("publish %d: seq %d, want %d", i, r.ack.Seq, want)
		}
	}
}

func TestPublishStoresDraft(t *testing.T) {
	b := start(t)
	ack := publish(t, b.Broker, Draft{Room: "r", From: "alice", ClientID: "c1", Text: "héllo\n\"world\""})
	got, _ := readAll(t, b.Broker, "r", 0, 0)
	if len(got) != 1 {
		t.Fatalf("room holds %d messages, want 1", len(got))
	}
	m := got[0]
	want := natter.Message{Room: "r", Seq: ack.Seq, Prev: 0, Epoch: b.Epoch(), From: "alice", Text: "héllo\n\"world\"", ClientID: "c1", Time: m.Time}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("stored %+v\nwant     %+v", m, want)
	}
	if m.Time.IsZero() || m.Time.Location().String() != "UTC" {
		t.Errorf("message time %v: want a UTC stream timestamp", m.Time)
	}
}

func TestPublishDeduplication(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	orig := Draft{Room: "r", From: "alice", ClientID: "same", Text: "one"}
	tests := []struct {
		name    string
		draft   Draft
		dup     bool
		inRoom  natter.RoomID
		stored  int // messages in inRoom afterwards
		sameSeq bool
	}{
		{"resend", orig, true, "r", 1, true},
		{"resend with other text", Draft{Room: "r", From: "alice", ClientID: "same", Text: "changed"}, true, "r", 1, true},
		{"other user", Draft{Room: "r", From: "bob", ClientID: "same", Text: "two"}, false, "r", 2, false},
		{"other room", Draft{Room: "r2", From: "alice", ClientID: "same", Text: "three"}, false, "r2", 1, false},
		{"other client id", Draft{Room: "r", From: "alice", ClientID: "same2", Text: "four"}, false, "r", 3, false},
	}
	first := publish(t, b.Broker, orig)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPublisher(t, b.Broker)
			p.send(tt.draft)
			r := p.wait()[0]
			if r.calls != 1 {
				t.Errorf("done called %d times", r.calls)
			}
			if r.ack.Duplicate != tt.dup {
				t.Errorf("Duplicate = %v, want %v", r.ack.Duplicate, tt.dup)
			}
			if (r.ack.Seq == first.Seq) != tt.sameSeq {
				t.Errorf("seq %d, original %d: same = %v, want %v", r.ack.Seq, first.Seq, r.ack.Seq == first.Seq, tt.sameSeq)
			}
			n := 0
			if _, err := b.ReadRoom(ctx, tt.inRoom, 0, 0, func(natter.Message) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			if n != tt.stored {
				t.Errorf("room %s holds %d messages, want %d", tt.inRoom, n, tt.stored)
			}
		})
	}
	// The stored message is the original, not a resend's text.
	got, _ := readAll(t, b.Broker, "r", 0, 0)
	if len(got) == 0 || got[0].Seq != first.Seq || got[0].Text != "one" {
		t.Errorf("messages of r: %v, want the first to be %q", textsOf(got), "one")
	}
}

// Resends racing with the original (a client retrying before its ack came
// back) are still stored once, and every done is called exactly once.
func TestPublishConcurrentResends(t *testing.T) {
	b := start(t)
	p := newPublisher(t, b.Broker)
	d := Draft{Room: "r", From: "alice", ClientID: "retry", Text: "x"}
	for range 50 {
		p.send(d)
	}
	results := p.wait()
	dups := 0
	for i, r := range results {
		if r.calls != 1 {
			t.Errorf("publish %d: done called %d times", i, r.calls)
		}
		if r.ack.Seq != results[0].ack.Seq {
			t.Errorf("publish %d: seq %d, want %d", i, r.ack.Seq, results[0].ack.Seq)
		}
		if r.ack.Duplicate {
			dups++
		}
	}
	if dups != len(results)-1 {
		t.Errorf("%d duplicates, want %d", dups, len(results)-1)
	}
	if got, _ := readAll(t, b.Broker, "r", 0, 0); len(got) != 1 {
		t.Errorf("room holds %d messages, want 1", len(got))
	}
}

func TestPublishAfterClose(t *testing.T) {
	b := start(t)
	b.close()
	called := false
	err := b.Publish(context.Background(), Draft{Room: "r", From: "alice", ClientID: "c", Text: "late"}, func(Ack, error) { called = true })
	if natter.ErrorCode(err) != natter.EUNAVAILABLE {
		t.Errorf("Publish after Close: %v, want code %s", err, natter.EUNAVAILABLE)
	}
	if called {
		t.Error("done called although Publish returned an error")
	}
	if n := countPending(b.Broker); n != 0 {
		t.Errorf("%d publishes left pending", n)
	}
}

func countPending(b *Broker) int {
	n := 0
	b.pending.Range(func(_, _ any) bool { n++; return true })
	return n
}

func TestPublishEventNotStored(t *testing.T) {
	b := start(t)
	if err := b.PublishEvent("r", []byte(`{"typing":true}`)); err != nil {
		t.Fatal(err)
	}
	if last, err := b.LastSeq(testCtx(t), "r"); err != nil || last != 0 {
		t.Errorf("LastSeq after an event = %d, %v; want 0", last, err)
	}
}

func TestMsgID(t *testing.T) {
	// Users and rooms cannot contain '/', so these never collide.
	a := MsgID(Draft{From: "u", Room: "r", ClientID: "x/y"})
	c := MsgID(Draft{From: "u", Room: "r/x", ClientID: "y"})
	if a != "u/r/x/y" {
		t.Errorf("MsgID = %q", a)
	}
	if err := natter.RoomID("r/x").Validate(); err == nil {
		t.Errorf("room id %q accepted, so %q and %q could collide", "r/x", a, c)
	}
}
