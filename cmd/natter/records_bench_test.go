package main

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter/edge/wsclient"
)

// BenchmarkRecordsResume measures what changes to messages cost: a room of
// 10,000 messages of which 20% are edited, 5% deleted and 30% reacted to
// (one reaction each), against the same room without the changes. It
// reports the stream's bytes with and without the changes, the message
// state bucket's bytes, and the time a client takes to resume the room
// from 0: version 2 (every record) and version 1 (messages only), from the
// room cache and, after a restart, from the stream. Bounded: run it once,
//
//	go test -run '^$' -bench BenchmarkRecordsResume -benchtime 1x ./cmd/natter/
//
// docs/BENCHMARKS.md has the figures.
func BenchmarkRecordsResume(b *testing.B) {
	const messages, writers = 10000, 8
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		s := startBenchServer(b, dir)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		seqs := make([]uint64, messages)
		parallel(b, ctx, s, writers, messages, func(c *wsclient.Client, j int) error {
			ev, err := c.SendText(ctx, "big", fmt.Sprint("m", j), fmt.Sprintf("message %d of the benchmark, a line of ordinary chat", j))
			seqs[j] = ev.Seq
			return err
		})
		plain, _, err := s.m.broker.StoreSizes(ctx)
		if err != nil {
			b.Fatal(err)
		}
		// Each writer changes only its own messages (j%writers == w).
		parallel(b, ctx, s, writers, messages, func(c *wsclient.Client, j int) error {
			var err error
			switch {
			case j%20 < 4: // 20% edited
				_, err = c.Edit(ctx, "big", seqs[j], fmt.Sprint("e", j), fmt.Sprintf("message %d of the benchmark, edited", j))
			case j%20 == 4: // 5% deleted
				_, err = c.Delete(ctx, "big", seqs[j], fmt.Sprint("d", j))
			}
			if err == nil && j%10 >= 7 { // 30% reacted to
				_, err = c.React(ctx, "big", seqs[j], fmt.Sprint("r", j), "👍", false)
			}
			return err
		})
		changed, state, err := s.m.broker.StoreSizes(ctx)
		if err != nil {
			b.Fatal(err)
		}
		last, err := s.m.broker.LastSeq(ctx, "big")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(plain)/1e6, "MB-stream-plain")
		b.ReportMetric(float64(changed)/1e6, "MB-stream-changed")
		b.ReportMetric(float64(state)/1e6, "MB-msgstate")
		b.ReportMetric(resumeTime(b, ctx, s, 2, last).Seconds(), "s-resume-v2-cache")
		b.ReportMetric(resumeTime(b, ctx, s, 1, last).Seconds(), "s-resume-v1-cache")
		s.stop()
		s = startBenchServer(b, dir)
		b.ReportMetric(resumeTime(b, ctx, s, 2, last).Seconds(), "s-resume-v2-stream")
		s.stop()
		s = startBenchServer(b, dir)
		b.ReportMetric(resumeTime(b, ctx, s, 1, last).Seconds(), "s-resume-v1-stream")
		s.stop()
	}
}

// startBenchServer is startServer for a benchmark, with rates that let it
// store quickly and a room cache that holds the whole room.
func startBenchServer(b *testing.B, dir string) *server {
	return startServer(b, dir, fastRecords, func(m *Main) { m.RoomCache = 64 << 20 })
}

// parallel runs fn(j) for j in [0, n) over writers connections of one
// user, writer w taking the j with j%writers == w.
func parallel(b *testing.B, ctx context.Context, s *server, writers, n int, fn func(*wsclient.Client, int) error) {
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		// Its own room's records are not read: only the acks matter.
		c, err := wsclient.DialOptions(ctx, s.wsURL(), wsclient.Options{OnText: func(p []byte) bool {
			return bytes.HasPrefix(p, []byte(`{"type":"msg"`))
		}})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if _, err := c.AuthV(ctx, s.token("writer"), 2); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Join(ctx, "big", -1, ""); err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for j := w; j < n; j += writers {
				if err := fn(c, j); err != nil {
					errs <- fmt.Errorf("%d: %w", j, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// resumeTime joins the room from 0 with protocol version v and returns how
// long the replay up to last took.
func resumeTime(b *testing.B, ctx context.Context, s *server, v int, last uint64) time.Duration {
	c, err := wsclient.Dial(ctx, s.wsURL())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := c.AuthV(ctx, s.token("reader"), v); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	j, err := c.Join(ctx, "big", 0, "")
	if err != nil {
		b.Fatal(err)
	}
	for seen := uint64(0); seen < j.Last; {
		ev, err := c.Messages(ctx, "big", 1)
		if err != nil {
			b.Fatal(err)
		}
		seen = ev[0].Seq
	}
	return time.Since(start)
}
