package broker

import (
	"hash/maphash"
	"sync"

	"github.com/nats-io/nats.go"
)

// dispatcher hands the live traffic of every followed room to its Feed
// with a fixed set of goroutines. nats.go gives each asynchronous
// subscription a goroutine of its own, and an edge follows one room per
// subscription: ten thousand quiet rooms would hold ten thousand goroutines
// and their stacks. Instead each room is a channel subscription onto one of
// a few shards, chosen by room, so a room's messages stay in order on one
// goroutine.
//
// A shard that falls behind makes nats.go drop messages (a slow consumer);
// the feed repairs the gap from the stream, as for any lost live message.
type dispatcher struct {
	seed   maphash.Seed
	shards []chan *nats.Msg
	feeds  sync.Map // subscription subject -> *Feed
	stop   chan struct{}
	once   sync.Once
}

const (
	dispatchShards = 32
	dispatchQueue  = 4096 // messages buffered per shard
)

func newDispatcher() *dispatcher {
	d := &dispatcher{seed: maphash.MakeSeed(), stop: make(chan struct{})}
	for range dispatchShards {
		ch := make(chan *nats.Msg, dispatchQueue)
		d.shards = append(d.shards, ch)
		go d.run(ch)
	}
	return d
}

// shard is the channel that carries subject's messages.
func (d *dispatcher) shard(subject string) chan *nats.Msg {
	return d.shards[maphash.String(d.seed, subject)%dispatchShards]
}

func (d *dispatcher) run(ch chan *nats.Msg) {
	for {
		select {
		case m := <-ch:
			// Keyed by the subscription's subject, registered before the
			// subscription exists: a message arriving before Follow has
			// returned finds its feed (and waits for its start position).
			if f, ok := d.feeds.Load(m.Sub.Subject); ok {
				f.(*Feed).receive(m)
			}
		case <-d.stop:
			return
		}
	}
}

func (d *dispatcher) close() { d.once.Do(func() { close(d.stop) }) }
