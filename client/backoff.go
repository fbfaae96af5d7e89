package client

import (
	"math/rand/v2"
	"time"
)

// backoff is the wait before reconnect attempt n (0 for the first retry):
// doubling from lo up to hi, each wait drawn at random from its upper half
// (jitter), so that the clients a server restart disconnected together do
// not all come back at the same moment.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 0; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}
