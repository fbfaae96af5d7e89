package edge

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
)

// The per-user send rate holds across the cluster (docs/SECURITY.md#quotas)
// without a round trip per send. Each edge keeps the user's token bucket
// as before (quota.go) and, every report interval, tells the other edges
// how many sends each of its users made since its last report. An edge
// that hears "alice sent n on edge B" takes n tokens from alice's bucket
// here, letting it go below zero: every edge's bucket is thus charged for
// every send of the user anywhere, locally at once and remotely at most
// one interval (plus delivery) later, and so approximates one cluster-wide
// bucket.
//
// The rule for a send is unchanged: the user's bucket on this edge must
// hold a token. A user on one edge only is never charged by anyone else
// and gets exactly the per-edge behaviour (same refusals, same latency:
// a send only adds a counter increment). A user spread over E edges gets,
// over any window of T seconds, at most
//
//	rate×T + burst + (E−1)×(burst + rate×L)
//
// sends in total, where L is the lag of a report (one interval plus
// delivery): take the edge whose last send came last; its bucket paid for
// its own sends and for every other edge's sends older than L, which is at
// most burst + rate×T; each other edge sent at most burst + rate×L in the
// last L. Sends beyond the rate are paid back (the charged buckets go
// negative and refill), so over long windows the total tends to the rate.
// A lost report (NATS unreachable) only lets a user send more, up to the
// per-edge rate on each edge; never less.
type userRates struct {
	e        *Edge
	interval time.Duration
	// maxCharge bounds what one report may take from a bucket: an honest
	// edge with the same quota cannot have allowed more in an interval
	// (a burst and two intervals' refill, leaving room for a late tick).
	maxCharge int

	mu   sync.Mutex
	sent map[natter.UserID]int // local sends since the last report
	// others is what other edges reported in this interval [0] and the
	// previous one [1]: a bucket made now (the user's first connection
	// here) is charged with it, so a new connection on a fresh edge does
	// not bring a full burst while the user is sending elsewhere. Older
	// reports, and those of edges that went silent, fall out on rotation.
	others [2]map[natter.UserID]int
}

// DefaultUserRateInterval is how often edges report their users' sends.
const DefaultUserRateInterval = 500 * time.Millisecond

// startUserRates starts reporting and following sends; nil (per-edge
// limits only) when the user rate is off. It stops with e.ctx.
func (e *Edge) startUserRates() *userRates {
	q := e.cfg.Quota
	if q.UserRate <= 0 {
		return nil
	}
	r := &userRates{
		e: e, interval: q.UserRateInterval,
		maxCharge: q.UserBurst + int(math.Ceil(2*q.UserRate*q.UserRateInterval.Seconds())),
		sent:      map[natter.UserID]int{},
		others:    [2]map[natter.UserID]int{{}, {}},
	}
	stop, err := e.b.FollowSends(e.id, r.charge)
	if err != nil {
		// Not fatal: each edge still limits its own share.
		e.log.Warn("user send rate is per edge only: cannot follow other edges' reports", "err", err)
		stop = func() {}
	}
	go r.run(stop)
	return r
}

func (r *userRates) run(stop func()) {
	defer stop()
	t := time.NewTicker(r.interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-r.e.ctx.Done():
			return
		case <-t.C:
			err := r.report()
			if err != nil && !failing {
				r.e.log.Warn("user send rate is per edge only until reports go out again", "err", err)
			}
			failing = err != nil
		}
	}
}

// report publishes the sends since the last report, if there were any, in
// messages of at most broker.MaxSendReport users, and ages others' reports.
func (r *userRates) report() error {
	r.mu.Lock()
	sent := r.sent
	r.sent = map[natter.UserID]int{}
	r.others[1], r.others[0] = r.others[0], map[natter.UserID]int{}
	r.mu.Unlock()
	chunk := make(map[natter.UserID]int, min(len(sent), broker.MaxSendReport))
	for u, n := range sent {
		chunk[u] = n
		if len(chunk) == broker.MaxSendReport {
			if err := r.e.b.PublishSends(r.e.id, chunk); err != nil {
				return err
			}
			clear(chunk)
		}
	}
	if len(chunk) == 0 {
		return nil
	}
	return r.e.b.PublishSends(r.e.id, chunk)
}

// count counts one allowed send of user on this edge, for the next report.
func (r *userRates) count(user natter.UserID) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.sent[user]++
	r.mu.Unlock()
}

// charge takes another edge's reported sends from the buckets of those
// users connected here, and keeps them for buckets made in the next two
// intervals. e.mu is held throughout, as when admit makes a bucket, so
// that a report is charged to a new bucket once, not twice or never.
func (r *userRates) charge(_ string, sends map[natter.UserID]int) {
	now := time.Now()
	r.e.mu.Lock()
	defer r.e.mu.Unlock()
	r.mu.Lock()
	for u, n := range sends {
		r.others[0][u] += n
	}
	r.mu.Unlock()
	for u, n := range sends {
		if uq := r.e.userQuotas[u]; uq != nil {
			r.take(uq.send, n, now)
		}
	}
}

// chargeNew charges a new bucket of user with what other edges reported
// lately. Called with e.mu held.
func (r *userRates) chargeNew(user natter.UserID, lim *rate.Limiter) {
	if r == nil {
		return
	}
	r.mu.Lock()
	n := r.others[0][user] + r.others[1][user]
	r.mu.Unlock()
	if n > 0 {
		r.take(lim, n, time.Now())
	}
}

// take removes n tokens from lim, below zero if need be: ReserveN takes at
// most a burst at a time and never refuses when told not to wait.
func (r *userRates) take(lim *rate.Limiter, n int, now time.Time) {
	n = min(n, r.maxCharge)
	for b := max(lim.Burst(), 1); n > 0; n -= b {
		lim.ReserveN(now, min(n, b))
	}
}
