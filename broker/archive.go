package broker

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// archiveBatch is how many messages one archive round fetches.
const archiveBatch = 500

// archiveAckWait is how long JetStream waits for the archive's ack before
// redelivering. Short, because a restarted archiver must not sit behind
// messages a dead one had fetched.
const archiveAckWait = 10 * time.Second

// Archive feeds every room message, in stream order, to fn in batches,
// through the durable consumer named durable: a restarted archiver resumes
// after the last acknowledged batch. A batch is acknowledged only after fn
// returned nil, and the next batch is not fetched before that (a failing fn
// is retried with backoff), so fn sees the stream in order, every message at
// least once; it must be idempotent. Prev is left 0: the archive knows each
// room's previous message better than a consumer does. Archive returns when
// ctx ends; a batch in progress is finished first.
//
// stored is the highest stream sequence the caller already holds (0 for
// none). The consumer's acknowledgements say what some archive took, not
// that this caller still has it: an archive started on an empty or older
// store under an existing durable would otherwise miss everything up to the
// consumer's ack floor. So a consumer acknowledged beyond stored is made to
// deliver again from stored+1.
func (b *Broker) Archive(ctx context.Context, durable string, stored uint64, fn func([]natter.Message) error) error {
	cons, err := b.archiveConsumer(ctx, durable, stored)
	if err != nil {
		return err
	}
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		if backoff > 0 {
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
		}
		if err := b.archiveRound(ctx, cons, fn); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			b.log.Warn("archive round failed", "err", err)
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			continue
		}
		backoff = 0
	}
	return nil
}

// archiveConsumer returns the durable consumer, recreated if it would skip
// messages the archive lacks:
//   - at its ack floor if a previous archiver left messages delivered but
//     unacknowledged: those would otherwise come back only after AckWait,
//     behind newer messages, and an AckAll of the newer ones would
//     acknowledge them unseen;
//   - at stored+1 if its ack floor is beyond stored, the archive's own
//     position (see Archive).
//
// A new consumer delivers from the start of the stream whatever stored is,
// as it always has: a store filled through another consumer may have holes.
func (b *Broker) archiveConsumer(ctx context.Context, durable string, stored uint64) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "history archive",
		AckPolicy:     jetstream.AckAllPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: roomWildcard,
		AckWait:       archiveAckWait,
		MaxAckPending: archiveBatch * 4,
	}
	cons, err := b.js.Consumer(ctx, StreamName, durable)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
	case err != nil:
		return nil, unavailable("archive consumer", err)
	default:
		info, err := cons.Info(ctx)
		if err != nil {
			return nil, unavailable("archive consumer", err)
		}
		floor := info.AckFloor.Stream
		if info.NumAckPending == 0 && floor <= stored {
			// Reuse it, with this version's settings (AckWait may differ).
			cfg.DeliverPolicy, cfg.OptStartSeq = info.Config.DeliverPolicy, info.Config.OptStartSeq
			break
		}
		if floor > stored {
			b.log.Info("archive store is behind its consumer; archiving again from its position",
				"consumer", durable, "ack_floor", floor, "stored", stored)
			floor = stored
		}
		if err := b.js.DeleteConsumer(ctx, StreamName, durable); err != nil {
			return nil, unavailable("archive consumer", err)
		}
		// A start before the stream's first message (dropped by retention)
		// starts at its first message.
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = floor + 1
	}
	cons, err = b.js.CreateOrUpdateConsumer(ctx, StreamName, cfg)
	if err != nil {
		return nil, unavailable("archive consumer", err)
	}
	return cons, nil
}

func (b *Broker) archiveRound(ctx context.Context, cons jetstream.Consumer, fn func([]natter.Message) error) error {
	batch, err := cons.FetchNoWait(archiveBatch)
	if err != nil {
		return err
	}
	var (
		msgs []natter.Message
		last jetstream.Msg
	)
	for m := range batch.Messages() {
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		msg, err := decodeBody(roomFromSubject(m.Subject()), md.Sequence.Stream, 0, md.Timestamp, b.epoch, m.Data())
		if err != nil {
			b.log.Error("skipping undecodable message", "seq", md.Sequence.Stream, "err", err)
		} else {
			msgs = append(msgs, msg)
		}
		last = m
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		return err
	}
	if last == nil {
		// Nothing pending: wait for news rather than spin.
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
		}
		return nil
	}
	// The batch is finished even if ctx ends meanwhile: stopping halfway
	// would leave it to be redelivered after AckWait.
	work := context.WithoutCancel(ctx)
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		err := fn(msgs)
		if err == nil {
			break
		}
		b.log.Warn("archiving batch failed; retrying", "messages", len(msgs), "err", err)
		// Keep the batch from being redelivered while we retry it.
		_ = last.InProgress()
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err() // unacknowledged: the next archiver starts at it
		}
	}
	b.metrics.Archived.Add(float64(len(msgs)))
	return last.DoubleAck(work)
}

// ArchiveLag is how many stream messages the archive consumer has not yet
// had acknowledged; 0 when it has caught up (or does not exist yet).
func (b *Broker) ArchiveLag(ctx context.Context, durable string) (uint64, error) {
	cons, err := b.js.Consumer(ctx, StreamName, durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable("archive consumer", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, unavailable("archive consumer", err)
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}
