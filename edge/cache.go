package edge

// roomCache holds a room's latest framed messages on this edge: exactly the
// messages with from < seq <= to, oldest first, within a byte budget.
//
// Resuming members are served from it rather than from the stream: a storm
// of clients coming back to the same rooms costs one stream read per room
// (which also fills the cache backwards) instead of one per member, and no
// message is encoded twice. It also replaces a per-member buffer of live
// messages during a replay: the replay catches up from the cache and goes
// live under the room lock, so nothing falls between the two.
type roomCache struct {
	valid    bool // from and to are known
	from, to uint64
	buf      []frameAt // buf[head:] are the cached messages
	head     int
	bytes    int
	limit    int // byte budget; 0 caches nothing (but from/to still track the room)
}

// reset empties the cache at position at: it covers (at, at].
func (rc *roomCache) reset(at uint64) {
	clear(rc.buf)
	rc.buf, rc.head, rc.bytes = rc.buf[:0], 0, 0
	rc.valid, rc.from, rc.to = true, at, at
}

// add appends the room's next message. A message that does not continue
// the cache (the feed skipped a gap it could not repair) starts it afresh.
func (rc *roomCache) add(fa frameAt) {
	if !rc.valid || fa.prev != rc.to {
		rc.reset(fa.prev)
	}
	rc.buf = append(rc.buf, fa)
	rc.to = fa.seq
	rc.bytes += len(fa.frame)
	for rc.bytes > rc.limit && rc.head < len(rc.buf) {
		rc.drop()
	}
	if rc.head > 32 && rc.head > len(rc.buf)/2 {
		n := copy(rc.buf, rc.buf[rc.head:])
		clear(rc.buf[n:])
		rc.buf, rc.head = rc.buf[:n], 0
	}
}

// drop forgets the oldest message.
func (rc *roomCache) drop() {
	fa := rc.buf[rc.head]
	rc.buf[rc.head] = frameAt{}
	rc.head++
	rc.from = fa.seq
	rc.bytes -= len(fa.frame)
}

// prepend adds messages read from the stream in front: fas must be
// contiguous and end where the cache begins. It keeps the newest that fit.
func (rc *roomCache) prepend(fas []frameAt) {
	if !rc.valid || len(fas) == 0 || fas[len(fas)-1].seq != rc.from {
		return
	}
	room := rc.limit - rc.bytes
	i := len(fas)
	for i > 0 && len(fas[i-1].frame) <= room {
		room -= len(fas[i-1].frame)
		i--
	}
	if i == len(fas) {
		return
	}
	kept := fas[i:]
	cached := rc.buf[rc.head:]
	buf := make([]frameAt, 0, len(kept)+len(cached))
	rc.buf = append(append(buf, kept...), cached...)
	rc.head = 0
	rc.from = kept[0].prev
	rc.bytes = rc.limit - room
}

// since returns the cached messages after seq after, and whether the cache
// covers that position (holds every message after it).
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
