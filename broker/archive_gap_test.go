package broker

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// Deliveries that never reach the archive (a fetch that gave up before they
// arrived, a connection cut mid-batch) must not be acknowledged by the
// archive's later acks: the archive gets them from the stream instead.
// The lost deliveries are made by a pull request on the archive's durable
// whose reply subject nobody listens to, while the archive is busy with
// its previous batch.
func TestArchiveFillsLostDeliveries(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var mu chan struct{} = make(chan struct{}, 1)
	mu <- struct{}{}
	var got []natter.Message
	actx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	calls := 0
	go func() {
		done <- b.Archive(actx, "t", 0, func(msgs []natter.Message) error {
			<-mu
			calls++
			first := calls == 1
			got = append(got, msgs...)
			mu <- struct{}{}
			if first {
				close(entered)
				<-release
			}
			return nil
		})
	}()
	var releaseOnce sync.Once
	t.Cleanup(func() {
		releaseOnce.Do(func() { close(release) })
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Archive: %v", err)
		}
	})
	publishN(t, b.Broker, 1, 0)
	<-entered

	publishN(t, b.Broker, 3, 1)
	req, _ := json.Marshal(map[string]any{"batch": 3, "no_wait": true})
	inbox := b.nc.NewInbox()
	thief, err := b.nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.nc.PublishRequest("$JS.API.CONSUMER.MSG.NEXT."+StreamName+".t", inbox, req); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := thief.NextMsgWithContext(ctx); err != nil {
			t.Fatal(err)
		}
	}
	thief.Unsubscribe()
	cons, err := b.js.Consumer(ctx, StreamName, "t")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lost deliveries", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumAckPending == 4 && info.NumPending == 0
	})
	publishN(t, b.Broker, 1, 4)
	releaseOnce.Do(func() { close(release) })

	waitFor(t, "the archive to take message 5", func() bool {
		<-mu
		defer func() { mu <- struct{}{} }()
		return len(got) > 0 && got[len(got)-1].Seq == 5
	})
	waitFor(t, "no lag", func() bool {
		lag, err := b.ArchiveLag(ctx, "t")
		return err == nil && lag == 0
	})
	<-mu
	seen := map[uint64]bool{}
	for _, m := range got {
		seen[m.Seq] = true
	}
	mu <- struct{}{}
	for seq := uint64(1); seq <= 5; seq++ {
		if !seen[seq] {
			t.Errorf("message %d acknowledged but never archived (archived %v)", seq, seen)
		}
	}
	_ = jetstream.AckAllPolicy
}
