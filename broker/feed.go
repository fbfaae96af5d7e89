package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/tracing"
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
	subject := liveSubject(room)
	b.dispatch.feeds.Store(subject, f)
	fail := func(sub *nats.Subscription, err error) (*Feed, error) {
		b.dispatch.feeds.CompareAndDelete(subject, f)
		if sub != nil {
			sub.Unsubscribe()
		}
		return nil, err
	}
	sub, err := b.nc.ChanSubscribe(subject, b.dispatch.shard(subject))
	if err != nil {
		return fail(nil, natter.Errorf(natter.EUNAVAILABLE, "follow %s: %v", room, err))
	}
	if err := b.nc.FlushWithContext(ctx); err != nil {
		return fail(sub, natter.Errorf(natter.EUNAVAILABLE, "follow %s: %v", room, err))
	}
	last, err := b.LastSeq(ctx, room)
	if err != nil {
		return fail(sub, err)
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
	// Only if still ours: a new feed for the room may have replaced it.
	f.b.dispatch.feeds.CompareAndDelete(f.sub.Subject, f)
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
	span := f.b.cfg.Tracer.Deliver(m.Header, tracing.SpanFanout, string(f.room), msg.Seq)
	f.h.Message(msg)
	span.End(0, nil)
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

// catchUp repairs the feed up to last, the room's last sequence as the
// stream reported it, if the feed is behind.
func (f *Feed) catchUp(last uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if last > f.last {
		f.repair(last)
	}
}

// syncLoop compares every followed room with the stream every
// SyncInterval. Live delivery is core NATS: a republished message can be
// lost (a route or node failing, a reconnect). The next message of the room
// reveals the gap by its Prev, but a room that then stays quiet would keep
// the loss; this loop bounds how long that can last.
func (b *Broker) syncLoop() {
	defer close(b.syncDone)
	t := time.NewTicker(b.cfg.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-b.stopSync:
			return
		case <-t.C:
			b.syncFeeds()
		}
	}
}

// syncFeeds asks the stream for the last sequence of every followed room,
// syncChunk rooms per request, and catches up the feeds that are behind.
func (b *Broker) syncFeeds() {
	feeds := map[string][]*Feed{}
	b.feeds.Range(func(k, _ any) bool {
		f := k.(*Feed)
		feeds[roomSubject(f.room)] = append(feeds[roomSubject(f.room)], f)
		return true
	})
	subjects := make([]string, 0, len(feeds))
	for s := range feeds {
		subjects = append(subjects, s)
	}
	for len(subjects) > 0 {
		n := min(len(subjects), syncChunk)
		chunk := subjects[:n]
		subjects = subjects[n:]
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		lasts, err := b.lastSeqs(ctx, chunk)
		cancel()
		if err != nil {
			b.log.Warn("feed sync failed", "err", err)
			return
		}
		for subj, last := range lasts {
			for _, f := range feeds[subj] {
				f.catchUp(last)
			}
		}
	}
}

// syncChunk is how many rooms one multi-last request covers.
const syncChunk = 256

// lastSeqs returns the last sequence of each subject that has messages, in
// one batched direct get.
func (b *Broker) lastSeqs(ctx context.Context, subjects []string) (map[string]uint64, error) {
	req, _ := json.Marshal(map[string]any{"multi_last": subjects, "batch": len(subjects)})
	inbox := b.nc.NewInbox()
	sub, err := b.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := b.nc.PublishRequest("$JS.API.DIRECT.GET."+StreamName, inbox, req); err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, err
		}
		switch m.Header.Get("Status") {
		case "":
		case "204", "404":
			return out, nil
		default:
			return nil, fmt.Errorf("multi-last: status %s %s", m.Header.Get("Status"), m.Header.Get("Description"))
		}
		seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
		if err != nil {
			return nil, err
		}
		out[m.Header.Get(jetstream.SubjectHeader)] = seq
	}
}
