package broker

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// archiveBatchSize is how many messages one archive round fetches, and how
// many it reads from the stream at most to fill holes.
const archiveBatchSize = 500

// archiveAckWait is how long JetStream waits for the archive's ack before
// redelivering. Short, because a restarted archiver must not sit behind
// messages a dead one had fetched.
const archiveAckWait = 10 * time.Second

// archiveIdleCheck is how often an idle archive asks the stream whether it
// holds messages beyond the archive's position that the consumer will not
// deliver (acknowledged, or delivered and lost, before this archiver saw
// them).
const archiveIdleCheck = time.Second

// archiveBatch is one stretch of the stream for Archive's fn.
type archiveBatch struct {
	After, Last uint64
	Msgs        []natter.Message
	headers     []nats.Header // of each of Msgs while tracing (nil: none)
}

// Archive feeds the whole stream after position from to fn, in batches,
// through the durable consumer named durable, until ctx ends (a batch in
// progress is finished first). A batch is the stretch of the stream
// after < seq <= last: msgs are, in stream order, the messages of that
// stretch that the stream holds. A sequence in it that is not in msgs is
// not in the stream any more (dropped by its retention limits, or deleted)
// or could not be decoded; Archive logged and counted it.
//
// The batches are contiguous by construction: the first one's after is
// from, each next one's after is the previous one's last. Archive keeps the
// position itself and reads the stream directly (from its leader) whenever
// the consumer's deliveries do not continue it, so a delivery that never
// arrived (a fetch that gave up, a connection cut mid-batch, a consumer
// acknowledged by a previous archiver) is filled in rather than skipped. A
// failing fn is retried with backoff on the same batch; the next batch
// comes only after fn returned nil. A delivery is acknowledged, one by
// one, only once fn has accepted a batch that covers its sequence.
//
// from is the position of the caller's store: everything up to it is
// stored. Prev is left 0: the archive knows each room's previous message
// better than a consumer does.
func (b *Broker) Archive(ctx context.Context, durable string, from uint64, fn func(after, last uint64, msgs []natter.Message) error) error {
	cons, err := b.archiveConsumer(ctx, durable, from)
	if err != nil {
		return err
	}
	a := &archiveFeed{b: b, cons: cons, pos: from, fn: fn}
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		if backoff > 0 {
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
		}
		if err := a.round(ctx); err != nil {
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

// archiveConsumer returns the durable consumer, recreated to deliver from
// from+1 unless it can be used as it is: explicit acks (an AckAll consumer
// of an older version acknowledges lost deliveries with later ones), and
// nothing delivered but unacknowledged (which would come back only after
// AckWait) or acknowledged beyond from (what some archive took is not what
// this caller's store holds: an empty or older store would otherwise miss
// everything up to the consumer's ack floor).
//
// A new consumer delivers from the start of the stream whatever from is, as
// it always has; what the store already holds is acknowledged as such.
func (b *Broker) archiveConsumer(ctx context.Context, durable string, from uint64) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "history archive",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: roomWildcard,
		AckWait:       archiveAckWait,
		MaxAckPending: archiveBatchSize * 4,
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
		if info.Config.AckPolicy == cfg.AckPolicy && info.NumAckPending == 0 && floor <= from {
			// Reuse it, with this version's settings (AckWait may differ).
			cfg.DeliverPolicy, cfg.OptStartSeq = info.Config.DeliverPolicy, info.Config.OptStartSeq
			break
		}
		b.log.Info("archive consumer does not continue the store; archiving again from the store's position",
			"consumer", durable, "ack_floor", floor, "ack_pending", info.NumAckPending, "position", from)
		if err := b.js.DeleteConsumer(ctx, StreamName, durable); err != nil {
			return nil, unavailable("archive consumer", err)
		}
		// A start before the stream's first message (dropped by retention)
		// starts at its first message.
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = from + 1
	}
	cons, err = b.js.CreateOrUpdateConsumer(ctx, StreamName, cfg)
	if err != nil {
		return nil, unavailable("archive consumer", err)
	}
	return cons, nil
}

// archiveFeed is one running Archive: the consumer and the position.
type archiveFeed struct {
	b         *Broker
	cons      jetstream.Consumer
	pos       uint64 // everything up to it was accepted by fn
	fn        func(after, last uint64, msgs []natter.Message) error
	lastCheck time.Time // of the stream's last sequence, while idle
}

// round fetches what the consumer has, turns it into a batch that continues
// the position (reading holes from the stream), hands it to fn and
// acknowledges the deliveries it covers.
func (a *archiveFeed) round(ctx context.Context) error {
	fetched, err := a.fetch()
	if err != nil {
		return err
	}
	batch := archiveBatch{After: a.pos, Last: a.pos}
	budget := archiveBatchSize // stream reads this round, at most
	var covered []jetstream.Msg
	pending := uint64(0)
	for _, m := range fetched {
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		seq := md.Sequence.Stream
		if seq > batch.Last+1 {
			if err := a.fill(ctx, &batch, seq-1, &budget); err != nil {
				return err
			}
			if batch.Last < seq-1 {
				break // out of budget: the rest is delivered again
			}
		}
		if seq > batch.Last {
			a.add(&batch, roomFromSubject(m.Subject()), seq, md.Timestamp, m.Data(), m.Headers())
		}
		covered = append(covered, m)
		pending = md.NumPending
	}
	if len(fetched) == 0 {
		last, ok, err := a.idle(ctx)
		if err != nil || !ok {
			return err
		}
		if err := a.fill(ctx, &batch, last, &budget); err != nil {
			return err
		}
		pending = last - batch.Last
	}
	if batch.Last > batch.After {
		if err := a.deliver(ctx, batch, fetched); err != nil {
			return err
		}
		a.pos = batch.Last
	}
	a.b.metrics.ArchiveLag.Set(float64(pending))
	for _, m := range covered {
		// An ack that is lost brings a redelivery, acknowledged then.
		_ = m.Ack()
	}
	return nil
}

// fetch returns what the consumer delivers at once (possibly nothing).
// Deliveries that arrive after it gave up are lost to this archiver; the
// position check finds them missing.
func (a *archiveFeed) fetch() ([]jetstream.Msg, error) {
	batch, err := a.cons.FetchNoWait(archiveBatchSize)
	if err != nil {
		return nil, err
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && len(msgs) == 0 {
		return nil, err
	}
	return msgs, nil
}

// idle waits a little, and every archiveIdleCheck returns the stream's last
// sequence if it is beyond the position: those messages were delivered or
// acknowledged without reaching this archiver.
func (a *archiveFeed) idle(ctx context.Context) (uint64, bool, error) {
	select {
	case <-time.After(50 * time.Millisecond):
	case <-ctx.Done():
		return 0, false, nil
	}
	if time.Since(a.lastCheck) < archiveIdleCheck {
		return 0, false, nil
	}
	a.lastCheck = time.Now()
	last, err := a.b.StreamLast(ctx)
	if err != nil {
		return 0, false, err
	}
	if last <= a.pos {
		a.b.metrics.ArchiveLag.Set(0)
		return 0, false, nil
	}
	return last, true, nil
}

// fill reads the stream after batch.Last up to upTo (at most *budget
// messages) into batch, from the stream leader: a lagging replica could
// not tell a message it lacks from one that is gone.
func (a *archiveFeed) fill(ctx context.Context, batch *archiveBatch, upTo uint64, budget *int) error {
	for batch.Last < upTo && *budget > 0 {
		m, err := a.b.nextStored(ctx, batch.Last)
		if err != nil {
			return err
		}
		if m == nil || m.Seq > upTo {
			a.skipped(batch.Last+1, upTo)
			batch.Last = upTo
			return nil
		}
		if m.Seq > batch.Last+1 {
			a.skipped(batch.Last+1, m.Seq-1)
		}
		*budget--
		a.b.metrics.ArchiveFilled.Inc()
		a.add(batch, roomFromSubject(m.Subject), m.Seq, m.Time, m.Data, a.b.storedHeader(m))
	}
	return nil
}

// add decodes one stream message into batch and moves batch.Last to it.
func (a *archiveFeed) add(batch *archiveBatch, room natter.RoomID, seq uint64, ts time.Time, data []byte, h nats.Header) {
	batch.Last = seq
	msg, err := decodeBody(room, seq, 0, ts, a.b.epoch, data)
	if err != nil {
		a.b.log.Error("skipping undecodable message", "seq", seq, "err", err)
		return
	}
	batch.Msgs = append(batch.Msgs, msg)
	if a.b.cfg.Tracer.On() {
		batch.headers = append(batch.headers, h)
	}
}

// skipped records sequences the stream no longer holds.
func (a *archiveFeed) skipped(from, to uint64) {
	a.b.log.Warn("history archive: the stream no longer holds these messages (retention limits or deletion); skipping them",
		"from_seq", from, "to_seq", to)
	a.b.metrics.ArchiveSkipped.Add(float64(to - from + 1))
}

// deliver hands batch to fn until it accepts it. The batch is finished
// even if ctx ends meanwhile, unless fn keeps failing: stopping halfway
// would leave its deliveries to be redelivered after AckWait.
func (a *archiveFeed) deliver(ctx context.Context, batch archiveBatch, fetched []jetstream.Msg) error {
	end := a.b.traceArchive(batch)
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		err := a.fn(batch.After, batch.Last, batch.Msgs)
		if err == nil {
			end(nil)
			a.b.metrics.Archived.Add(float64(len(batch.Msgs)))
			return nil
		}
		a.b.log.Warn("archiving batch failed; retrying", "messages", len(batch.Msgs), "err", err)
		// Keep the deliveries from being redelivered while we retry.
		for _, m := range fetched {
			_ = m.InProgress()
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			end(err)
			return ctx.Err() // unacknowledged: the next archiver starts at it
		}
	}
}

// ArchiveLag is how many stream sequences lie beyond position, the
// archive's: 0 when it has caught up.
func (b *Broker) ArchiveLag(ctx context.Context, position uint64) (uint64, error) {
	last, err := b.StreamLast(ctx)
	if err != nil {
		return 0, err
	}
	if last <= position {
		return 0, nil
	}
	return last - position, nil
}
