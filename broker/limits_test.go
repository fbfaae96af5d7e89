package broker

import (
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A stream created by an earlier version (no per-message TTLs) is updated
// to take them when a node opens it, keeping its messages and its epoch;
// per-message TTLs then expire messages.
func TestOpenEnablesMsgTTLOnOldStream(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	ctx := testCtx(t)
	emb, err := StartEmbedded(EmbeddedConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("", nats.InProcessServer(emb.srv))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: StreamName, Subjects: []string{roomWildcard}, Storage: jetstream.FileStorage,
		MaxMsgs: -1, MaxBytes: -1, Duplicates: DefaultDuplicateWindow, AllowDirect: true,
		RePublish: &jetstream.RePublish{Source: roomWildcard, Destination: liveTemplate},
	})
	if err != nil {
		t.Fatal(err)
	}
	oldEpoch := strconv.FormatInt(st.CachedInfo().Created.UnixNano(), 36)
	if _, err := js.Publish(ctx, roomSubject("a"), []byte(`{"from":"u","text":"old","cid":"o"}`)); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	emb.Shutdown()

	b := newBroker(t, dir)
	if !b.MsgTTL() || b.Epoch() != oldEpoch {
		t.Fatalf("after Open: msg TTL %v, epoch %q (was %q)", b.MsgTTL(), b.Epoch(), oldEpoch)
	}
	if last, err := b.LastSeq(ctx, "a"); err != nil || last != 1 {
		t.Fatalf("the old message: last %d, %v", last, err)
	}
	publish(t, b.Broker, Draft{Room: "b", From: "u", ClientID: "t", Text: "brief", TTL: time.Second})
	deadline := time.Now().Add(15 * time.Second)
	for {
		last, err := b.LastSeq(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		if last == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a message with a 1s TTL is still in the stream after 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SweepRoom purges a room's messages stored before the cutoff, and only
// those of that room.
func TestSweepRoom(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	say(t, b.Broker, "a", "1")
	say(t, b.Broker, "a", "2")
	say(t, b.Broker, "other", "x")
	cutoff := time.Now()
	time.Sleep(10 * time.Millisecond) // a later timestamp than the cutoff
	keep := say(t, b.Broker, "a", "3")
	n, err := b.SweepRoom(ctx, "a", cutoff)
	if err != nil || n != 2 {
		t.Fatalf("SweepRoom: %d, %v; want 2", n, err)
	}
	msgs, _ := readAll(t, b.Broker, "a", 0, 0)
	if len(msgs) != 1 || msgs[0].Seq != keep.Seq {
		t.Errorf("room a after the sweep: %+v", msgs)
	}
	if last, _ := b.LastSeq(ctx, "other"); last == 0 {
		t.Error("another room's message was purged")
	}
	if n, err := b.SweepRoom(ctx, "a", cutoff); err != nil || n != 0 {
		t.Errorf("second sweep: %d, %v", n, err)
	}
	// A cutoff after the last message purges the room.
	if n, err := b.SweepRoom(ctx, "a", time.Now().Add(time.Second)); err != nil || n != 1 {
		t.Errorf("sweep of everything: %d, %v", n, err)
	}
}
