package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// Deliveries that never reach the archive (a fetch that gave up before they
// arrived, a connection cut mid-batch) must not be acknowledged by the
// archive's later acks: the archive reads them from the stream instead,
// whether a later delivery shows the hole or nothing follows them. The lost
// deliveries are made by a pull request on the archive's durable whose
// messages are thrown away, while the archive is busy with its previous
// batch.
func TestArchiveFillsLostDeliveries(t *testing.T) {
	for _, later := range []int{1, 0} {
		t.Run(fmt.Sprintf("%d later messages", later), func(t *testing.T) {
			b := start(t)
			ctx := testCtx(t)
			entered, release := make(chan struct{}), make(chan struct{})
			var releaseOnce sync.Once
			a := runArchive(t, b.Broker, "t", 0, func(call int) error {
				if call == 1 {
					close(entered)
					<-release
				}
				return nil
			})
			t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
			publishN(t, b.Broker, 1, 0)
			<-entered

			publishN(t, b.Broker, 3, 1)
			stealDeliveries(t, ctx, b.Broker, "t", 3)
			publishN(t, b.Broker, later, 4)
			releaseOnce.Do(func() { close(release) })

			n := 4 + later
			got := waitArchived(t, b.Broker, a, "t", n)
			a.stop(t)
			checkArchived(t, b.Broker, got, 1, uint64(n))
		})
	}
}

// stealDeliveries takes n messages from durable's consumer and throws them
// away, as deliveries lost in transit are.
func stealDeliveries(t *testing.T, ctx context.Context, b *Broker, durable string, n int) {
	t.Helper()
	inbox := b.nc.NewInbox()
	thief, err := b.nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer thief.Unsubscribe()
	req, _ := json.Marshal(map[string]any{"batch": n, "no_wait": true})
	if err := b.nc.PublishRequest("$JS.API.CONSUMER.MSG.NEXT."+StreamName+"."+durable, inbox, req); err != nil {
		t.Fatal(err)
	}
	for range n {
		m, err := thief.NextMsgWithContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get("Status") != "" {
			t.Fatalf("stealing deliveries: status %s %s", m.Header.Get("Status"), m.Header.Get("Description"))
		}
	}
	cons, err := b.js.Consumer(ctx, StreamName, durable)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := cons.Info(ctx); err != nil || info.NumAckPending < n {
		t.Fatalf("consumer after the theft: %+v, %v", info, err)
	}
}

// An archive consumer of an older version (AckAll) is replaced by one with
// explicit acks, starting after the store's position.
func TestArchiveReplacesAckAllConsumer(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	publishN(t, b.Broker, 10, 0)
	if _, err := b.js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable: "t", AckPolicy: jetstream.AckAllPolicy, FilterSubject: roomWildcard,
	}); err != nil {
		t.Fatal(err)
	}
	a := runArchive(t, b.Broker, "t", 4, nil)
	got := waitArchived(t, b.Broker, a, "t", 6)
	a.stop(t)
	checkArchived(t, b.Broker, got, 5, 10)
	cons, err := b.js.Consumer(ctx, StreamName, "t")
	if err != nil {
		t.Fatal(err)
	}
	if p := cons.CachedInfo().Config.AckPolicy; p != jetstream.AckExplicitPolicy {
		t.Fatalf("ack policy %v", p)
	}
}
