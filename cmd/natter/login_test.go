package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

// A burst of logins from many IPs, each within its per-IP limit, no longer
// queues without bound for bcrypt: what does not fit in the queue is
// refused at once with 503 and Retry-After, bystanders keep chatting, and
// the owner gets in once the burst is over.
func TestLoginQueueFull(t *testing.T) {
	s := startServer(t, "", withAccounts, generousRate, func(m *Main) {
		m.BcryptCost, m.LoginWorkers, m.LoginQueue = 8, 1, 2
	})
	ctx := ctxFor(t, 90*time.Second)
	mustAuth(t, ctx, s, "register", "", credentials("owner", "owners password"), http.StatusCreated)
	chat := newBystanders(t, ctx, s, "lobby")

	const ips, perIP = 30, 10
	var mu sync.Mutex
	statuses := map[int]int{}
	var bad []string
	var wg sync.WaitGroup
	for i := range ips {
		client := fromIP(t, fmt.Sprintf("127.0.1.%d", i+1))
		for j := range perIP {
			wg.Go(func() {
				r := authPost(t, ctx, s, client, "login", "", credentials(fmt.Sprintf("ghost-%d-%d", i, j), "guess"))
				mu.Lock()
				defer mu.Unlock()
				statuses[r.status]++
				switch r.status {
				case http.StatusServiceUnavailable:
					if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 || r.code != natter.EUNAVAILABLE {
						bad = append(bad, fmt.Sprintf("503 with Retry-After %q, code %q", r.header.Get("Retry-After"), r.code))
					}
				case http.StatusUnauthorized, http.StatusTooManyRequests:
				default:
					bad = append(bad, fmt.Sprintf("status %d %s", r.status, r.code))
				}
			})
		}
	}
	// The chat goes on meanwhile.
	for i := range 5 {
		chat.say(t, ctx, fmt.Sprintf("during the burst %d", i))
	}
	wg.Wait()
	t.Logf("statuses: %v", statuses)
	if len(bad) > 0 {
		t.Errorf("unexpected replies: %v", bad[:min(len(bad), 5)])
	}
	// A queue of 2 behind one worker holds a handful of the 300 at a time.
	if statuses[http.StatusServiceUnavailable] < ips*perIP/3 {
		t.Errorf("%d of %d logins refused with 503; want most of them", statuses[http.StatusServiceUnavailable], ips*perIP)
	}
	chat.check(t, ctx)
	if err := poll(ctx, func() bool {
		return authPost(t, ctx, s, fromIP(t, "127.0.2.1"), "login", "", credentials("owner", "owners password")).status == http.StatusOK
	}); err != nil {
		t.Errorf("the owner could not log in after the burst: %v", err)
	}
}

// Ten IPs guessing one account's password no longer lock its owner out:
// each of them backs off, the owner from a fresh IP logs in at once.
func TestLoginOwnerNotLockedOut(t *testing.T) {
	s := startServer(t, "", withAccounts)
	ctx := ctxFor(t, 60*time.Second)
	mustAuth(t, ctx, s, "register", "", credentials("owner", "owners password"), http.StatusCreated)
	limited := 0
	for i := range 10 {
		client := fromIP(t, fmt.Sprintf("127.0.3.%d", i+1))
		for range 10 {
			switch r := authPost(t, ctx, s, client, "login", "", credentials("owner", "guess")); r.status {
			case http.StatusUnauthorized:
			case http.StatusTooManyRequests:
				limited++
			default:
				t.Fatalf("guess: %d %s", r.status, r.code)
			}
		}
	}
	if limited == 0 {
		t.Error("100 wrong guesses from 10 IPs were never slowed down")
	}
	if r := authPost(t, ctx, s, fromIP(t, "127.0.4.1"), "login", "", credentials("owner", "owners password")); r.status != http.StatusOK {
		t.Errorf("owner from a fresh IP: %d %s (Retry-After %q); want 200", r.status, r.code, r.header.Get("Retry-After"))
	}
}

// Thousands of refused logins make a line or two in the log, not one each.
func TestLoginRefusalsLogQuietly(t *testing.T) {
	logs := &countingHandler{}
	s := startServer(t, "", withAccounts, func(m *Main) { m.Log = slog.New(logs) })
	ctx := ctxFor(t, 60*time.Second)
	client := fromIP(t, "127.0.5.1")
	const n, workers = 2000, 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused := 0
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				r := authPost(t, ctx, s, client, "login", "", credentials(fmt.Sprintf("u%d", i), "guess"))
				if r.status == http.StatusTooManyRequests {
					mu.Lock()
					refused++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if refused < n/2 {
		t.Fatalf("only %d of %d logins from one IP refused", refused, n)
	}
	if warns := logs.count(slog.LevelWarn); warns < 1 || warns > 3 {
		t.Errorf("%d WARN lines for %d refused logins; want 1 to 3", warns, refused)
	}
}

// countingHandler counts log records by level.
type countingHandler struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts == nil {
		h.counts = map[slog.Level]int{}
	}
	h.counts[r.Level]++
	return nil
}

func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

// count is the number of records at level or above.
func (h *countingHandler) count(level slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for l, c := range h.counts {
		if l >= level {
			n += c
		}
	}
	return n
}
