package edge

import (
	"fmt"
	"testing"
)

func fa(seq, prev uint64) frameAt {
	return frameAt{seq: seq, prev: prev, frame: []byte(fmt.Sprintf("%010d", seq))} // 10 bytes each
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
	rc.prepend([]frameAt{fa(98, 97), fa(99, 98)})
	if rc.from != 100 {
		t.Fatalf("from = %d after a non-adjacent prepend", rc.from)
	}
	read := []frameAt{fa(95, 90), fa(96, 95), fa(97, 96), fa(98, 97), fa(99, 98), fa(100, 99)}
	rc.prepend(read)
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
