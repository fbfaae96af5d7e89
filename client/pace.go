package client

import (
	"context"
	"time"
)

// pacer keeps the client's frames under the server's per-connection rate
// (ready.limits.rate and burst): a frame over it is dropped by the server
// unanswered, rid and all (PROTOCOL.md section 11), so a request would
// wait for a reply that never comes. It runs a little under the limits, so
// that frames bunched up on the way still pass.
type pacer struct {
	rate   float64 // frames per second; 0: no pacing
	burst  float64
	tokens float64
	at     time.Time
}

func newPacer(rate, burst int) pacer {
	if rate <= 0 {
		return pacer{}
	}
	b := max(1, float64(burst)/2)
	return pacer{rate: float64(rate) * 0.9, burst: b, tokens: b, at: time.Now()}
}

// wait takes one token, sleeping until there is one; false if ctx ended.
func (p *pacer) wait(ctx context.Context) bool {
	if p.rate == 0 {
		return true
	}
	now := time.Now()
	p.tokens = min(p.burst, p.tokens+now.Sub(p.at).Seconds()*p.rate)
	p.at = now
	if p.tokens < 1 {
		d := time.Duration((1 - p.tokens) / p.rate * float64(time.Second))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		p.tokens, p.at = 1, time.Now()
	}
	p.tokens--
	return true
}
