package edge

import (
	"fmt"
	"testing"

	"github.com/natter-chat/natter"
)

func fa(seq, prev uint64) frameAt {
	return frameAt{seq: seq, prev: prev, msg: &natter.Message{Seq: seq, Prev: prev}, size: 10} // 10 bytes each
}

func seqs(fas []frameAt) []uint64 {
	var out []uint64
	for _, f := range fas {
		out = append(out, f.seq)
	}
	return out
}

func TestRoomCacheCoversOnlyWhatItHolds(t *testing.T) {
	var rc roomCache
	rc.limit = 50 // five messages
	if _, ok := rc.since(0); ok {
		t.Fatal("an unset cache must cover nothing")
	}
	rc.reset(10)
	if got, ok := rc.since(10); !ok || len(got) != 0 {
		t.Fatalf("empty cache at 10: %v %v", got, ok)
	}
	if _, ok := rc.since(9); ok {
		t.Fatal("position 9 is before the cache")
	}
	// Stream sequences are stream-wide: a room's are not consecutive.
	prev := uint64(10)
	for seq := uint64(12); seq <= 30; seq += 2 {
		rc.add(fa(seq, prev))
		prev = seq
	}
	// Ten added, five kept: 22..30, covering (20, 30].
	if rc.from != 20 || rc.to != 30 {
		t.Fatalf("covers (%d, %d], want (20, 30]", rc.from, rc.to)
	}
	if _, ok := rc.since(18); ok {
		t.Fatal("18 was dropped from the cache and must not be covered")
	}
	got, ok := rc.since(24)
	if !ok || fmt.Sprint(seqs(got)) != "[26 28 30]" {
		t.Fatalf("since 24 = %v %v", seqs(got), ok)
	}
	// A gap the feed could not repair restarts the cache.
	rc.add(fa(40, 35))
	if _, ok := rc.since(30); ok {
		t.Fatal("after a gap, 30 must not be covered")
	}
	if got, ok := rc.since(35); !ok || fmt.Sprint(seqs(got)) != "[40]" {
		t.Fatalf("since 35 = %v %v", seqs(got), ok)
	}
}

func TestRoomCachePrependKeepsTheNewest(t *testing.T) {
	var rc roomCache
	rc.limit = 50
	rc.reset(100)
	rc.add(fa(101, 100))
	rc.add(fa(102, 101))
	// Not ending where the cache starts: ignored.
	rc.prepend([]frameAt{fa(98, 97), fa(99, 98)}, 97, 99)
	if rc.from != 100 {
		t.Fatalf("from = %d after a non-adjacent prepend", rc.from)
	}
	read := []frameAt{fa(95, 90), fa(96, 95), fa(97, 96), fa(98, 97), fa(99, 98), fa(100, 99)}
	rc.prepend(read, 90, 100)
	// Room for three more: 98, 99, 100, so the cache covers (97, 102].
	got, ok := rc.since(97)
	if !ok || fmt.Sprint(seqs(got)) != "[98 99 100 101 102]" || rc.bytes != 50 {
		t.Fatalf("since 97 = %v %v (bytes %d)", seqs(got), ok, rc.bytes)
	}
	if _, ok := rc.since(96); ok {
		t.Fatal("96 did not fit and must not be covered")
	}
	// The next live message pushes the oldest out.
	rc.add(fa(103, 102))
	if rc.from != 98 {
		t.Fatalf("from = %d, want 98", rc.from)
	}
}

func TestRoomCacheDisabledStillTracksPosition(t *testing.T) {
	var rc roomCache // limit 0
	rc.reset(5)
	rc.add(fa(6, 5))
	rc.add(fa(9, 6))
	if got, ok := rc.since(9); !ok || len(got) != 0 {
		t.Fatalf("since 9 = %v %v", got, ok)
	}
	if _, ok := rc.since(6); ok {
		t.Fatal("a disabled cache must not claim to cover 6")
	}
}

// rec is a record of kind (target for changes) at seq after prev.
func rec(seq, prev uint64, kind string, target uint64) frameAt {
	return frameAt{seq: seq, prev: prev, msg: &natter.Message{Seq: seq, Prev: prev, Kind: kind, Target: target}, size: 10}
}

// A tombstone drops its message and the message's edits from the cache,
// and keeps them out of what is put in front of it later and of what
// follows it. The records after them keep the stream's prev (member.queue
// closes the hole per member).
func TestRoomCacheTombstoneErases(t *testing.T) {
	var rc roomCache
	rc.limit = 1000
	rc.reset(10)
	rc.add(rec(11, 10, "", 0))
	rc.add(rec(12, 11, "", 0))
	rc.add(rec(13, 12, natter.KindEdit, 11))
	rc.add(rec(14, 13, natter.KindReact, 12))
	rc.add(rec(15, 14, "", 0))
	rc.add(rec(16, 15, natter.KindDelete, 11))
	got, ok := rc.since(10)
	if !ok || fmt.Sprint(seqs(got)) != "[12 14 15 16]" {
		t.Fatalf("after the tombstone the cache holds %v", seqs(got))
	}
	var chain2, chain1 []uint64
	for _, fa := range got {
		chain2 = append(chain2, fa.prev)
		if fa.isMessage() {
			chain1 = append(chain1, fa.prev1)
		}
	}
	if fmt.Sprint(chain2) != "[11 13 14 15]" || fmt.Sprint(chain1) != "[11 12]" {
		t.Errorf("prev chains %v (v2) %v (v1)", chain2, chain1)
	}
	// A stream read in front of the cache that still has the erased message
	// (the erase had not happened yet) does not bring it back.
	rc.reset(16)
	rc.add(rec(17, 16, natter.KindDelete, 11))
	rc.prepend([]frameAt{rec(11, 5, "", 0), rec(13, 11, natter.KindEdit, 11), rec(15, 13, "", 0), rec(16, 15, "", 0)}, 5, 16)
	got, _ = rc.since(5)
	if fmt.Sprint(seqs(got)) != "[15 16 17]" || got[0].prev != 13 || got[0].prev1 != 5 || got[1].prev1 != 15 {
		t.Errorf("prepend kept %v", seqs(got))
	}
	// An edit of the deleted message that raced the tombstone and came
	// after it is served to no one, and the cache still follows the room.
	if fa := rc.add(rec(18, 17, natter.KindEdit, 11)); fa != nil || rc.to != 18 {
		t.Errorf("late edit of a deleted message: %v, cache to %d", fa, rc.to)
	}
	if fa := rc.add(rec(19, 18, "", 0)); fa == nil || rc.to != 19 {
		t.Error("the record after a late edit is not cached")
	}
}

// Version 1's chain passes over change records: a message's prev1 is the
// message before it, and the first message of the cache has the cache's
// start, which no member served from the cache is behind.
func TestRoomCacheVersion1Chain(t *testing.T) {
	var rc roomCache
	rc.limit = 30 // three records
	rc.reset(10)
	for _, fa := range []frameAt{rec(11, 10, "", 0), rec(12, 11, natter.KindReact, 11), rec(13, 12, natter.KindEdit, 11), rec(14, 13, "", 0)} {
		rc.add(fa)
	}
	got, _ := rc.since(11)
	if fmt.Sprint(seqs(got)) != "[12 13 14]" || got[2].prev1 != 11 {
		t.Fatalf("cache %v, prev1 of 14 = %d", seqs(got), got[2].prev1)
	}
	rc.add(rec(15, 14, natter.KindReact, 14))
	rc.add(rec(16, 15, natter.KindReact, 14))
	rc.add(rec(17, 16, "", 0))
	got, _ = rc.since(14)
	if fmt.Sprint(seqs(got)) != "[15 16 17]" || got[2].prev1 != 14 {
		t.Errorf("cache %v, prev1 of 17 = %d, want 14 (the cache's start)", seqs(got), got[2].prev1)
	}
}
