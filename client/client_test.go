package client

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, 2*time.Second
	for n, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 2 * time.Second, 2 * time.Second} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := backoff(n, lo, hi)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: %v, want within [%v, %v]", n, d, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Fatalf("attempt %d: no jitter", n)
		}
	}
}

func TestRenewAt(t *testing.T) {
	now := time.Unix(1000, 0)
	if got := renewAt(now, now.Add(time.Hour), 30*time.Second); !got.Equal(now.Add(time.Hour - 30*time.Second)) {
		t.Errorf("hour-long token renewed at %v", got.Sub(now))
	}
	if got := renewAt(now, now.Add(4*time.Second), 30*time.Second); !got.Equal(now.Add(3 * time.Second)) {
		t.Errorf("4s token renewed at %v, want 3s (a quarter before)", got.Sub(now))
	}
}

func TestExpiry(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	if got := expiry("x." + enc([]byte(`{"sub":"a","exp":1700000000}`)) + ".sig"); got.Unix() != 1700000000 {
		t.Errorf("exp %v", got)
	}
	for _, tok := range []string{"", "a.b", "x." + enc([]byte(`{"sub":"a"}`)) + ".s", "x.!!.s", "x." + enc([]byte(`{"exp":"soon"}`)) + ".s"} {
		if got := expiry(tok); !got.IsZero() {
			t.Errorf("%q: exp %v, want none", tok, got)
		}
	}
}

func TestPacer(t *testing.T) {
	p := newPacer(100, 10) // 90 frames/s, bursts of 5
	start := time.Now()
	for range 5 + 18 {
		if !p.wait(t.Context()) {
			t.Fatal("wait ended")
		}
	}
	// 5 at once, then 18 at 90/s: at least 0.2s.
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Fatalf("23 frames in %v: not paced", d)
	}
	if p := newPacer(0, 0); !p.wait(t.Context()) {
		t.Fatal("no limits: no wait")
	}
}
