package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWrkParse(t *testing.T) {
	out := `Running 1s test @ http://127.0.0.1:1/api/rooms/r/messages
  Latency Distribution
     50%   75.32ms
Requests/sec:    663.18
natter-bench: requests=6961 duration_us=10496465 bytes=95231255 non2xx=3 connect=1 read=2 write=0 timeout=4 status=3 p50_us=75315 p90_us=289834 p99_us=598106 p999_us=880035 max_us=1.082591e+06
`
	var r wrkResult
	if err := r.parse(out); err != nil {
		t.Fatal(err)
	}
	if r.Requests != 6961 || r.Non2xx != 3 || r.socketErrors() != 7 || r.P99 != 598106*time.Microsecond || r.Max != 1082591*time.Microsecond {
		t.Errorf("parsed %+v", r)
	}
	if rps := int(r.RequestsSec*100 + 0.5); rps != 66318 {
		t.Errorf("requests/s %v, want 663.18 as wrk prints it", r.RequestsSec)
	}
	for _, bad := range []string{
		"Requests/sec: 1\n",
		"natter-bench: requests=1 duration_us=1\n",
		"natter-bench: requests=x duration_us=1 bytes=1 non2xx=0 connect=0 read=0 write=0 timeout=0 status=0 p50_us=1 p90_us=1 p99_us=1 p999_us=1 max_us=1\n",
	} {
		if err := (&wrkResult{}).parse(bad); err == nil {
			t.Errorf("parse(%q): no error", bad)
		}
	}
}

// TestWrkScript runs the Lua script through the real wrk: every request
// must be a page of the room with limit=50, before= within the range or
// none, and every status outside 2xx (a 3xx too, which wrk itself lets
// pass) must be counted.
func TestWrkScript(t *testing.T) {
	bin, err := lookWrk()
	if err != nil {
		t.Skip(err)
	}
	const lo, hi = 51, 5001
	var n, latest, bad atomic.Int64
	var mu sync.Mutex
	var badQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		ok := r.URL.Path == "/api/rooms/h-room/messages" && q.Get("limit") == "50" && r.Header.Get("Authorization") == "Bearer tok"
		if b := q.Get("before"); b == "" {
			latest.Add(1)
		} else if v, err := strconv.Atoi(b); err != nil || v < lo || v > hi {
			ok = false
		}
		if !ok {
			bad.Add(1)
			mu.Lock()
			badQuery = r.URL.String()
			mu.Unlock()
		}
		switch n.Add(1) % 100 {
		case 0:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 1:
			w.WriteHeader(http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)
	w := wrkRun{bin: bin, url: srv.URL + "/api/rooms/h-room/messages", path: "/api/rooms/h-room/messages", token: "tok",
		lo: lo, hi: hi, limit: 50, latestEvery: 10, threads: 2, conns: 4, duration: time.Second,
		script: filepath.Join(t.TempDir(), "pages.lua")}
	res, err := w.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if bad.Load() > 0 {
		t.Errorf("%d requests outside the room's pages, e.g. %s", bad.Load(), badQuery)
	}
	// wrk may stop with a few requests sent but unanswered: the server's
	// count bounds the non-2xx it can have seen.
	served := n.Load()
	if res.Requests == 0 || res.Requests > served {
		t.Fatalf("wrk counted %d requests, the server served %d", res.Requests, served)
	}
	if want := res.Requests / 50; res.Non2xx < want-2 || res.Non2xx > served/50+2 {
		t.Errorf("non2xx %d of %d requests, want about %d (1 in 50)", res.Non2xx, res.Requests, want)
	}
	if l := latest.Load(); l < served/10-4 || l > served/10+4 {
		t.Errorf("%d latest pages of %d requests, want 1 in 10", l, served)
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.CPU <= 0 {
		t.Errorf("latency p50 %v p99 %v, cpu %v", res.P50, res.P99, res.CPU)
	}
}
