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

// Archive feeds every room message, in stream order, to fn in batches,
// through the durable consumer named durable: a restarted archiver resumes
// where the last acknowledged batch ended. A batch is acknowledged only
// after fn returned nil, so fn sees every message at least once and must be
// idempotent. Prev is left 0: the archive knows each room's previous message
// better than a consumer does. Archive returns when ctx ends.
func (b *Broker) Archive(ctx context.Context, durable string, fn func([]natter.Message) error) error {
	cons, err := b.js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "history archive",
		AckPolicy:     jetstream.AckAllPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: roomWildcard,
		AckWait:       time.Minute,
		MaxAckPending: archiveBatch * 4,
	})
	if err != nil {
		return unavailable("archive consumer", err)
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
	if err := fn(msgs); err != nil {
		return err
	}
	b.metrics.Archived.Add(float64(len(msgs)))
	return last.DoubleAck(ctx)
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
