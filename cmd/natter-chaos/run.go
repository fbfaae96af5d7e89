package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/auth"
)

// run brings the cluster up, runs traffic under the chaos schedule and
// checks the outcome.
func run(ctx context.Context, c config, net nodeNet, log *slog.Logger) (*report, error) {
	cl, err := startCluster(ctx, c, net, log)
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

	hung := time.Duration(-1)
	steps := cl.schedule(&hung)
	if c.scenario == "partition" {
		steps = cl.partitionSchedule(&hung)
	}
	figs, chaosErr := chaos(ctx, steps, c.duration, log)
	if wait := c.duration - time.Since(began); wait > 0 {
		time.Sleep(wait)
	}
	close(stopSend)
	trafficEnd := time.Now()
	log.Info("traffic stops; waiting for pending sends and deliveries")
	if err := settle(ctx, clients, 90*time.Second); err != nil {
		log.Warn("not settled", "err", err)
	}
	stopClients()
	wg.Wait()
	rep := check(clients)
	rep.faults(clients, figs, trafficEnd)
	if err := writeStalls(filepath.Join(c.dir, "stalls.txt"), clients, began); err != nil {
		log.Warn("stalls.txt", "err", err)
	}
	rep.Duration = time.Since(began).Round(time.Second).String()
	if hung >= 0 {
		rep.HungNodeLeft = hung.Round(100 * time.Millisecond).String()
	}
	if err := checkHistory(ctx, cl, clients, rep, 60*time.Second); err != nil {
		return rep, err
	}
	if c.historyProjection {
		if err := checkHistoryProjection(ctx, cl, clients, rep, 60*time.Second); err != nil {
			return rep, err
		}
	}
	if !rep.ok() {
		return rep, fmt.Errorf("delivery contract violated")
	}
	if chaosErr != nil {
		return rep, fmt.Errorf("chaos schedule: %w", chaosErr)
	}
	if err := rep.faultsTookEffect(); err != nil {
		return rep, err
	}
	return rep, nil
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
// archive to catch up) and compares it with the acked messages: history
// pages list messages, not the changes to them, and a deleted message may
// be erased from the stream before the archive reads it. (Whether history
// applied the changes is --history-projection's check.)
func checkHistory(ctx context.Context, cl *cluster, clients []*chatClient, rep *report, d time.Duration) error {
	gone := erased(clients)
	acked := map[string]map[uint64]bool{}
	token := map[string]string{}
	for _, c := range clients {
		if acked[c.room] == nil {
			acked[c.room] = map[uint64]bool{}
			token[c.room] = c.token
		}
		c.mu.Lock()
		for seq := range c.acked {
			if _, change := c.changes[seq]; !change && !gone[c.room][seq] {
				acked[c.room][seq] = true
			}
		}
		c.mu.Unlock()
	}
	deadline := time.Now().Add(d)
	for {
		missing, dups, err := 0, 0, error(nil)
		var examples []string
		for room, want := range acked {
			var got map[uint64]int
			if got, err = historyOf(ctx, cl.histURL, room, token[room]); err != nil {
				break
			}
			for seq := range want {
				if got[seq] == 0 {
					missing++
					if len(examples) < 10 {
						examples = append(examples, fmt.Sprintf("%s/%d", room, seq))
					}
				}
			}
			for _, n := range got {
				if n > 1 {
					dups += n - 1
				}
			}
		}
		rep.HistoryMissing, rep.HistoryDuplicated = missing, dups
		sort.Strings(examples)
		rep.missingExamples = examples
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
