package broker

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// Outbox delivery (outgoing webhooks): a durable consumer of the whole
// ROOMS stream that hands every stored record, one at a time and in stream
// order, to a function that must succeed before the next one comes.
//
// Contract: a record is acknowledged to JetStream only after fn returned
// nil, so a record is handed to fn at least once, whatever restarts: a
// process that stops mid-delivery leaves it unacknowledged and the next
// process (or this one after AckWait) gets it again first. MaxAckPending is
// 1, so records are handed over strictly in stream order, which is each
// room's order; a failing record holds back every later one (head-of-line
// blocking is the price of that order; fn decides when to give up on one).
// A new consumer starts at the records stored after it was created, not at
// the start of the stream: a webhook configured today is not sent last
// year's messages.

// OutboxDelivery is one record handed to an Outbox's fn.
type OutboxDelivery struct {
	Msg     natter.Message
	Attempt int    // 1 on the first delivery of this record, counted by JetStream across restarts
	Pending uint64 // records stored after this one that the consumer has not delivered yet
}

// OutboxAckWait is how long JetStream waits for an acknowledgement before
// delivering the record again: also how long a restarted process waits for
// the record a stopped one was delivering. Outbox keeps a record it is
// still retrying from being redelivered by telling JetStream it is in
// progress.
const OutboxAckWait = 10 * time.Second

// Outbox is a durable consumer of every record, for Run.
type Outbox struct {
	b       *Broker
	durable string
	cons    jetstream.Consumer
}

// Outbox creates (or reuses) the durable consumer named durable. Records
// stored after it returns are delivered by Run, whenever it runs.
func (b *Broker) Outbox(ctx context.Context, durable string) (*Outbox, error) {
	cons, err := b.js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "outgoing webhook",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverNewPolicy,
		FilterSubject: roomWildcard,
		AckWait:       OutboxAckWait,
		MaxAckPending: 1,
	})
	if err != nil {
		return nil, unavailable("outbox consumer", err)
	}
	return &Outbox{b: b, durable: durable, cons: cons}, nil
}

// Run hands the records to fn until ctx ends. A failing fn is retried on
// the same record with exponential backoff (100ms doubling up to
// maxBackoff, default 1m). It returns when ctx ends.
func (o *Outbox) Run(ctx context.Context, maxBackoff time.Duration, fn func(context.Context, OutboxDelivery) error) {
	b, cons, durable := o.b, o.cons, o.durable
	if maxBackoff <= 0 {
		maxBackoff = time.Minute
	}
	for ctx.Err() == nil {
		m, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
				b.log.Warn("outbox fetch failed", "consumer", durable, "err", err)
				sleepCtx(ctx, time.Second)
				// A consumer deleted by hand answers "no responders":
				// make it again, from what is stored next.
				if _, err := b.js.Consumer(ctx, StreamName, durable); errors.Is(err, jetstream.ErrConsumerNotFound) {
					if again, err := b.Outbox(ctx, durable); err == nil {
						b.log.Warn("outbox consumer was deleted; made it again", "consumer", durable)
						cons = again.cons
					}
				}
			}
			continue
		}
		md, err := m.Metadata()
		if err != nil {
			b.log.Error("outbox: delivery without metadata; skipping it", "err", err)
			_ = m.Term()
			continue
		}
		seq := md.Sequence.Stream
		msg, err := decodeBody(roomFromSubject(m.Subject()), seq, 0, md.Timestamp, b.epoch, m.Data())
		if err != nil {
			b.log.Error("outbox: skipping undecodable record", "seq", seq, "err", err)
			_ = m.Ack()
			continue
		}
		d := OutboxDelivery{Msg: msg, Attempt: int(md.NumDelivered), Pending: md.NumPending}
		for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, maxBackoff) {
			if err := fn(ctx, d); err == nil {
				// A lost ack brings the record again: at least once.
				_ = m.Ack()
				break
			}
			if !holdFor(ctx, m, backoff) {
				return // unacknowledged: delivered again after AckWait
			}
			d.Attempt++
		}
	}
}

// holdFor waits d, telling JetStream every half AckWait that m is still
// being worked on, so that it is not redelivered meanwhile; false if ctx
// ended.
func holdFor(ctx context.Context, m jetstream.Msg, d time.Duration) bool {
	for d > 0 {
		step := min(d, OutboxAckWait/2)
		if !sleepCtx(ctx, step) {
			return false
		}
		_ = m.InProgress()
		d -= step
	}
	return true
}

// sleepCtx waits d, or less if ctx ends; false if it ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
