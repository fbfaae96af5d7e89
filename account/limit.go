package account

import (
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/natter-chat/natter/netguard"
)

// Limit is a token bucket: Burst attempts at once, refilled at Every per
// attempt.
type Limit struct {
	Every time.Duration
	Burst int
}

// limiters is a bounded map of token buckets by key (an IP, an account).
//
// An entry that has been idle long enough for its bucket to be full again
// is worth nothing (a fresh bucket is the same), so it is dropped when room
// is needed. If the map is still full, the least recently used entry goes:
// a flood of new keys can then only reset the buckets of keys that have
// been quiet the longest.
type limiters struct {
	limit Limit
	max   int

	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

func newLimiters(l Limit, max int) *limiters {
	return &limiters{limit: l, max: max, m: map[string]*bucket{}}
}

// idle is how long a bucket takes to fill up from empty.
func (s *limiters) idle() time.Duration { return s.limit.Every * time.Duration(s.limit.Burst) }

// allow takes one token of key's bucket at now, reporting whether there was
// one.
func (s *limiters) allow(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.m[key]
	if b == nil {
		if len(s.m) >= s.max {
			s.evict(now)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Every(s.limit.Every), s.limit.Burst)}
		s.m[key] = b
	}
	b.last = now
	return b.lim.AllowN(now, 1)
}

// evict makes room for one entry. Called with s.mu held.
func (s *limiters) evict(now time.Time) {
	evict(s.m, s.max, now, s.idle(), func(b *bucket) time.Time { return b.last })
}

func (s *limiters) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// clientIP is the key of a request's per-IP limits: the client's address
// as netguard resolved it (behind a trusted proxy, the forwarded one), an
// IPv6 client by its /64 (one host usually holds a whole /64).
func clientIP(r *http.Request) string { return netguard.ClientKey(r) }
