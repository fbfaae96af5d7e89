package account

import (
	"log/slog"
	"sort"
	"sync"
	"time"
)

// refusals logs refused attempts without letting an attacker flood the
// log: the first refusal after a quiet interval is logged at once (an
// attack shows up immediately), later ones are counted and summed up in at
// most one line per interval.
type refusals struct {
	log   *slog.Logger
	every time.Duration

	mu      sync.Mutex
	counts  map[string]int
	pending bool // a summary is scheduled
}

func newRefusals(log *slog.Logger, every time.Duration) *refusals {
	return &refusals{log: log, every: every, counts: map[string]int{}}
}

// note records one refusal for reason (a short fixed word: never client
// input, which must not choose our log's keys).
func (r *refusals) note(reason, ip string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.pending {
		r.pending = true
		time.AfterFunc(r.every, r.flush)
		r.log.Warn("login attempts refused; further refusals are summed up", "reason", reason, "ip", ip, "every", r.every)
		return
	}
	r.counts[reason]++
}

// flush writes the summary of the interval that ends, if anything was
// refused in it, and keeps summing while refusals go on.
func (r *refusals) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.counts) == 0 {
		r.pending = false
		return
	}
	reasons := make([]string, 0, len(r.counts))
	for k := range r.counts {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	attrs := []any{"interval", r.every}
	total := 0
	for _, k := range reasons {
		attrs = append(attrs, k, r.counts[k])
		total += r.counts[k]
	}
	r.log.Warn("login attempts refused", append([]any{"total", total}, attrs...)...)
	clear(r.counts)
	time.AfterFunc(r.every, r.flush)
}
