package client

import (
	"slices"
	"strconv"
	"time"
)

// handle applies one server frame to the client's state and returns the
// events for the application (emitted after the lock is released).
func (c *Client) handle(s *session, f *frame) []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rid, err := ridOf(f); err == nil {
		if r := c.pending[rid]; r != nil {
			delete(c.pending, rid)
			return c.replyLocked(s, r, f)
		}
	}
	switch f.Type {
	case "msg":
		return c.recordLocked(s, f)
	case "joined": // a reply whose request was given up
		return nil
	case "left":
		delete(c.rooms, f.Room)
		return []Event{&Left{Room: f.Room}}
	case "pong", "ack", "ok":
		return nil
	}
	if ev := f.ephemeral(); ev != nil {
		return []Event{ev}
	}
	return nil
}

// replyLocked settles request r with its reply f.
func (c *Client) replyLocked(s *session, r *request, f *frame) []Event {
	if f.Type == "error" {
		e := f.err()
		if r.resume {
			delete(c.rooms, r.room)
			return []Event{&Left{Room: r.room, Err: e}}
		}
		if r.resend && (e.Code == "unavailable" || e.Code == "rate_limited") {
			// Nothing stored, or the outcome is unknown: the same cid again,
			// after a pause (PROTOCOL.md section 8).
			r.retry++
			r.sess = nil
			c.retries[r] = time.AfterFunc(backoff(r.retry, c.cfg.MinBackoff, c.cfg.MaxBackoff), func() {
				c.mu.Lock()
				defer c.mu.Unlock()
				if _, ok := c.retries[r]; ok {
					delete(c.retries, r)
					c.queue = append(c.queue, r)
					c.flushLocked()
				}
			})
			return nil
		}
		r.reply <- result{err: e}
		return nil
	}
	var evs []Event
	if f.Type == "joined" {
		rm := &room{last: f.After, epoch: f.Epoch, joinLast: f.Last}
		rm.caughtUp = rm.last >= rm.joinLast
		c.rooms[f.Room] = rm
		evs = append(evs, f.joined(r.resume))
		if rm.caughtUp {
			c.flushLocked()
		}
	}
	if f.Type == "left" {
		delete(c.rooms, f.Room)
		evs = append(evs, &Left{Room: f.Room})
	}
	r.reply <- result{f: f}
	return evs
}

// recordLocked applies a msg under section 7's rule: a duplicate is
// dropped, a gap makes the client rejoin from its last seq.
func (c *Client) recordLocked(s *session, f *frame) []Event {
	rm := c.rooms[f.Room]
	if rm == nil || rm.rejoining || f.Seq <= rm.last {
		return nil
	}
	if f.Prev > rm.last {
		c.cfg.Log.Warn("natter client: gap in a room; rejoining", "room", f.Room, "last", rm.last, "prev", f.Prev)
		rm.rejoining, rm.caughtUp = true, false
		c.writeLocked(s, &request{op: map[string]any{"op": "join", "room": f.Room, "after": rm.last, "epoch": rm.epoch},
			room: f.Room, resume: true, reply: make(chan result, 1)})
		return nil
	}
	rm.last = f.Seq
	if f.From == c.user && f.CID != "" {
		c.settleFromReplayLocked(f)
	}
	if !rm.caughtUp && rm.last >= rm.joinLast {
		rm.caughtUp = true
		c.flushLocked()
	}
	return []Event{f.record()}
}

// settleFromReplayLocked completes a held resend whose original the replay
// shows stored: it is not sent again (it would be stored twice once the
// dedupe window has passed).
func (c *Client) settleFromReplayLocked(f *frame) {
	for i, r := range c.queue {
		if r.resend && r.sess == nil && r.room == f.Room && r.cid == f.CID {
			c.queue = append(c.queue[:i:i], c.queue[i+1:]...)
			r.reply <- result{f: &frame{Type: "ack", Room: f.Room, Seq: f.Seq, Epoch: f.Epoch, CID: f.CID, Dup: true}}
			return
		}
	}
}

func sortByRID(rs []*request) {
	slices.SortFunc(rs, func(a, b *request) int {
		x, _ := strconv.ParseInt(a.rid, 10, 64)
		y, _ := strconv.ParseInt(b.rid, 10, 64)
		return int(x - y)
	})
}
