package history

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

// BenchmarkSearchArchive measures what the search index costs and gives:
// archive throughput with the index on and off, the index's size, and
// query latency (p50/p99) for a user in 50 of 1,000 rooms, over an archive
// of mixed English, Chinese and Japanese messages. It is a measurement, run
// once (docs/BENCHMARKS.md):
//
//	NATTER_SEARCH_BENCH_N=1000000 go test -run '^$' -bench BenchmarkSearchArchive -benchtime 1x ./history
//
// NATTER_SEARCH_BENCH_N is the number of messages (default 100,000).
func BenchmarkSearchArchive(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("NATTER_SEARCH_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	const rooms, batch, userRooms, runs = 1000, 500, 50, 100
	ctx := context.Background()
	msgs := benchMessages(n, rooms)
	for b.Loop() {
		sizes := map[bool]int64{}
		var on *Store
		for _, index := range []bool{false, true} {
			dir := b.TempDir()
			s, err := Open(filepath.Join(dir, "history.db"))
			if err != nil {
				b.Fatal(err)
			}
			s.noSearch = !index
			start := time.Now()
			for i := 0; i < len(msgs); i += batch {
				if _, err := s.AppendThrough(ctx, msgs[min(i+batch, len(msgs))-1].Seq, msgs[i:min(i+batch, len(msgs))]); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			if _, err := s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				b.Fatal(err)
			}
			fi, err := os.Stat(filepath.Join(dir, "history.db"))
			if err != nil {
				b.Fatal(err)
			}
			sizes[index] = fi.Size()
			name := "index_off"
			if index {
				name = "index_on"
				on = s
			} else {
				s.Close()
			}
			b.ReportMetric(float64(len(msgs))/elapsed.Seconds(), name+"_msgs/s")
			b.ReportMetric(float64(fi.Size())/(1<<20), name+"_db_MiB")
		}
		b.ReportMetric(float64(sizes[true]-sizes[false])/(1<<20), "index_MiB")

		var mine []natter.RoomID
		for i := range userRooms {
			mine = append(mine, natter.RoomID(fmt.Sprintf("room%d", i*rooms/userRooms)))
		}
		for _, q := range []struct{ name, q string }{
			{"common_en", "meeting"},
			{"rare_en", "zanzibar"},
			{"phrase_en", `"release notes"`},
			{"prefix_en", "deploy*"},
			{"common_zh", "服务器"},
			{"common_ja", "会議室"},
			{"rare_ja", "富士山頂"},
			{"short_zh_2", "天气"},
			{"short_ja_1", "猫"},
			{"from_only", "from:u7"},
		} {
			p, err := ParseQuery(q.q)
			if err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, runs)
			hits := 0
			for range runs {
				start := time.Now()
				res, err := on.Search(ctx, SearchQuery{ParsedQuery: p, Rooms: mine})
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				hits = len(res.Hits)
			}
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(lat[len(lat)/2]), q.name+"_p50_ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), q.name+"_p99_ms")
			b.ReportMetric(float64(hits), q.name+"_hits")
		}
		on.Close()
	}
}

// benchMessages makes n messages spread over rooms: a third English, a
// third Chinese, a third Japanese, words drawn with a skew so that some
// are common and some rare; "zanzibar" and "富士山頂" are in about one
// message in 5,000.
func benchMessages(n, rooms int) []natter.Message {
	en := strings.Fields("the a to and of we is it for on meeting deploy deployment release notes server " +
		"build test review lunch today tomorrow please thanks bug fix issue merge branch ticket customer " +
		"design doc plan sprint retro coffee weekend office remote call agenda update status blocked ready")
	zh := strings.Fields("我们 今天 明天 服务器 部署 会议 问题 修复 版本 发布 测试 客户 设计 文档 计划 " +
		"天气 午饭 周末 办公室 更新 状态 北京 上海 谢谢 好的 没问题 马上 已经 完成")
	ja := strings.Fields("今日 明日 会議室 サーバー デプロイ 問題 修正 リリース テスト お客様 設計 資料 " +
		"予定 天気 昼ご飯 週末 東京 大阪 猫 ありがとう 了解 すぐ 完了 確認 お願いします")
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(words []string) string {
		// Skewed: low indexes much more often.
		i := int(float64(len(words)) * rng.Float64() * rng.Float64())
		return words[i]
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	msgs := make([]natter.Message, n)
	var b strings.Builder
	for i := range msgs {
		b.Reset()
		words, sep := en, " "
		switch i % 3 {
		case 1:
			words, sep = zh, ""
		case 2:
			words, sep = ja, ""
		}
		for w := range 4 + rng.IntN(12) {
			if w > 0 {
				b.WriteString(sep)
			}
			b.WriteString(pick(words))
		}
		if rng.IntN(5_000) == 0 {
			b.WriteString(" zanzibar 富士山頂")
		}
		msgs[i] = natter.Message{
			Room: natter.RoomID(fmt.Sprintf("room%d", rng.IntN(rooms))), Seq: uint64(i + 1), Epoch: "e1",
			From: natter.UserID(fmt.Sprintf("u%d", rng.IntN(200))), Text: b.String(),
			ClientID: strconv.Itoa(i), Time: base.Add(time.Duration(i) * time.Second),
		}
	}
	return msgs
}
