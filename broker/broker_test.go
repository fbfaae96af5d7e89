package broker

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

func TestOpenIdempotent(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	b := newBroker(t, dir)
	if b.Epoch() == "" {
		t.Fatal("empty epoch")
	}
	if err := b.Ready(testCtx(t)); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	// A second node opening the same stream converges on it.
	ctx := testCtx(t)
	b2, err := Open(ctx, Config{Embedded: b.emb, Replicas: 1, Log: b.log})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b2.Close(ctx); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	if b2.Epoch() != b.Epoch() {
		t.Errorf("second Open epoch %q, want %q", b2.Epoch(), b.Epoch())
	}
	ack := say(t, b.Broker, "a", "x")
	if last, err := b2.LastSeq(ctx, "a"); err != nil || last != ack.Seq {
		t.Errorf("second broker LastSeq = %d, %v; want %d", last, err, ack.Seq)
	}
}

func TestOpenWithoutServer(t *testing.T) {
	if _, err := Open(testCtx(t), Config{}); err == nil {
		t.Error("Open with neither embedded server nor URLs succeeded")
	}
	if _, err := StartEmbedded(EmbeddedConfig{}); err == nil {
		t.Error("StartEmbedded without a data dir succeeded")
	}
}

func TestRestart(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	ctx := testCtx(t)
	b := newBroker(t, dir)
	epoch := b.Epoch()
	room := natter.Room{ID: "a", Kind: natter.Private, Owner: "alice"}
	if _, _, err := b.CreateRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	if err := b.AddMember(ctx, "a", "alice"); err != nil {
		t.Fatal(err)
	}
	_, texts := interleave(t, b.Broker, 3)
	before, _ := readAll(t, b.Broker, "a", 0, 0)
	cur, _, err := b.AdvanceCursor(ctx, "alice", "a", before[2].Seq, before[1].Seq)
	if err != nil {
		t.Fatal(err)
	}
	b.close()

	b = newBroker(t, dir)
	if b.Epoch() != epoch {
		t.Errorf("epoch after restart %q, want %q", b.Epoch(), epoch)
	}
	after, _ := readAll(t, b.Broker, "a", 0, 0)
	checkChain(t, after, "a", 0, texts)
	if !reflect.DeepEqual(after, before) {
		t.Errorf("messages after restart %+v\nbefore %+v", after, before)
	}
	if r, err := b.Room(ctx, "a"); err != nil || !reflect.DeepEqual(r, room) {
		t.Errorf("Room after restart = %+v, %v; want %+v", r, err, room)
	}
	if ok, err := b.IsMember(ctx, "a", "alice"); err != nil || !ok {
		t.Errorf("IsMember after restart = %v, %v", ok, err)
	}
	if rooms, err := b.UserRooms(ctx, "alice"); err != nil || !reflect.DeepEqual(rooms, []natter.RoomID{"a"}) {
		t.Errorf("UserRooms after restart = %v, %v", rooms, err)
	}
	if c, err := b.Cursor(ctx, "alice", "a"); err != nil || c != cur {
		t.Errorf("Cursor after restart = %+v, %v; want %+v", c, err, cur)
	}
	// Sequences continue, and a resend within the window is still a duplicate.
	if ack := say(t, b.Broker, "a", "a3"); ack.Seq != 7 || ack.Duplicate {
		t.Errorf("first publish after restart: %+v, want seq 7", ack)
	}
	if ack := publish(t, b.Broker, Draft{Room: "a", From: "u", ClientID: "a0", Text: "a0"}); !ack.Duplicate || ack.Seq != before[0].Seq {
		t.Errorf("resend after restart: %+v, want duplicate of seq %d", ack, before[0].Seq)
	}
}
