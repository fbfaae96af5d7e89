package account

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/natter-chat/natter"
)

// hashQueue runs bcrypt work, which is deliberately slow, on a fixed
// number of workers (one by default: a burst of logins takes at most one
// core from the chat) with a bounded number of requests waiting. A request
// that finds the queue full is refused at once with a Retry-After, instead
// of waiting minutes behind an attacker's logins.
type hashQueue struct {
	admit   chan struct{} // workers + waiting: a slot to be in the queue at all
	run     chan struct{} // workers: a slot to hash
	workers int
	// took is the duration of the latest hash (nanos), for Retry-After.
	took atomic.Int64
}

func newHashQueue(workers, waiting int) *hashQueue {
	return &hashQueue{
		admit:   make(chan struct{}, workers+waiting),
		run:     make(chan struct{}, workers),
		workers: workers,
	}
}

// busyError is the refusal of a full queue; RetryAfter is the time the
// queue, as it stands, takes to drain.
type busyError struct {
	error
	retryAfter time.Duration
}

// do runs work when a worker is free, or fails at once with a *busyError
// if the queue is full, or with EUNAVAILABLE when ctx ends while waiting.
func (q *hashQueue) do(ctx context.Context, work func() ([]byte, error)) ([]byte, error) {
	select {
	case q.admit <- struct{}{}:
	default:
		return nil, &busyError{
			error:      natter.Errorf(natter.EUNAVAILABLE, "server busy; try again in a few seconds"),
			retryAfter: time.Duration(q.took.Load()) * time.Duration(cap(q.admit)/q.workers),
		}
	}
	defer func() { <-q.admit }()
	select {
	case q.run <- struct{}{}:
	case <-ctx.Done():
		return nil, natter.Errorf(natter.EUNAVAILABLE, "server busy; try again")
	}
	defer func() { <-q.run }()
	start := time.Now()
	defer func() { q.took.Store(int64(time.Since(start))) }()
	return work()
}

// seconds is a Retry-After value: d in whole seconds, at least 1.
func seconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
