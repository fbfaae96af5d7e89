package account

import "time"

// evict makes room for one entry in m, a map bounded to max entries: it
// drops every entry last used idle or longer ago (worth nothing: a fresh
// one is the same), then, if m is still full, the least recently used.
func evict[V any](m map[string]V, max int, now time.Time, idle time.Duration, last func(V) time.Time) {
	var oldest string
	for k, v := range m {
		if now.Sub(last(v)) >= idle {
			delete(m, k)
			continue
		}
		if oldest == "" || last(v).Before(last(m[oldest])) {
			oldest = k
		}
	}
	if len(m) >= max {
		delete(m, oldest)
	}
}
