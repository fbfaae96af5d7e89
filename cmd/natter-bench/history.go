package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// The history scenario: pages of a room's archive over HTTP
// (GET /api/rooms/{room}/messages, docs/HTTP-API.md) under load from wrk,
// against a room that one natter client has filled over the WebSocket.
const (
	historyPage = 50 // the API's default page, what a client opening a room fetches
	// One request in latestEvery is the plain latest page (no cursor), the
	// rest scroll back from a random point: a room is opened once and then
	// scrolled.
	latestEvery = 10
	// archiveWait bounds the wait for the archive to hold the last seeded
	// message; /readyz already allows it to trail by up to 1000.
	archiveWait = 60 * time.Second
)

// history seeds one room with --messages messages, waits until the archive
// has them all, then runs wrk for --duration with --http-conns connections
// asking for pages of 50, and reports pages/s, latency and the server's
// resources over the wrk run.
func history(ctx context.Context, c config, t *target, log *slog.Logger) (*Report, error) {
	wrkBin, err := lookWrk()
	if err != nil {
		return nil, err
	}
	base, err := httpBase(t.url)
	if err != nil {
		return nil, err
	}
	room, user := prefix("h")+"room", prefix("h")+"seeder"
	rep := &Report{Target: t.name, Messages: c.messages, PageSize: historyPage, HTTPConns: c.httpConns}
	token, err := poolTokens.issue(t.secret, user)
	if err != nil {
		return nil, err
	}
	api := historyClient{base: base, room: room, token: token}

	last, seedSecs, err := seed(ctx, c, t, user, room)
	rep.SeedSeconds = round(seedSecs, 2)
	if err != nil {
		return rep, err
	}
	log.Info("seeded", "room", room, "messages", c.messages, "last seq", last, "in", rep.SeedSeconds)

	t0 := time.Now()
	if err := api.waitArchived(ctx, last, archiveWait); err != nil {
		return rep, err
	}
	rep.ArchiveWaitSeconds = round(time.Since(t0).Seconds(), 2)

	// Every before= in [lo, hi] has at least a full page below it: lo is
	// just past the room's 50th message, hi just past its last. The room's
	// seqs are not contiguous when other rooms get messages meanwhile (one
	// stream holds every room), hence the 50th message's seq, not first+50.
	first, err := api.page(ctx, "?after=0&limit="+strconv.Itoa(historyPage))
	if err != nil {
		return rep, err
	}
	if len(first) < historyPage {
		return rep, fmt.Errorf("history: the room's first page has %d messages, want %d (--messages too small?)", len(first), historyPage)
	}
	lo, hi := first[len(first)-1]+1, last+1
	for _, q := range []string{"?limit=50", "?limit=50&before=" + strconv.FormatUint(lo, 10), "?limit=50&before=" + strconv.FormatUint(hi, 10)} {
		if seqs, err := api.page(ctx, q); err != nil {
			return rep, err
		} else if len(seqs) != historyPage {
			return rep, fmt.Errorf("history: %s gave %d messages, want %d", q, len(seqs), historyPage)
		}
	}

	script, err := os.CreateTemp("", "natter-bench-history-*.lua")
	if err != nil {
		return rep, err
	}
	script.Close()
	if c.keep {
		log.Info("wrk script kept", "file", script.Name())
	} else {
		defer os.Remove(script.Name())
	}
	w := wrkRun{bin: wrkBin, url: base + api.path(), path: api.path(), token: token, lo: lo, hi: hi,
		limit: historyPage, latestEvery: latestEvery, threads: min(2, c.httpConns), conns: c.httpConns,
		duration: c.duration, script: script.Name()}
	log.Info("wrk", "url", w.url, "conns", w.conns, "duration", c.duration, "before", fmt.Sprintf("%d..%d", lo, hi))
	um := newUsageMeter(t, nil)
	defer um.close()
	um.begin()
	res, err := w.run(ctx)
	um.addExited(res.CPU)
	rep.Server, rep.LoadCores = um.end()
	// wrk's own report, as it printed it: the figures below come from the
	// same run, unrounded.
	fmt.Fprint(os.Stderr, res.Text)
	if err != nil {
		return rep, err
	}
	ms := func(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }
	rep.Pages = res.Requests
	rep.PagesPerSec = round(res.RequestsSec, 0)
	rep.Non2xx = &res.Non2xx
	rep.SocketErrors = &SocketErrors{Connect: res.Connect, Read: res.Read, Write: res.Write, Timeout: res.Timeout}
	rep.PageLatency = &Latency{Count: res.Requests, P50: ms(res.P50), P90: ms(res.P90), P99: ms(res.P99), P999: ms(res.P999), Max: ms(res.Max)}
	rep.MiBPerSec = round(float64(res.Bytes)/res.Duration.Seconds()/(1<<20), 1)
	log.Info("history", "pages/s", rep.PagesPerSec, "p50", rep.PageLatency.P50, "p99", rep.PageLatency.P99,
		"non-2xx", res.Non2xx, "socket errors", res.socketErrors())
	if res.Non2xx > 0 || res.socketErrors() > 0 {
		return rep, fmt.Errorf("history: %d responses not 2xx and %d socket errors (connect %d, read %d, write %d, timeout %d) of %d requests",
			res.Non2xx, res.socketErrors(), res.Connect, res.Read, res.Write, res.Timeout, res.Requests)
	}
	return rep, nil
}

// seed joins room as user and sends c.messages bench texts of c.size bytes
// with a window of c.window*32 in flight (one connection with the publish
// scenario's window of 8 would take minutes), and waits for every ack. It
// returns the highest acked seq.
func seed(ctx context.Context, c config, t *target, user, room string) (uint64, float64, error) {
	t0 := time.Now()
	s, err := newNatterSender(ctx, 0, t.url, t.secret, user, c.srcIPs[0], []string{room}, c.window*32, newShardedHist())
	if err != nil {
		return 0, 0, err
	}
	defer s.close()
	never := make(chan time.Time)
	for range c.messages {
		if err := ctx.Err(); err != nil {
			return 0, time.Since(t0).Seconds(), err
		}
		if _, err := s.send(0, 0, c.size, never); err != nil {
			return 0, time.Since(t0).Seconds(), err
		}
	}
	if err := s.waitAcks(time.Minute); err != nil {
		return 0, time.Since(t0).Seconds(), err
	}
	if n := s.acks.Load(); n != int64(c.messages) {
		return 0, time.Since(t0).Seconds(), fmt.Errorf("seed: %d of %d sends acked", n, c.messages)
	}
	return s.maxSeq.Load(), time.Since(t0).Seconds(), nil
}

// httpBase turns the target's ws://host/ws into http://host.
func httpBase(ws string) (string, error) {
	u, err := url.Parse(ws)
	if err != nil {
		return "", fmt.Errorf("--url: %w", err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("--url: scheme %q is neither ws nor wss", u.Scheme)
	}
	u.Path, u.RawQuery = "", ""
	return u.String(), nil
}

// historyClient reads one room's history as one user.
type historyClient struct {
	base, room, token string
}

func (h historyClient) path() string { return "/api/rooms/" + url.PathEscape(h.room) + "/messages" }

var historyHTTP = &http.Client{Timeout: 10 * time.Second}

// page fetches one page (query starts with "?") and returns its seqs in
// the ascending order the API gives them. Anything but 200 is an error.
func (h historyClient) page(ctx context.Context, query string) ([]uint64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", h.base+h.path()+query, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := historyHTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var body [512]byte
		n, _ := resp.Body.Read(body[:])
		return nil, fmt.Errorf("GET %s%s: %s %s", h.path(), query, resp.Status, strings.TrimSpace(string(body[:n])))
	}
	var p struct {
		Messages []struct {
			Seq uint64 `json:"seq"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return nil, fmt.Errorf("GET %s%s: %w", h.path(), query, err)
	}
	seqs := make([]uint64, len(p.Messages))
	for i, m := range p.Messages {
		seqs[i] = m.Seq
	}
	return seqs, nil
}

// waitArchived polls the latest message until its seq is last: the archive
// trails the stream, and a page asked for before it has caught up would
// measure a room still being written.
func (h historyClient) waitArchived(ctx context.Context, last uint64, d time.Duration) error {
	deadline := time.Now().Add(d)
	var newest uint64
	for {
		seqs, err := h.page(ctx, "?limit=1")
		if err != nil {
			return err
		}
		if len(seqs) > 0 {
			newest = seqs[len(seqs)-1]
		}
		if newest == last {
			return nil
		}
		if newest > last {
			return fmt.Errorf("history: archive's newest seq %d is past the last acked %d", newest, last)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("history: archive's newest seq is %d, not the last acked %d, after %v", newest, last, d)
		}
		sleep(ctx, 100*time.Millisecond)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// SocketErrors are wrk's counts of failed requests other than by status.
type SocketErrors struct {
	Connect int64 `json:"connect"`
	Read    int64 `json:"read"`
	Write   int64 `json:"write"`
	Timeout int64 `json:"timeout"`
}
