package broker

import (
	"context"
	"errors"
	"time"

	"github.com/natter-chat/natter"
)

// A publish whose ack cannot come would otherwise wait out nats.go's ack
// timeout (publishAckTimeout, 10 s) and its sender its own timeout after
// that. Two cases nats.go handles already: a connection found dead (by
// pings) fails every pending publish with ErrDisconnected, and a stream
// with no server listening answers "no responders" at once. The third it
// cannot see: the ROOMS leader hangs or is cut off while the broker's own
// server still answers (a SIGSTOPped or partitioned node, a quorum lost).
// Publishes then reach the old leader and vanish, for as long as the
// election takes, and those sent to it just before a new leader took over
// are never answered either.
//
// So the broker watches its publishes: when one has waited stallAfter
// (acks take milliseconds on a healthy cluster) it asks the stream leader
// for the stream's info. If no leader answers within leaderProbeTimeout,
// or the answer says there is none, every publish sent before the probe
// fails with `unavailable`; when a leader answers again after that, or a
// different one than before, every publish sent before its answer fails
// too (until then they went to the old leader only). The
// outcome of a failed publish is unknown, as with any `unavailable` for a
// send: it may have been stored, and the sender's resend with the same
// client id stores it at most once (the dedupe window).

const (
	// inflightCheckInterval is how often the oldest publish is looked at.
	inflightCheckInterval = 250 * time.Millisecond
	// stallAfter is how long a publish waits for its ack before the
	// stream leader is asked whether it is there.
	stallAfter = time.Second
	// leaderProbeTimeout bounds the wait for the stream leader's answer.
	leaderProbeTimeout = 2 * time.Second
)

// inflight is a publish handed to NATS and not yet answered.
type inflight struct {
	done func(Ack, error)
	at   time.Time
}

// answer calls the done of the publish m with its outcome, unless it was
// answered before (an ack after the watch failed it is dropped).
func (b *Broker) answer(m any, a Ack, err error) {
	if v, ok := b.pending.LoadAndDelete(m); ok {
		v.(*inflight).done(a, err)
	}
}

// failPending answers every publish handed to NATS before t with err, and
// says how many there were.
func (b *Broker) failPending(t time.Time, err error) int {
	n := 0
	b.pending.Range(func(k, v any) bool {
		if v.(*inflight).at.Before(t) {
			if v, ok := b.pending.LoadAndDelete(k); ok {
				v.(*inflight).done(Ack{}, err)
				n++
			}
		}
		return true
	})
	return n
}

// oldestPending is when the oldest unanswered publish was sent, or zero.
func (b *Broker) oldestPending() time.Time {
	var oldest time.Time
	b.pending.Range(func(_, v any) bool {
		if at := v.(*inflight).at; oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
		return true
	})
	return oldest
}

// streamLeader is the server that leads ROOMS, as it says itself.
func (b *Broker) streamLeader(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, leaderProbeTimeout)
	defer cancel()
	info, err := b.stream.Info(ctx)
	if err != nil {
		return "", err
	}
	if info.Cluster == nil {
		return "", nil // not clustered: the server is the leader
	}
	if info.Cluster.Leader == "" {
		return "", errors.New("the stream has no leader")
	}
	return info.Cluster.Leader, nil
}

// watchInflight fails publishes stuck on a stream leader that is gone
// (above). It runs until Close.
func (b *Broker) watchInflight(ctx context.Context) {
	t := time.NewTicker(inflightCheckInterval)
	defer t.Stop()
	var leader string
	if info := b.stream.CachedInfo(); info != nil && info.Cluster != nil {
		leader = info.Cluster.Leader
	}
	lost := false // the last probe found no leader
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		oldest := b.oldestPending()
		if oldest.IsZero() || time.Since(oldest) < stallAfter {
			continue
		}
		probed := time.Now()
		now, err := b.streamLeader(ctx)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil:
			n := b.failPending(probed, natter.Errorf(natter.EUNAVAILABLE, "message store did not answer (%v): outcome unknown, resend with the same cid", err))
			if !lost {
				b.log.Warn("publishes unanswered and no leader of the stream answers; failing them until one does", "stream", StreamName, "failed", n, "err", err)
			}
			lost = true
		case lost || (leader != "" && now != leader):
			// Sent to the leader that is gone, or while there was none: up
			// to the answer, since the new leader may have taken over (and
			// begun to listen) while the probe was on its way.
			n := b.failPending(time.Now(), natter.Errorf(natter.EUNAVAILABLE, "message store changed leader: outcome unknown, resend with the same cid"))
			b.log.Info("stream leader answers again", "stream", StreamName, "leader", now, "was", leader, "failed", n)
			leader, lost = now, false
		default:
			leader = now
		}
	}
}
