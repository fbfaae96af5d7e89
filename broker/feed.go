package broker

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natter-chat/natter"
)

// FeedHandler receives one room's traffic. Its methods are called from a
// single goroutine per feed, never concurrently, and must not block for long:
// they hold up the room.
type FeedHandler interface {
	// Message is called for every room message after the feed's start,
	// at most once each, in sequence order. Prev equals the sequence of the
	// message passed before it, unless the feed could not fill a gap from
	// the stream (e.g. a lagging replica): then Prev is the room's real
	// previous sequence, larger, and the handler must read the gap itself.
	Message(natter.Message)
	// Event is called with the raw bytes of an ephemeral room event.
	Event(data []byte)
}

// Feed is an edge's single live subscription to one room.
type Feed struct {
	b    *Broker
	room natter.RoomID
	h    FeedHandler
	sub  *nats.Subscription

	start uint64 // room's last sequence when the feed began

	mu   sync.Mutex // serialises receive and sync
	last uint64     // last sequence handed to h
}

// repairAttempts bounds how often a gap is re-read before the feed moves on
// (a lagging replica may not have the missing messages yet). Downstream
// readers see Prev jump and repair for themselves.
const repairAttempts = 5

// Follow subscribes to room's live traffic. Messages already stored when
// Follow returns are not delivered (Start tells their end): callers replay
// those from the stream. The subscription is registered with the server
// before the start position is read, so nothing falls between the two.
func (b *Broker) Follow(ctx context.Context, room natter.RoomID, h FeedHandler) (*Feed, error) {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	f := &Feed{b: b, room: room, h: h}
	f.mu.Lock() // receive waits until the start position is known
	defer f.mu.Unlock()
	sub, err := b.nc.Subscribe(liveSubject(room), f.receive)
	if err != nil {
		return nil, natter.Errorf(natter.EUNAVAILABLE, "follow %s: %v", room, err)
	}
	// Generous limits: a feed is shared by every local member of a room, and
	// a drop here only costs a repair read.
	_ = sub.SetPendingLimits(1<<16, 64<<20)
	if err := b.nc.FlushWithContext(ctx); err != nil {
		sub.Unsubscribe()
		return nil, natter.Errorf(natter.EUNAVAILABLE, "follow %s: %v", room, err)
	}
	last, err := b.LastSeq(ctx, room)
	if err != nil {
		sub.Unsubscribe()
		return nil, err
	}
	f.sub, f.last, f.start = sub, last, last
	b.feeds.Store(f, struct{}{})
	return f, nil
}

// Start is the sequence up to which the room was stored when the feed began.
func (f *Feed) Start() uint64 { return f.start }

// Stop unsubscribes. A handler call already in progress may still finish.
func (f *Feed) Stop() {
	f.b.feeds.Delete(f)
	f.sub.Unsubscribe()
}

func (f *Feed) receive(m *nats.Msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.HasSuffix(m.Subject, eventSuffix) {
		f.h.Event(m.Data)
		return
	}
	msg, err := decodeStored(m, f.b.epoch)
	if err != nil {
		f.b.log.Error("undecodable room message", "room", f.room, "err", err)
		return
	}
	if msg.Seq <= f.last {
		return // already delivered (by a repair)
	}
	if msg.Prev > f.last {
		f.repair(msg.Prev)
		if msg.Seq <= f.last {
			return
		}
	}
	if msg.Prev <= f.last {
		msg.Prev = f.last
	} // else the gap stays visible to the handler
	f.h.Message(msg)
	f.last = msg.Seq
}

// repair reads (f.last, upTo] from the stream and delivers it. Called with mu held.
func (f *Feed) repair(upTo uint64) {
	f.b.metrics.GapRepairs.Inc()
	for attempt := 0; attempt < repairAttempts && f.last < upTo; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 50 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		_, err := f.b.ReadRoom(ctx, f.room, f.last, upTo, func(m natter.Message) error {
			f.h.Message(m)
			f.last = m.Seq
			return nil
		})
		cancel()
		if err != nil {
			f.b.log.Warn("feed repair failed", "room", f.room, "err", err)
		}
	}
}

// sync catches up with the stream after a NATS reconnect, when live
// messages may have been missed and the room may stay quiet afterwards.
func (f *Feed) sync(ctx context.Context) {
	last, err := f.b.LastSeq(ctx, f.room)
	if err != nil {
		f.b.log.Warn("feed sync failed", "room", f.room, "err", err)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if last > f.last {
		f.repair(last)
	}
}

// syncFeeds runs sync on every feed; the broker calls it on reconnect.
func (b *Broker) syncFeeds() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b.feeds.Range(func(k, _ any) bool {
		k.(*Feed).sync(ctx)
		return true
	})
}
