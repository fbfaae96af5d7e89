package account

import (
	"sync"
	"time"
)

// failures tracks failed logins by key (an account and IP, or an IP) in a
// bounded map. After free failures a key must wait before its next
// attempt, twice as long after each further failure (base, 2·base, … up to
// max); a success forgets the key.
//
// Keyed by account and IP, this replaces a lock per account: an attacker
// guessing from many IPs slows only their own pairs, and the owner logging
// in from a fresh IP is not held up by them.
type failures struct {
	free      int
	base, max time.Duration
	tracked   int

	mu sync.Mutex
	m  map[string]*failure
}

type failure struct {
	n     int
	last  time.Time // of the latest failure
	until time.Time // no attempt before this
}

func newFailures(free int, base, max time.Duration, tracked int) *failures {
	return &failures{free: free, base: base, max: max, tracked: tracked, m: map[string]*failure{}}
}

// wait is how long key must still wait before an attempt (0: none).
func (f *failures) wait(key string, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.m[key]; e != nil && now.Before(e.until) {
		return e.until.Sub(now)
	}
	return 0
}

// recent reports whether key failed within the last max: such a key has
// shown what it is.
func (f *failures) recent(key string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.m[key]
	return e != nil && now.Sub(e.last) < f.max
}

// fail records a failure of key at now.
func (f *failures) fail(key string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.m[key]
	if e == nil {
		if len(f.m) >= f.tracked {
			f.evict(now)
		}
		e = &failure{}
		f.m[key] = e
	}
	if now.Sub(e.last) >= f.max {
		e.n = 0 // quiet for the longest backoff: start over
	}
	e.n++
	e.last = now
	if over := e.n - f.free; over > 0 {
		d := f.max
		if over <= 30 && f.base<<(over-1) < f.max {
			d = f.base << (over - 1)
		}
		e.until = now.Add(d)
	}
}

// forget drops key after a success.
func (f *failures) forget(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, key)
}

// evict makes room for one entry: entries quiet for max are worth nothing
// (their next failure starts over); else the longest quiet goes. Called
// with f.mu held.
func (f *failures) evict(now time.Time) {
	evict(f.m, f.tracked, now, f.max, func(e *failure) time.Time { return e.last })
}
