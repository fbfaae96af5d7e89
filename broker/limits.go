package broker

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Limits names the stream limits an operator gave a node (by flag,
// environment or config file). A node applies those to an existing stream
// when they differ, and leaves the others as the stream has them (set at
// its creation, or by nats stream edit): a node started with defaults does
// not undo what an operator set elsewhere.
type Limits struct {
	MaxAge, MaxBytes, Duplicates bool
}

// updateLimits brings an existing stream to the limits this node was
// given, and enables per-message TTLs (room retention, retention.go) on a
// stream created before they were used. Each change is logged as
// name=[from to]; a stream that cannot be updated (servers older than 2.11
// refuse TTLs) is used as it is, with a warning.
func (b *Broker) updateLimits(ctx context.Context, st jetstream.Stream, want jetstream.StreamConfig) jetstream.Stream {
	have := st.CachedInfo().Config
	next := have
	var changes []any
	change := func(name string, from, to any) {
		changes = append(changes, name, []any{from, to})
	}
	if b.cfg.Apply.MaxAge && have.MaxAge != want.MaxAge {
		next.MaxAge = want.MaxAge
		change("max_age", have.MaxAge, want.MaxAge)
	}
	if b.cfg.Apply.MaxBytes && have.MaxBytes != want.MaxBytes {
		next.MaxBytes = want.MaxBytes
		change("max_bytes", have.MaxBytes, want.MaxBytes)
	}
	if b.cfg.Apply.Duplicates && have.Duplicates != want.Duplicates {
		next.Duplicates = want.Duplicates
		change("dedupe", have.Duplicates, want.Duplicates)
	}
	if next.MaxAge > 0 && next.Duplicates > next.MaxAge {
		// JetStream refuses a window longer than the retention.
		change("dedupe", next.Duplicates, next.MaxAge)
		next.Duplicates = next.MaxAge
	}
	if want.AllowMsgTTL && !have.AllowMsgTTL {
		next.AllowMsgTTL = true
		change("allow_msg_ttl", false, true)
	}
	if len(changes) == 0 {
		return st
	}
	uctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	updated, err := b.js.UpdateStream(uctx, next)
	if err != nil {
		b.log.Warn("stream limits not changed; keeping them", append([]any{"stream", have.Name, "err", err}, changes...)...)
		return st
	}
	b.log.Info("stream limits changed", append([]any{"stream", have.Name}, changes...)...)
	return updated
}
