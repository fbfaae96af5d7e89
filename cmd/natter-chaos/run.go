package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/auth"
)

// run brings the cluster up, runs traffic under the chaos schedule and
// checks the outcome.
func run(ctx context.Context, c config, log *slog.Logger) (*report, error) {
	cl, err := startCluster(ctx, c, log)
	if cl != nil {
		defer cl.stop()
	}
	if err != nil {
		return nil, err
	}
	keys, err := auth.New(auth.Config{Secret: []byte(cl.secret)})
	if err != nil {
		return nil, err
	}
	var clients []*chatClient
	for i := 0; i < c.clients; i++ {
		user := fmt.Sprintf("user%d", i)
		tok, err := keys.Issue(natter.UserID(user), 24*time.Hour)
		if err != nil {
			return nil, err
		}
		edges := []string{cl.edgeURL[i%2], cl.edgeURL[(i+1)%2]}
		clients = append(clients, newClient(i, user, fmt.Sprintf("room%d", i%c.rooms), edges, tok, c.rate))
	}

	cctx, stopClients := context.WithCancel(ctx)
	send, stopSend := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	for _, cc := range clients {
		wg.Add(1)
		go func() { defer wg.Done(); cc.run(cctx, send, stopSend) }()
	}
	defer func() { stopClients(); wg.Wait() }()
	for _, cc := range clients {
		select {
		case <-cc.joined:
		case <-time.After(30 * time.Second):
			return nil, fmt.Errorf("client %d never joined", cc.id)
		}
	}
	log.Info("all clients joined; traffic starts", "clients", c.clients, "rooms", c.rooms, "rate", c.rate)
	close(send)
	began := time.Now()

	hung := chaos(ctx, cl, c.duration, log)
	if wait := c.duration - time.Since(began); wait > 0 {
		time.Sleep(wait)
	}
	close(stopSend)
	log.Info("traffic stops; waiting for pending sends and deliveries")
	if err := settle(ctx, clients, 90*time.Second); err != nil {
		log.Warn("not settled", "err", err)
	}
	stopClients()
	wg.Wait()
	rep := check(clients)
	rep.Duration = time.Since(began).Round(time.Second).String()
	rep.HungNodeLeft = hung.Round(100 * time.Millisecond).String()
	if hung < 0 {
		rep.HungNodeLeft = "not within 30s"
	}
	if err := checkHistory(ctx, cl, clients, rep, 60*time.Second); err != nil {
		return rep, err
	}
	if !rep.ok() {
		return rep, fmt.Errorf("delivery contract violated")
	}
	if hung < 0 {
		return rep, fmt.Errorf("edge1 stayed on the hung NATS node")
	}
	return rep, nil
}

// chaos runs the schedule: kill -9 a NATS node and bring it back, kill -9
// an edge and bring it back, SIGTERM (drain) the other edge and bring it
// back, kill -9 the history replica and bring it back on an empty data dir,
// SIGSTOP the NATS node edge1 is connected to until edge1 has left it.
// Times are fractions of the traffic phase d. It returns how long edge1
// took to be ready again on another node, -1 if it was not within 30 s.
func chaos(ctx context.Context, cl *cluster, d time.Duration, log *slog.Logger) time.Duration {
	began := time.Now()
	at := func(frac float64) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Until(began.Add(time.Duration(frac * float64(d))))):
			return true
		}
	}
	step := func(frac float64, what string, fn func() error) {
		if !at(frac) {
			return
		}
		log.Info("chaos: "+what, "t", time.Since(began).Round(100*time.Millisecond))
		if err := fn(); err != nil {
			log.Warn("chaos step failed", "step", what, "err", err)
		}
	}
	step(0.15, "kill -9 nats n1", func() error { cl.nats[0].kill(); return nil })
	step(0.35, "restart nats n1", cl.nats[0].start)
	step(0.45, "kill -9 edge1", func() error { cl.edges[0].kill(); return nil })
	step(0.55, "restart edge1", cl.edges[0].start)
	step(0.65, "SIGTERM edge2 (drain)", func() error { return cl.edges[1].term(20 * time.Second) })
	step(0.75, "restart edge2", cl.edges[1].start)
	step(0.85, "kill -9 history, delete its data, restart it", cl.rebuildHistory)
	hung := time.Duration(-1)
	step(0.88, "SIGSTOP nats n1 (edge1's node) until edge1 has left it", func() (err error) {
		hung, err = cl.hangEdgeNode(ctx, log)
		if err != nil {
			hung = -1
		}
		return err
	})
	return hung
}

// hangEdgeNode stops n1, the node edge1 is connected to, and measures how
// long edge1 takes to be ready again (connected to another node, JetStream
// answering), then lets n1 go on.
func (cl *cluster) hangEdgeNode(ctx context.Context, log *slog.Logger) (time.Duration, error) {
	n1 := cl.nats[0]
	if err := n1.signal(syscall.SIGSTOP); err != nil {
		return 0, err
	}
	stopped := time.Now()
	defer func() {
		if err := n1.signal(syscall.SIGCONT); err != nil {
			log.Warn("SIGCONT n1", "err", err)
		}
	}()
	ready := strings.Replace(strings.TrimSuffix(cl.edgeURL[0], "/ws"), "ws://", "http://", 1) + "/readyz"
	// Ready again means after it noticed: a /readyz that still answers
	// from before the stop does not count.
	if err := waitStatus(ctx, ready, false, 5*time.Second); err != nil {
		return 0, fmt.Errorf("edge1 never noticed n1 hung: %w", err)
	}
	if err := waitStatus(ctx, ready, true, 30*time.Second); err != nil {
		return 0, fmt.Errorf("edge1 did not leave hung n1: %w", err)
	}
	took := time.Since(stopped)
	log.Info("chaos: edge1 ready again on another node", "after", took.Round(100*time.Millisecond))
	return took, nil
}

// settle waits until no client has a send in flight and every client has
// received the last acked message of its room.
func settle(ctx context.Context, clients []*chatClient, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		idle := true
		for _, c := range clients {
			idle = idle && c.idle()
		}
		if idle {
			maxAcked := map[string]uint64{}
			for _, c := range clients {
				c.mu.Lock()
				for seq := range c.acked {
					maxAcked[c.room] = max(maxAcked[c.room], seq)
				}
				c.mu.Unlock()
			}
			caught := true
			for _, c := range clients {
				caught = caught && c.lastSeen() >= maxAcked[c.room]
			}
			if caught {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("not settled after %v", d)
}

// checkHistory pages through each room's history over HTTP (waiting for the
// archive to catch up) and compares it with the acked messages.
func checkHistory(ctx context.Context, cl *cluster, clients []*chatClient, rep *report, d time.Duration) error {
	acked := map[string]map[uint64]bool{}
	token := map[string]string{}
	for _, c := range clients {
		if acked[c.room] == nil {
			acked[c.room] = map[uint64]bool{}
			token[c.room] = c.token
		}
		c.mu.Lock()
		for seq := range c.acked {
			acked[c.room][seq] = true
		}
		c.mu.Unlock()
	}
	deadline := time.Now().Add(d)
	for {
		missing, dups, err := 0, 0, error(nil)
		for room, want := range acked {
			var got map[uint64]int
			if got, err = historyOf(ctx, cl.histURL, room, token[room]); err != nil {
				break
			}
			for seq := range want {
				if got[seq] == 0 {
					missing++
				}
			}
			for _, n := range got {
				if n > 1 {
					dups += n - 1
				}
			}
		}
		rep.HistoryMissing, rep.HistoryDuplicated = missing, dups
		if err == nil && missing == 0 || time.Now().After(deadline) {
			if err != nil {
				return err
			}
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func historyOf(ctx context.Context, base, room, token string) (map[uint64]int, error) {
	got := map[uint64]int{}
	after := uint64(0)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/rooms/%s/messages?after=%d&limit=200", base, room, after), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		var page struct {
			Messages []natter.Message `json:"messages"`
			HasMore  bool             `json:"has_more"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return nil, fmt.Errorf("history %s: status %d %v", room, resp.StatusCode, err)
		}
		for _, m := range page.Messages {
			got[m.Seq]++
			after = max(after, m.Seq)
		}
		if !page.HasMore {
			return got, nil
		}
	}
}
