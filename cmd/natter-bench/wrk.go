package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrk drives the history scenario's HTTP load. It is an external program
// (Debian's wrk 4.1), not Go code in this process, so that the load
// generator is a known HTTP benchmark whose figures can be compared with
// other servers', and so that its CPU is its own process's.

// wrkMissing is the error when wrk is not on PATH.
var wrkMissing = errors.New("wrk not found in PATH: install it (apt-get install -y wrk)")

// lookWrk returns wrk's path, or wrkMissing.
func lookWrk() (string, error) {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", wrkMissing
	}
	return p, nil
}

// wrkPages is the Lua script: it spreads page requests over a room and
// prints one machine-readable line when wrk is done. Placeholders: %[1]q the
// path of the room's messages, %[2]d and %[3]d the range of before=SEQ,
// %[4]d the page size, %[5]d one request in that many is the latest page.
//
// wrk itself counts only statuses >= 400 as errors (3xx pass), so the
// script counts every status outside 2xx in response(): a page that did not
// come back 200 is not a page. Each thread keeps its own count, which done()
// sums through the thread objects that setup() kept.
const wrkPages = `-- written by natter-bench history: pages of a room's history
local path, lo, hi, limit, latestEvery = %[1]q, %[2]d, %[3]d, %[4]d, %[5]d
local threads = {}
local nextID = 0

function setup(thread)
  nextID = nextID + 1
  thread:set("id", nextID)
  table.insert(threads, thread)
end

function init(args)
  non2xx, sent = 0, 0
  math.randomseed(id * 7919 + os.time())
  latest = wrk.format(nil, path .. "?limit=" .. limit)
end

function request()
  sent = sent + 1
  if sent %% latestEvery == 0 then
    return latest
  end
  return wrk.format(nil, path .. "?limit=" .. limit .. "&before=" .. math.random(lo, hi))
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local non2xx = 0
  for _, t in ipairs(threads) do
    non2xx = non2xx + t:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format("natter-bench: requests=%%d duration_us=%%d bytes=%%d non2xx=%%d connect=%%d read=%%d write=%%d timeout=%%d status=%%d p50_us=%%d p90_us=%%d p99_us=%%d p999_us=%%d max_us=%%d\n",
    summary.requests, summary.duration, summary.bytes, non2xx, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
`

// wrkRun is what to run: the room's messages URL, the range of before
// cursors that all give full pages, and the load.
type wrkRun struct {
	bin, url, path, token string
	lo, hi                uint64
	limit, latestEvery    int
	threads, conns        int
	duration              time.Duration
	script                string // where to write the Lua script
}

// wrkResult is wrk's summary of a run.
type wrkResult struct {
	Requests    int64
	Duration    time.Duration
	Bytes       int64
	Non2xx      int64 // every status outside 2xx
	Connect     int64 // socket errors, as wrk counts them
	Read        int64
	Write       int64
	Timeout     int64
	Status      int64 // statuses >= 400 (wrk's own count, within Non2xx)
	P50, P90    time.Duration
	P99, P999   time.Duration
	Max         time.Duration
	CPU         time.Duration // wrk's user + system time
	Text        string        // wrk's own report, for the log
	RequestsSec float64
}

func (r wrkResult) socketErrors() int64 { return r.Connect + r.Read + r.Write + r.Timeout }

// run writes the script, runs wrk to completion and parses its summary.
func (w wrkRun) run(ctx context.Context) (wrkResult, error) {
	var res wrkResult
	script := fmt.Sprintf(wrkPages, w.path, w.lo, w.hi, w.limit, w.latestEvery)
	if err := os.WriteFile(w.script, []byte(script), 0o644); err != nil {
		return res, err
	}
	// wrk's -d is whole seconds; a shorter duration would be rounded to 0.
	secs := max(1, int(w.duration.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, w.bin, "-t"+strconv.Itoa(w.threads), "-c"+strconv.Itoa(w.conns),
		"-d"+strconv.Itoa(secs)+"s", "--latency", "-s", w.script,
		"-H", "Authorization: Bearer "+w.token, w.url)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if cmd.ProcessState != nil {
		res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	res.Text = out.String()
	if err != nil {
		return res, fmt.Errorf("wrk: %w: %s", err, strings.TrimSpace(errb.String()+"\n"+out.String()))
	}
	if err := res.parse(res.Text); err != nil {
		return res, fmt.Errorf("wrk: %w; its output:\n%s", err, res.Text)
	}
	return res, nil
}

// parse reads the line the script's done() printed. Its figures are wrk's
// own (the same as its Requests/sec and --latency distribution), in
// microseconds rather than rounded to wrk's display units.
func (r *wrkResult) parse(out string) error {
	var line string
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "natter-bench: "); ok {
			line = rest
		}
	}
	if line == "" {
		return errors.New("no summary line (natter-bench: ...)")
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	fields := map[string]func(int64){
		"requests":    func(v int64) { r.Requests = v },
		"duration_us": func(v int64) { r.Duration = us(v) },
		"bytes":       func(v int64) { r.Bytes = v },
		"non2xx":      func(v int64) { r.Non2xx = v },
		"connect":     func(v int64) { r.Connect = v },
		"read":        func(v int64) { r.Read = v },
		"write":       func(v int64) { r.Write = v },
		"timeout":     func(v int64) { r.Timeout = v },
		"status":      func(v int64) { r.Status = v },
		"p50_us":      func(v int64) { r.P50 = us(v) },
		"p90_us":      func(v int64) { r.P90 = us(v) },
		"p99_us":      func(v int64) { r.P99 = us(v) },
		"p999_us":     func(v int64) { r.P999 = us(v) },
		"max_us":      func(v int64) { r.Max = us(v) },
	}
	seen := 0
	for _, kv := range strings.Fields(line) {
		k, v, ok := strings.Cut(kv, "=")
		set, known := fields[k]
		if !ok || !known {
			return fmt.Errorf("bad summary field %q", kv)
		}
		n, err := strconv.ParseFloat(v, 64) // Lua may print large numbers as floats
		if err != nil {
			return fmt.Errorf("bad summary field %q", kv)
		}
		set(int64(n))
		seen++
	}
	if seen != len(fields) {
		return fmt.Errorf("summary has %d of %d fields", seen, len(fields))
	}
	if r.Duration <= 0 {
		return errors.New("summary: zero duration")
	}
	r.RequestsSec = float64(r.Requests) / r.Duration.Seconds()
	return nil
}
