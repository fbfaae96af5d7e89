package edge

import "github.com/natter-chat/natter"

// roomCache holds a room's latest records on this edge: exactly the
// records with from < seq <= to that the stream holds, oldest first,
// within a byte budget. Records erased by a deletion (the deleted message
// and its edits) are dropped from it when the tombstone arrives, and kept
// out of what is put in front of it later.
//
// Resuming members are served from it rather than from the stream: a storm
// of clients coming back to the same rooms costs one stream read per room
// (which also fills the cache backwards) instead of one per member, and no
// record is encoded twice for one protocol version. It also replaces a
// per-member buffer of live records during a replay: the replay catches up
// from the cache and goes live under the room lock, so nothing falls
// between the two.
type roomCache struct {
	valid    bool // from and to are known
	from, to uint64
	lastMsg  uint64    // the room's last message as far as the cache knows: the next message's prev1
	buf      []frameAt // buf[head:] are the cached records
	head     int
	bytes    int
	limit    int // byte budget; 0 caches nothing (but from/to still track the room)
	// deleted are the targets of the tombstones in the cache.
	deleted map[uint64]bool
}

// reset empties the cache at position at: it covers (at, at].
func (rc *roomCache) reset(at uint64) {
	clear(rc.buf)
	rc.buf, rc.head, rc.bytes = rc.buf[:0], 0, 0
	rc.valid, rc.from, rc.to, rc.lastMsg = true, at, at, at
	clear(rc.deleted)
}

// add appends the room's next record and returns it as the cache holds it
// (a copy if it did not fit), to be encoded once for every member; nil if
// a tombstone already in the cache erases it (an edit that raced the
// deletion), which is then served to no one. A record that does not
// continue the cache (the feed skipped a gap it could not repair) starts
// it afresh. A tombstone drops what it erases.
func (rc *roomCache) add(fa frameAt) *frameAt {
	if !rc.valid || fa.prev != rc.to {
		rc.reset(fa.prev)
	}
	rc.to = fa.seq
	if erasedBy(&fa, rc.deleted) {
		return nil
	}
	if fa.isMessage() {
		fa.prev1 = rc.lastMsg
		rc.lastMsg = fa.seq
	}
	rc.buf = append(rc.buf, fa)
	rc.bytes += fa.size
	for rc.bytes > rc.limit && rc.head < len(rc.buf) {
		rc.drop()
	}
	if rc.head > 32 && rc.head > len(rc.buf)/2 {
		n := copy(rc.buf, rc.buf[rc.head:])
		clear(rc.buf[n:])
		rc.buf, rc.head = rc.buf[:n], 0
	}
	if m := fa.msg; m.Kind == natter.KindDelete {
		rc.erase(m.Target)
	}
	if rc.head < len(rc.buf) && rc.buf[len(rc.buf)-1].seq == fa.seq {
		return &rc.buf[len(rc.buf)-1]
	}
	return &fa
}

// erase drops the records the deletion of target erases (target and its
// edits), and keeps later ones out (add, prepend). The records after them
// keep the stream's prev, a hole that member.queue closes per member.
func (rc *roomCache) erase(target uint64) {
	if rc.deleted == nil {
		rc.deleted = map[uint64]bool{}
	}
	rc.deleted[target] = true
	cached := rc.buf[rc.head:]
	kept := withoutErased(cached, map[uint64]bool{target: true})
	if len(kept) == len(cached) {
		return
	}
	rc.bytes = 0
	for i := range kept {
		rc.bytes += kept[i].size
	}
	n := copy(rc.buf, kept)
	clear(rc.buf[n:])
	rc.buf, rc.head = rc.buf[:n], 0
}

// drop forgets the oldest record.
func (rc *roomCache) drop() {
	fa := rc.buf[rc.head]
	rc.buf[rc.head] = frameAt{}
	rc.head++
	rc.from = fa.seq
	rc.bytes -= fa.size
	if fa.msg.Kind == natter.KindDelete {
		delete(rc.deleted, fa.msg.Target)
	}
	if rc.lastMsg < rc.from {
		rc.lastMsg = rc.from
	}
}

// prepend adds records read from the stream in front: fas must be every
// record of the room in (after, upTo], erased ones left out, with upTo
// where the cache begins. It keeps the newest that fit.
func (rc *roomCache) prepend(fas []frameAt, after, upTo uint64) {
	if !rc.valid || upTo != rc.from || after >= upTo {
		return
	}
	fas = withoutErased(fas, rc.deleted)
	room := rc.limit - rc.bytes
	i := len(fas)
	for i > 0 && fas[i-1].size <= room {
		room -= fas[i-1].size
		i--
	}
	kept := fas[i:]
	from := after
	if i > 0 {
		from = fas[i-1].seq
	}
	cached := rc.buf[rc.head:]
	buf := make([]frameAt, 0, len(kept)+len(cached))
	rc.buf = append(append(buf, kept...), cached...)
	rc.head = 0
	rc.from = from
	rc.bytes = rc.limit - room
	rc.lastMsg = chain1(rc.buf, from)
}

// since returns the cached records after seq after, and whether the cache
// covers that position (holds every record after it).
func (rc *roomCache) since(after uint64) ([]frameAt, bool) {
	if !rc.valid || after < rc.from {
		return nil, false
	}
	fas := rc.buf[rc.head:]
	for len(fas) > 0 && fas[0].seq <= after {
		fas = fas[1:]
	}
	return fas, true
}
