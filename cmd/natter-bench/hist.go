package main

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to 5 minutes, with three
// significant digits.
const (
	histMin   = 1
	histMax   = int64(5 * time.Minute / time.Microsecond)
	histDigit = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigit) }

// shardedHist spreads concurrent recorders over several histograms, each
// under its own lock, so that thousands of reader goroutines do not queue
// on one mutex; snapshot merges them.
type shardedHist struct {
	shards [16]struct {
		mu sync.Mutex
		h  *hdrhistogram.Histogram
		_  [40]byte // keep shards on separate cache lines
	}
}

func newShardedHist() *shardedHist {
	s := &shardedHist{}
	for i := range s.shards {
		s.shards[i].h = newHist()
	}
	return s
}

// record adds d (clamped to the histogram's range) to shard key%16.
func (s *shardedHist) record(key int, d time.Duration) {
	v := min(max(int64(d/time.Microsecond), histMin), histMax)
	sh := &s.shards[key&15]
	sh.mu.Lock()
	_ = sh.h.RecordValue(v)
	sh.mu.Unlock()
}

func (s *shardedHist) reset() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.h.Reset()
		sh.mu.Unlock()
	}
}

func (s *shardedHist) snapshot() *hdrhistogram.Snapshot {
	all := newHist()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		all.Merge(sh.h)
		sh.mu.Unlock()
	}
	return all.Export()
}

// mergeSnapshots adds up the histograms of several processes.
func mergeSnapshots(snaps ...*hdrhistogram.Snapshot) *hdrhistogram.Histogram {
	all := newHist()
	for _, s := range snaps {
		if s != nil {
			all.Merge(hdrhistogram.Import(s))
		}
	}
	return all
}

// Latency is the summary of a histogram that reports carry, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms,omitempty"` // history only (wrk reports it)
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

func summarize(h *hdrhistogram.Histogram) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}
