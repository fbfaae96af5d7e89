package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one invocation: what ran, where, and the reports.
type Result struct {
	Scenario string             `json:"scenario"`
	Started  time.Time          `json:"started"`
	Commit   string             `json:"commit,omitempty"`         // of the working tree
	Version  string             `json:"natter_version,omitempty"` // of the natter binary started`
	CPU      string             `json:"cpu"`
	Cores    int                `json:"cores"`
	Config   map[string]any     `json:"config"`
	Natter   *Report            `json:"natter,omitempty"`
	Baseline *Report            `json:"baseline,omitempty"`
	Ratios   map[string]float64 `json:"ratios,omitempty"` // natter / baseline
}

// Report is one scenario against one target; fields not used by the
// scenario are left out.
type Report struct {
	Target         string  `json:"target"`
	Conns          int     `json:"conns,omitempty"`
	Rooms          int     `json:"rooms,omitempty"`
	Members        int     `json:"members_per_room,omitempty"`
	PerConn        int     `json:"rooms_per_conn,omitempty"`
	Failed         int     `json:"failed,omitempty"`
	Closed         int     `json:"closed_by_server,omitempty"`
	ConnectSeconds float64 `json:"connect_s,omitempty"`

	// idle
	RSSBeforeMiB float64 `json:"rss_before_mib,omitempty"`
	RSSAfterMiB  float64 `json:"rss_after_mib,omitempty"`
	PerConnKiB   float64 `json:"rss_per_conn_kib,omitempty"`

	// fanout
	Steps []Step `json:"steps,omitempty"`
	Best  *Step  `json:"best,omitempty"` // highest rate within the p99 target
	Half  *Step  `json:"half,omitempty"` // half of it

	// publish
	Senders     int      `json:"senders,omitempty"`
	Window      int      `json:"window,omitempty"`
	Acked       int64    `json:"acked,omitempty"`
	AckedPerSec float64  `json:"acked_per_s,omitempty"`
	Errors      int64    `json:"errors,omitempty"`
	AckLatency  *Latency `json:"ack_latency,omitempty"`

	// storm
	MissedPerRoom      int      `json:"missed_per_room,omitempty"`
	Published          int64    `json:"published,omitempty"`
	Expected           int64    `json:"expected,omitempty"`
	Received           int64    `json:"received,omitempty"`
	Missing            int64    `json:"missing,omitempty"`
	Extra              int64    `json:"extra,omitempty"`
	Gaps               int64    `json:"gaps,omitempty"`
	Dups               int64    `json:"dups,omitempty"`
	NotCaught          int      `json:"not_caught_up,omitempty"`
	AllCaughtUpSeconds float64  `json:"all_caught_up_s,omitempty"`
	CatchUp            *Latency `json:"catch_up,omitempty"` // per client

	// history
	Messages           int           `json:"messages,omitempty"`
	PageSize           int           `json:"page_size,omitempty"`
	HTTPConns          int           `json:"http_conns,omitempty"`
	SeedSeconds        float64       `json:"seed_s,omitempty"`
	ArchiveWaitSeconds float64       `json:"archive_wait_s,omitempty"` // after the last ack
	Pages              int64         `json:"pages,omitempty"`
	PagesPerSec        float64       `json:"pages_per_s,omitempty"`
	MiBPerSec          float64       `json:"mib_per_s,omitempty"`
	Non2xx             *int64        `json:"non_2xx,omitempty"` // a pointer so that 0 is written
	SocketErrors       *SocketErrors `json:"socket_errors,omitempty"`
	PageLatency        *Latency      `json:"page_latency,omitempty"` // wrk's, per request

	Server    *Usage  `json:"server,omitempty"`
	LoadCores float64 `json:"load_generator_cores,omitempty"`
}

// Step is one rate of a fanout run.
type Step struct {
	Rate             float64  `json:"rate"`
	Sent             int64    `json:"sent"`
	Acked            int64    `json:"acked,omitempty"`
	Errors           int64    `json:"errors,omitempty"`
	Unanswered       int64    `json:"unanswered,omitempty"` // sends not acked 10 s after the step
	Stuck            bool     `json:"stuck,omitempty"`      // ... nor a minute later
	Expected         int64    `json:"expected"`
	Received         int64    `json:"received"`
	Missing          int64    `json:"missing,omitempty"`
	Extra            int64    `json:"extra,omitempty"`
	Gaps             int64    `json:"gaps,omitempty"`
	Closed           int      `json:"closed_by_server,omitempty"`
	DeliveriesPerSec float64  `json:"deliveries_per_s"`
	Latency          Latency  `json:"latency"`
	AckLatency       *Latency `json:"ack_latency,omitempty"`
	Server           *Usage   `json:"server,omitempty"`
	LoadCores        float64  `json:"load_generator_cores,omitempty"`
	Pass             bool     `json:"pass"`
}

func newResult(c config) *Result {
	cfg := map[string]any{"size": c.size, "procs": c.procs, "src_ips": len(c.srcIPs)}
	switch c.scenario {
	case "idle":
		cfg["conns"], cfg["rooms"], cfg["per_conn"], cfg["idle_wait_s"] = c.conns, c.rooms, c.perConn, c.idleWait.Seconds()
	case "fanout":
		cfg["rooms"], cfg["members"], cfg["publishers"], cfg["duration_s"], cfg["find_max"], cfg["p99_target_ms"] =
			c.rooms, c.members, c.publishers, c.duration.Seconds(), c.findMax, c.p99.Seconds()*1000
		cfg["rates"] = c.rates
	case "publish":
		cfg["senders"], cfg["window"], cfg["duration_s"] = c.senders, c.window, c.duration.Seconds()
	case "storm":
		cfg["conns"], cfg["rooms"], cfg["missed"] = c.conns, c.rooms, c.missed
	case "history":
		cfg["messages"], cfg["http_conns"], cfg["duration_s"], cfg["page_size"], cfg["latest_every"] =
			c.messages, c.httpConns, c.duration.Seconds(), historyPage, latestEvery
	}
	if c.url != "" {
		cfg["url"] = c.url
	}
	if c.role != "serve" {
		cfg["role"] = c.role
	}
	if c.serverArgs != "" {
		cfg["server_args"] = c.serverArgs
	}
	return &Result{Scenario: c.scenario, Started: time.Now().UTC().Truncate(time.Second), Commit: gitCommit(),
		CPU: cpuModel(), Cores: runtime.NumCPU(), Config: cfg}
}

// finish computes the natter/baseline ratios.
func (r *Result) finish() {
	n, b := r.Natter, r.Baseline
	if n == nil || b == nil {
		return
	}
	r.Ratios = map[string]float64{}
	ratio := func(k string, x, y float64) {
		if y != 0 {
			r.Ratios[k] = round(x/y, 2)
		}
	}
	switch r.Scenario {
	case "fanout":
		if n.Best != nil && b.Best != nil {
			ratio("best_rate", n.Best.Rate, b.Best.Rate)
			ratio("best_deliveries_per_s", n.Best.DeliveriesPerSec, b.Best.DeliveriesPerSec)
		}
		for _, ns := range n.Steps {
			for _, bs := range b.Steps {
				if ns.Rate == bs.Rate {
					k := fmt.Sprintf("at_%g_", ns.Rate)
					ratio(k+"deliveries_per_s", ns.DeliveriesPerSec, bs.DeliveriesPerSec)
					ratio(k+"p99", ns.Latency.P99, bs.Latency.P99)
					if ns.Server != nil && bs.Server != nil {
						ratio(k+"server_cores", ns.Server.Cores, bs.Server.Cores)
					}
				}
			}
		}
	case "publish":
		ratio("acked_per_s", n.AckedPerSec, b.AckedPerSec)
		if n.AckLatency != nil && b.AckLatency != nil {
			ratio("ack_p50", n.AckLatency.P50, b.AckLatency.P50)
			ratio("ack_p99", n.AckLatency.P99, b.AckLatency.P99)
		}
	}
}

func (r *Result) save(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s-%s.json", r.Scenario, r.Started.Format("20060102-150405"))
	if r.Scenario == "fanout" {
		name = fmt.Sprintf("%s-%vx%v-%s.json", r.Scenario, r.Config["rooms"], r.Config["members"], r.Started.Format("20060102-150405"))
	}
	path := filepath.Join(dir, name)
	return path, writeJSON(path, r)
}

func (r *Result) print(w io.Writer) {
	fmt.Fprintf(w, "\nnatter-bench %s  (tree %s, %s, %d cores, %s)\n", r.Scenario, r.Commit, r.Version, r.Cores, r.CPU)
	reps := []*Report{r.Natter}
	if r.Baseline != nil {
		reps = append(reps, r.Baseline)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	defer tw.Flush()
	switch r.Scenario {
	case "idle":
		fmt.Fprintln(tw, "target\tconns\trooms/conn\tfailed\tclosed\tconnect s\tRSS before MiB\tRSS after MiB\tKiB/conn\tserver cores\tother cores\t")
		for _, p := range reps {
			if p != nil {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.2f\t%s\t%s\t\n", p.Target, p.Conns, p.PerConn, p.Failed, p.Closed,
					p.ConnectSeconds, p.RSSBeforeMiB, p.RSSAfterMiB, p.PerConnKiB, cores(p.Server), other(p.Server))
			}
		}
	case "fanout":
		fmt.Fprintln(tw, "target\trate/s\tsent\texpected\treceived\tmissing\tclosed\tdeliveries/s\tp50 ms\tp99 ms\tp999 ms\tmax ms\tserver cores\tRSS MiB\tload cores\tother cores\tp99 ok\t")
		for _, p := range reps {
			if p == nil {
				continue
			}
			steps := p.Steps
			if p.Half != nil {
				steps = append(steps, *p.Half)
			}
			for _, s := range steps {
				fmt.Fprintf(tw, "%s\t%g\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%.2f\t%s\t%v\t\n", p.Target, s.Rate, s.Sent, s.Expected, s.Received,
					s.Missing, s.Closed, s.DeliveriesPerSec, s.Latency.P50, s.Latency.P99, s.Latency.P999, s.Latency.Max, cores(s.Server), rss(s.Server), s.LoadCores, other(s.Server), s.Pass)
			}
			if p.Best != nil {
				fmt.Fprintf(tw, "%s best\t%g\t\t\t\t\t\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t\t\t\t\t\n", p.Target, p.Best.Rate, p.Best.DeliveriesPerSec,
					p.Best.Latency.P50, p.Best.Latency.P99, p.Best.Latency.P999, p.Best.Latency.Max)
			}
		}
	case "publish":
		fmt.Fprintln(tw, "target\tsenders\twindow\tacked\terrors\tacked/s\tack p50 ms\tack p99 ms\tack p999 ms\tack max ms\tserver cores\tRSS MiB\tother cores\t")
		for _, p := range reps {
			if p != nil && p.AckLatency != nil {
				l := p.AckLatency
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t\n", p.Target, p.Senders, p.Window, p.Acked, p.Errors,
					p.AckedPerSec, l.P50, l.P99, l.P999, l.Max, cores(p.Server), rss(p.Server), other(p.Server))
			}
		}
	case "storm":
		fmt.Fprintln(tw, "target\tclients\trooms\tmissed/room\tpublished\texpected\treceived\tmissing\tgaps+dups\tnot caught up\tall caught up s\tcatch-up p50 ms\tp99 ms\tserver cores\tpeak RSS MiB\tother cores\t")
		for _, p := range reps {
			if p != nil && p.CatchUp != nil {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.1f\t%.1f\t%s\t%s\t%s\t\n", p.Target, p.Conns, p.Rooms, p.MissedPerRoom,
					p.Published, p.Expected, p.Received, p.Missing, p.Gaps+p.Dups, p.NotCaught, p.AllCaughtUpSeconds,
					p.CatchUp.P50, p.CatchUp.P99, cores(p.Server), peak(p.Server), other(p.Server))
			}
		}
	case "history":
		fmt.Fprintln(tw, "target\tmessages\tconns\tpages\tpages/s\tMiB/s\tnon-2xx\tsocket errors\tp50 ms\tp90 ms\tp99 ms\tmax ms\tserver cores\tRSS MiB\tpeak RSS MiB\tload cores\tother cores\t")
		for _, p := range reps {
			if p != nil && p.PageLatency != nil && p.SocketErrors != nil && p.Non2xx != nil {
				l, e := p.PageLatency, p.SocketErrors
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%.1f\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%.2f\t%s\t\n", p.Target, p.Messages, p.HTTPConns,
					p.Pages, p.PagesPerSec, p.MiBPerSec, *p.Non2xx, e.Connect+e.Read+e.Write+e.Timeout, l.P50, l.P90, l.P99, l.Max,
					cores(p.Server), rss(p.Server), peak(p.Server), p.LoadCores, other(p.Server))
			}
		}
	}
	if len(r.Ratios) > 0 {
		var parts []string
		for k, v := range r.Ratios {
			parts = append(parts, fmt.Sprintf("%s=%.2f", k, v))
		}
		fmt.Fprintf(tw, "\nnatter/baseline: %s\n", strings.Join(slices.Sorted(slices.Values(parts)), "  "))
	}
}

func cores(u *Usage) string {
	if u == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", u.Cores)
}

func other(u *Usage) string {
	if u == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", u.OtherCores)
}

func rss(u *Usage) string {
	if u == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f", u.RSSMiB)
}

func peak(u *Usage) string {
	if u == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f", u.PeakRSSMiB)
}
