package history

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

// BenchmarkArchiveRecords measures the archive of issue 11's example room:
// 10,000 messages, 20% of them edited, 5% deleted, 30% with reactions,
// archived in batches of 500 in stream order (the changes interleaved
// after their targets): the file's size against the same messages
// unchanged, and the archive's throughput. Run once:
//
//	go test -run '^$' -bench BenchmarkArchiveRecords -benchtime 1x ./history
func BenchmarkArchiveRecords(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var plain, records []natter.Message
	seq := uint64(0)
	next := func(m natter.Message) natter.Message {
		seq++
		m.Room, m.Seq, m.Epoch, m.ClientID, m.Time = "room", seq, "e1", fmt.Sprint(seq), base.Add(time.Duration(seq)*time.Second)
		return m
	}
	var changes []natter.Message // of the messages so far, flushed a few at a time
	for i := range n {
		text := fmt.Sprintf("message %d about the release plan and the meeting tomorrow, see you there", i)
		m := next(natter.Message{From: natter.UserID(fmt.Sprintf("u%d", rng.IntN(20))), Text: text})
		plain = append(plain, natter.Message{Room: m.Room, Seq: uint64(i + 1), Epoch: "e1", From: m.From, Text: text, ClientID: m.ClientID, Time: m.Time})
		records = append(records, m)
		switch r := rng.IntN(100); {
		case r < 20:
			changes = append(changes, natter.Message{From: m.From, Kind: natter.KindEdit, Target: m.Seq, Text: text + " (edited)"})
		case r < 25:
			changes = append(changes, natter.Message{From: m.From, Kind: natter.KindDelete, Target: m.Seq})
		}
		if rng.IntN(100) < 30 {
			for range 1 + rng.IntN(3) {
				changes = append(changes, natter.Message{From: natter.UserID(fmt.Sprintf("u%d", rng.IntN(20))),
					Kind: natter.KindReact, Target: m.Seq, Emoji: []string{"👍", "🎉", "❤️"}[rng.IntN(3)]})
			}
		}
		if len(changes) > 10 || i == n-1 {
			for _, c := range changes {
				records = append(records, next(c))
			}
			changes = changes[:0]
		}
	}
	for b.Loop() {
		for _, run := range []struct {
			name string
			msgs []natter.Message
		}{{"plain", plain}, {"records", records}} {
			dir := b.TempDir()
			s, err := Open(filepath.Join(dir, "history.db"))
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for i := 0; i < len(run.msgs); i += 500 {
				end := min(i+500, len(run.msgs))
				if _, err := s.AppendThrough(ctx, run.msgs[end-1].Seq, run.msgs[i:end]); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			if _, err := s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				b.Fatal(err)
			}
			s.Close()
			fi, err := os.Stat(filepath.Join(dir, "history.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(run.msgs)), run.name+"_records")
			b.ReportMetric(float64(fi.Size())/(1<<10), run.name+"_db_KiB")
			b.ReportMetric(float64(len(run.msgs))/elapsed.Seconds(), run.name+"_records/s")
		}
	}
}
