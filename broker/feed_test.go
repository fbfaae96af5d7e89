package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	dto "github.com/prometheus/client_model/go"

	"github.com/natter-chat/natter"
)

// recorder is a FeedHandler that keeps what it is given and checks that it
// is never called concurrently.
type recorder struct {
	t      testing.TB
	busy   atomic.Bool
	mu     sync.Mutex
	msgs   []natter.Message
	events []string
}

func newRecorder(t testing.TB) *recorder { return &recorder{t: t} }

func (r *recorder) enter() {
	if !r.busy.CompareAndSwap(false, true) {
		r.t.Error("FeedHandler called concurrently")
	}
}

func (r *recorder) Message(m natter.Message) {
	r.enter()
	defer r.busy.Store(false)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
}

func (r *recorder) Event(data []byte) {
	r.enter()
	defer r.busy.Store(false)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, string(data))
}

func (r *recorder) messages() []natter.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]natter.Message(nil), r.msgs...)
}

func (r *recorder) eventList() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// waitMessages waits until r holds n messages (and fails if it holds more).
func (r *recorder) waitMessages(n int) []natter.Message {
	r.t.Helper()
	waitFor(r.t, fmt.Sprintf("%d feed messages", n), func() bool { return len(r.messages()) >= n })
	got := r.messages()
	if len(got) != n {
		r.t.Fatalf("feed delivered %d messages, want %d: %v", len(got), n, abbrev(textsOf(got)))
	}
	return got
}

func follow(t testing.TB, b *Broker, room natter.RoomID, h FeedHandler) *Feed {
	t.Helper()
	f, err := b.Follow(testCtx(t), room, h)
	if err != nil {
		t.Fatalf("Follow(%s): %v", room, err)
	}
	t.Cleanup(f.Stop)
	return f
}

func TestFollowDeliversLiveMessages(t *testing.T) {
	b := start(t)
	say(t, b.Broker, "a", "old0")
	old := say(t, b.Broker, "a", "old1")
	say(t, b.Broker, "b", "other")

	rec := newRecorder(t)
	f := follow(t, b.Broker, "a", rec)
	if f.Start() != old.Seq {
		t.Fatalf("Start() = %d, want %d (the last stored message)", f.Start(), old.Seq)
	}
	_, texts := interleave(t, b.Broker, 20)
	got := rec.waitMessages(20)
	checkChain(t, got, "a", old.Seq, texts)
	for _, m := range got {
		if m.Epoch != b.Epoch() || m.From != "u" || m.Time.IsZero() {
			t.Errorf("live message %+v lacks epoch, sender or time", m)
		}
	}
	// The live copies are the stored ones.
	stored, _ := readAll(t, b.Broker, "a", old.Seq, 0)
	for i := range stored {
		if !reflect.DeepEqual(stored[i], got[i]) {
			t.Errorf("live %+v\nstored %+v", got[i], stored[i])
		}
	}
	t.Run("Start does not move", func(t *testing.T) {
		if f.Start() != old.Seq {
			t.Errorf("Start() = %d after live delivery, want %d", f.Start(), old.Seq)
		}
	})
}

func TestFollowEvents(t *testing.T) {
	b := start(t)
	rec := newRecorder(t)
	follow(t, b.Broker, "a", rec)
	for _, e := range []struct {
		room natter.RoomID
		data string
	}{{"a", "typing"}, {"b", "not for a"}, {"ab", "nor this"}, {"a", `{"read":7}`}} {
		if err := b.PublishEvent(e.room, []byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "2 events", func() bool { return len(rec.eventList()) >= 2 })
	if got := rec.eventList(); len(got) != 2 || got[0] != "typing" || got[1] != `{"read":7}` {
		t.Errorf("events %q, want [typing {\"read\":7}]", got)
	}
	if n := len(rec.messages()); n != 0 {
		t.Errorf("events delivered %d messages", n)
	}
}

func TestFeedStop(t *testing.T) {
	b := start(t)
	rec := newRecorder(t)
	f := follow(t, b.Broker, "a", rec)
	say(t, b.Broker, "a", "before")
	rec.waitMessages(1)
	f.Stop()
	f.Stop() // idempotent enough not to panic

	// A second feed is the barrier: once it has the message and the event,
	// the stopped feed would have had them too.
	rec2 := newRecorder(t)
	follow(t, b.Broker, "a", rec2)
	say(t, b.Broker, "a", "after")
	if err := b.PublishEvent("a", []byte("ev")); err != nil {
		t.Fatal(err)
	}
	rec2.waitMessages(1)
	waitFor(t, "event on the second feed", func() bool { return len(rec2.eventList()) == 1 })
	if got := rec.messages(); len(got) != 1 {
		t.Errorf("stopped feed got %v", textsOf(got))
	}
	if got := rec.eventList(); len(got) != 0 {
		t.Errorf("stopped feed got events %q", got)
	}
	n := 0
	b.feeds.Range(func(_, _ any) bool { n++; return true })
	if n != 1 {
		t.Errorf("broker tracks %d feeds, want 1", n)
	}
}

// Messages published while Follow runs are either before Start (the caller
// replays them) or delivered live: none falls between.
func TestFollowWhilePublishing(t *testing.T) {
	b := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		// Not the test goroutine: report with Error, never Fatal.
		var wg sync.WaitGroup
		n := 0
		for ; ctx.Err() == nil && n < 2000; n++ {
			wg.Add(1)
			d := Draft{Room: "a", From: "u", ClientID: strconv.Itoa(n), Text: strconv.Itoa(n)}
			err := b.Publish(context.Background(), d, func(_ Ack, err error) {
				if err != nil {
					t.Errorf("publish: %v", err)
				}
				wg.Done()
			})
			if err != nil {
				t.Errorf("Publish: %v", err)
				wg.Done()
				break
			}
			if n%50 == 0 {
				wg.Wait()
			}
		}
		wg.Wait()
		done <- n
	}()
	waitFor(t, "some messages", func() bool {
		last, _ := b.LastSeq(context.Background(), "a")
		return last > 20
	})
	rec := newRecorder(t)
	follow(t, b.Broker, "a", rec)
	waitFor(t, "live messages", func() bool { return len(rec.messages()) >= 50 })
	cancel()
	n := <-done
	// Start moves with delivery (see TestFollowDeliversLiveMessages), so the
	// first live message's Prev says where the feed began.
	got := rec.messages()
	start := got[0].Prev
	want, _ := readAll(t, b.Broker, "a", start, 0)
	if start == 0 || len(want) == 0 {
		t.Fatalf("Follow did not start mid-stream (start %d, %d later, %d published)", start, len(want), n)
	}
	checkChain(t, rec.waitMessages(len(want)), "a", start, textsOf(want))
}

// liveMsg builds what the stream republishes for a stored message m.
func liveMsg(t testing.TB, m natter.Message) *nats.Msg {
	t.Helper()
	data, err := json.Marshal(body{From: m.From, Text: m.Text, ClientID: m.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	return &nats.Msg{
		Subject: livePrefix + string(m.Room) + msgSuffix,
		Data:    data,
		Header: nats.Header{
			jetstream.StreamHeader:       []string{StreamName},
			jetstream.SubjectHeader:      []string{roomSubject(m.Room)},
			jetstream.SequenceHeader:     []string{strconv.FormatUint(m.Seq, 10)},
			jetstream.LastSequenceHeader: []string{strconv.FormatUint(m.Prev, 10)},
			jetstream.TimeStampHeaer:     []string{m.Time.Format(time.RFC3339Nano)},
		},
	}
}

func gapRepairs(t testing.TB, b *Broker) float64 {
	t.Helper()
	var m dto.Metric
	if err := b.metrics.GapRepairs.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// quietFeed follows room and then cuts its live subscription, so that the
// test decides what the feed receives.
func quietFeed(t *testing.T, b *Broker, room natter.RoomID) (*Feed, *recorder) {
	t.Helper()
	rec := newRecorder(t)
	f := follow(t, b, room, rec)
	if err := f.sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	return f, rec
}

func TestFeedReceiveInOrder(t *testing.T) {
	b := start(t)
	f, rec := quietFeed(t, b.Broker, "a")
	interleave(t, b.Broker, 3)
	stored, _ := readAll(t, b.Broker, "a", 0, 0)
	for _, m := range stored {
		f.receive(liveMsg(t, m))
	}
	checkChain(t, rec.messages(), "a", 0, []string{"a0", "a1", "a2"})
	if n := gapRepairs(t, b.Broker); n != 0 {
		t.Errorf("%v gap repairs without a gap", n)
	}

	t.Run("already delivered is dropped", func(t *testing.T) {
		f.receive(liveMsg(t, stored[1]))
		f.receive(liveMsg(t, stored[2]))
		if got := rec.messages(); len(got) != 3 {
			t.Errorf("duplicates delivered: %v", textsOf(got))
		}
		f.mu.Lock()
		last := f.last
		f.mu.Unlock()
		if last != stored[2].Seq {
			t.Errorf("last = %d, want %d", last, stored[2].Seq)
		}
	})
	t.Run("undecodable is dropped", func(t *testing.T) {
		f.receive(&nats.Msg{Subject: livePrefix + "a" + msgSuffix, Data: []byte("{}")})
		bad := liveMsg(t, natter.Message{Room: "a", Seq: stored[2].Seq + 100, Prev: stored[2].Seq})
		bad.Data = []byte("not json")
		f.receive(bad)
		if got := rec.messages(); len(got) != 3 {
			t.Errorf("undecodable messages delivered: %v", textsOf(got))
		}
	})
	t.Run("event", func(t *testing.T) {
		f.receive(&nats.Msg{Subject: eventSubject("a"), Data: []byte("typing")})
		if got := rec.eventList(); len(got) != 1 || got[0] != "typing" {
			t.Errorf("events %q", got)
		}
	})
}

// A live message whose Prev the feed never saw makes it read the missing
// messages from the stream and deliver them first, each once, in order.
func TestFeedRepairsGap(t *testing.T) {
	b := start(t)
	f, rec := quietFeed(t, b.Broker, "a")
	interleave(t, b.Broker, 4) // a0 b0 a1 b1 a2 b2 a3 b3
	say(t, b.Broker, "a", "a4")
	say(t, b.Broker, "a", "a5")
	stored, _ := readAll(t, b.Broker, "a", 0, 0)
	texts := textsOf(stored)

	// The feed saw a0, then missed a1..a2, then gets a3.
	f.receive(liveMsg(t, stored[0]))
	began := time.Now()
	f.receive(liveMsg(t, stored[3]))
	took := time.Since(began)
	checkChain(t, rec.messages(), "a", 0, texts[:4])
	if n := gapRepairs(t, b.Broker); n != 1 {
		t.Errorf("%v gap repairs, want 1", n)
	}
	// a3's predecessor in the stream is b2, not a2: the repair must stop at
	// a2 (Prev) rather than retry with back-off until it reaches seq-1.
	if took > 300*time.Millisecond {
		t.Errorf("repairing a 2-message gap took %v", took)
	}
	// Later live messages continue the chain; stale ones are dropped.
	f.receive(liveMsg(t, stored[2]))
	f.receive(liveMsg(t, stored[4]))
	f.receive(liveMsg(t, stored[3]))
	f.receive(liveMsg(t, stored[5]))
	checkChain(t, rec.messages(), "a", 0, texts)
}

// When the stream cannot supply the missing messages (a lagging replica),
// the feed gives up and delivers; the jump must stay visible in Prev so that
// downstream readers repair for themselves, as repairAttempts' comment says.
func TestFeedRepairGivesUpVisibly(t *testing.T) {
	b := start(t)
	f, rec := quietFeed(t, b.Broker, "a")
	a0 := say(t, b.Broker, "a", "a0")
	stored, _ := readAll(t, b.Broker, "a", 0, 0)
	f.receive(liveMsg(t, stored[0]))
	// A message whose predecessor (seq 50) the stream does not have.
	ghost := natter.Message{Room: "a", Seq: 51, Prev: 50, From: "u", Text: "ghost", Time: time.Now()}
	f.receive(liveMsg(t, ghost))
	got := rec.messages()
	if len(got) != 2 {
		t.Fatalf("delivered %v", textsOf(got))
	}
	if got[1].Prev == a0.Seq {
		t.Errorf("after a failed repair the message was delivered with Prev %d (the feed's last), hiding the gap after %d", got[1].Prev, a0.Seq)
	}
}

// syncFeeds catches a feed up with a room that went quiet after messages the
// feed missed (what a reconnect does).
func TestFeedSync(t *testing.T) {
	b := start(t)
	before := say(t, b.Broker, "a", "old")
	f, rec := quietFeed(t, b.Broker, "a")
	if f.Start() != before.Seq {
		t.Fatalf("Start() = %d, want %d", f.Start(), before.Seq)
	}
	_, texts := interleave(t, b.Broker, 3)

	b.syncFeeds()
	checkChain(t, rec.messages(), "a", before.Seq, texts)
	b.syncFeeds()
	if got := rec.messages(); len(got) != 3 {
		t.Errorf("second sync delivered again: %v", textsOf(got))
	}
	// syncFeeds reaches every followed feed.
	say(t, b.Broker, "a", "a3")
	b.syncFeeds()
	checkChain(t, rec.messages(), "a", before.Seq, append(texts, "a3"))
}
