package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

// report is what a run measured.
type report struct {
	Clients           int    `json:"clients"`
	Rooms             int    `json:"rooms"`
	Duration          string `json:"duration"`
	Sent              int    `json:"sent"`
	Acked             int    `json:"acked"`
	Resends           int    `json:"resends"`
	Expected          int    `json:"expected_deliveries"`
	Delivered         int    `json:"delivered"`
	Lost              int    `json:"lost"`
	Duplicated        int    `json:"duplicated"`
	Reordered         int    `json:"reordered"`
	Gaps              int    `json:"prev_gaps"`
	Reconnects        int    `json:"reconnects"`
	MaxOutage         string `json:"max_outage"`
	HistoryMissing    int    `json:"history_missing"`
	HistoryDuplicated int    `json:"history_duplicated"`
	HungNodeLeft      string `json:"hung_node_left"`
}

func (r *report) ok() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.Reordered == 0 && r.Gaps == 0 &&
		r.HistoryMissing == 0 && r.HistoryDuplicated == 0 && r.Acked > 0
}

// check compares, per room and member, what was acked with what arrived.
func check(clients []*chatClient) *report {
	rep := &report{Clients: len(clients)}
	acked := map[string][]uint64{}
	rooms := map[string]bool{}
	var maxOutage time.Duration
	for _, c := range clients {
		c.mu.Lock()
		rooms[c.room] = true
		rep.Sent += c.sent
		rep.Acked += len(c.acked)
		rep.Resends += c.resends
		for seq := range c.acked {
			acked[c.room] = append(acked[c.room], seq)
		}
		rep.Reconnects += c.reconnects
		maxOutage = max(maxOutage, c.maxOutage)
		c.mu.Unlock()
	}
	rep.Rooms = len(rooms)
	for _, seqs := range acked {
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	}
	for _, c := range clients {
		c.mu.Lock()
		for _, seq := range acked[c.room] {
			if seq <= c.start {
				continue
			}
			rep.Expected++
			if c.received[seq] == 0 {
				rep.Lost++
			}
		}
		rep.Delivered += c.delivered
		rep.Duplicated += c.dups
		rep.Reordered += c.reorders
		rep.Gaps += c.gaps
		c.mu.Unlock()
	}
	rep.MaxOutage = maxOutage.Round(time.Millisecond).String()
	return rep
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "natter-chaos: %d clients, %d rooms, %s of traffic under chaos\n", r.Clients, r.Rooms, r.Duration)
	rows := [][2]any{
		{"sent", r.Sent}, {"acked", r.Acked}, {"resends (same cid)", r.Resends},
		{"expected deliveries", r.Expected}, {"delivered", r.Delivered},
		{"lost", r.Lost}, {"duplicated", r.Duplicated}, {"reordered", r.Reordered}, {"prev gaps", r.Gaps},
		{"reconnects", r.Reconnects}, {"longest without service", r.MaxOutage},
		{"history missing", r.HistoryMissing}, {"history duplicated", r.HistoryDuplicated},
		{"hung NATS node left after", r.HungNodeLeft},
	}
	for _, row := range rows {
		fmt.Fprintf(w, "  %-26s %v\n", row[0], row[1])
	}
	verdict := "PASS"
	if !r.ok() {
		verdict = "FAIL"
	}
	b, _ := json.Marshal(r)
	fmt.Fprintf(w, "%s %s\n", verdict, b)
}
