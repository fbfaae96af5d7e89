package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// report is what a run measured.
type report struct {
	Clients           int            `json:"clients"`
	Rooms             int            `json:"rooms"`
	Duration          string         `json:"duration"`
	Sent              int            `json:"sent"`
	Acked             int            `json:"acked"`
	Resends           int            `json:"resends"`
	Expected          int            `json:"expected_deliveries"`
	Delivered         int            `json:"delivered"`
	Lost              int            `json:"lost"`
	Duplicated        int            `json:"duplicated"`
	Reordered         int            `json:"reordered"`
	Gaps              int            `json:"prev_gaps"`
	Reconnects        int            `json:"reconnects"`
	MaxOutage         string         `json:"max_outage"`
	MaxNoAck          string         `json:"max_without_ack"`
	Changes           int            `json:"changes_acked"`   // edits, deletions, reactions
	Refused           int            `json:"changes_refused"` // their target deleted meanwhile
	ProjectionsDiffer int            `json:"projections_differ"`
	MaxWait           string         `json:"max_send_wait"`
	Timeouts          int            `json:"send_timeouts"`
	HistoryMissing    int            `json:"history_missing"`
	HistoryDuplicated int            `json:"history_duplicated"`
	HungNodeLeft      string         `json:"hung_node_left,omitempty"`
	Faults            []*faultFigure `json:"faults"`

	projectionExample string   // the first differing projection, for the log
	missingExamples   []string // room/seq of acked messages history lacks (up to 10)
	lostExamples      []string // the first records found lost
}

// faultFigure is what one chaos step measured: the longest time any client
// went without an ack (sends refused, timed out or cut off, resent with
// the same cid), and how many clients had such a stall, counting the
// stalls that began in the step's window (from its start to the next
// step's). A stall begins when a client has gone stallMin without an ack,
// so one that a fault causes is not counted for the step before it.
type faultFigure struct {
	What      string `json:"fault"`
	At        string `json:"at"`
	Took      string `json:"took"`
	NoService string `json:"longest_without_ack"`
	Median    string `json:"median_without_ack"` // over the stalled clients' longest`
	Stalled   int    `json:"clients_stalled"`
	Note      string `json:"note,omitempty"`

	from  time.Time
	took  time.Duration
	stall time.Duration
	worst time.Duration
}

// faults fills in each step's figures from the clients' stalls.
func (r *report) faults(clients []*chatClient, figs []*faultFigure, end time.Time) {
	var worst time.Duration
	for i, f := range figs {
		to := end
		if i+1 < len(figs) {
			to = figs[i+1].from
		}
		var longest []time.Duration // per stalled client
		for _, c := range clients {
			c.mu.Lock()
			var l time.Duration
			for _, s := range c.stalls {
				if began := s.from.Add(stallMin); !began.Before(f.from) && began.Before(to) {
					l = max(l, s.to.Sub(s.from))
				}
			}
			c.mu.Unlock()
			if l > 0 {
				longest = append(longest, l)
				f.worst = max(f.worst, l)
			}
		}
		f.Stalled = len(longest)
		f.Median = "-"
		if len(longest) > 0 {
			sort.Slice(longest, func(i, j int) bool { return longest[i] < longest[j] })
			f.Median = longest[len(longest)/2].Round(100 * time.Millisecond).String()
		}
		f.Took = f.took.Round(100 * time.Millisecond).String()
		f.NoService = f.worst.Round(100 * time.Millisecond).String()
		if f.worst == 0 {
			f.NoService = "<" + stallMin.String()
		}
		worst = max(worst, f.worst)
	}
	r.Faults = figs
	r.MaxNoAck = worst.Round(100 * time.Millisecond).String()
}

// faultsTookEffect fails a run in which a fault that must stop every send
// (a quorum loss) did not: the test would then prove nothing about it.
func (r *report) faultsTookEffect() error {
	for _, f := range r.Faults {
		if f.stall > 0 && f.worst < f.stall {
			return fmt.Errorf("%q had no effect: longest without ack %v, expected at least %v", f.What, f.worst, f.stall)
		}
	}
	return nil
}

func (r *report) ok() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.Reordered == 0 && r.Gaps == 0 && r.ProjectionsDiffer == 0 &&
		r.HistoryMissing == 0 && r.HistoryDuplicated == 0 && r.Acked > 0
}

// check compares, per room and member, what was acked with what arrived,
// and the members' projections of each room. A record erased by a
// deletion need not have arrived: a member away while it was live never
// receives it.
func check(clients []*chatClient) *report {
	gone := erased(clients)
	kinds := map[uint64]string{} // what each acked seq is, for the report
	for _, c := range clients {
		c.mu.Lock()
		for seq, cid := range c.acked {
			o := c.changes[seq]
			kinds[seq] = fmt.Sprintf("%q by client %d (cid %s, target %d)", o.kind, c.id, cid, o.target)
		}
		c.mu.Unlock()
	}
	rep := &report{Clients: len(clients)}
	acked := map[string][]uint64{}
	rooms := map[string]bool{}
	var maxOutage, maxWait time.Duration
	for _, c := range clients {
		c.mu.Lock()
		rooms[c.room] = true
		maxWait = max(maxWait, c.maxWait)
		rep.Timeouts += c.timeouts
		rep.Sent += c.sent
		rep.Acked += len(c.acked)
		rep.Resends += c.resends
		rep.Changes += len(c.changes)
		rep.Refused += c.refused
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
			if seq <= c.start || gone[c.room][seq] && c.received[seq] == 0 {
				continue
			}
			rep.Expected++
			if c.received[seq] == 0 {
				rep.Lost++
				if len(rep.lostExamples) < 20 {
					rep.lostExamples = append(rep.lostExamples, fmt.Sprintf("client %d (%s, start %d, last %d) lacks %d %s",
						c.id, c.room, c.start, c.last, seq, kinds[seq]))
				}
			}
		}
		rep.Delivered += c.delivered
		rep.Duplicated += c.dups
		rep.Reordered += c.reorders
		rep.Gaps += c.gaps
		c.mu.Unlock()
	}
	rep.MaxOutage = maxOutage.Round(time.Millisecond).String()
	rep.ProjectionsDiffer, rep.projectionExample = compareProjections(clients)
	rep.MaxWait = maxWait.Round(time.Millisecond).String()
	return rep
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "natter-chaos: %d clients, %d rooms, %s of traffic under chaos\n", r.Clients, r.Rooms, r.Duration)
	rows := [][2]any{
		{"sent", r.Sent}, {"acked", r.Acked}, {"resends (same cid)", r.Resends},
		{"expected deliveries", r.Expected}, {"delivered", r.Delivered},
		{"lost", r.Lost}, {"duplicated", r.Duplicated}, {"reordered", r.Reordered}, {"prev gaps", r.Gaps},
		{"changes acked", r.Changes}, {"changes refused", r.Refused}, {"projections differing", r.ProjectionsDiffer},
		{"reconnects", r.Reconnects}, {"longest reconnect", r.MaxOutage},
		{"longest without service", r.MaxNoAck},
		{"longest wait for an answer", r.MaxWait}, {"sends never answered", r.Timeouts},
		{"history missing", r.HistoryMissing}, {"history duplicated", r.HistoryDuplicated},
		{"edge1 left its node after", r.HungNodeLeft},
	}
	for _, row := range rows {
		if row[1] != "" {
			fmt.Fprintf(w, "  %-26s %v\n", row[0], row[1])
		}
	}
	fmt.Fprintf(w, "  %-6s %-7s %-8s %-8s %-7s %s\n", "at", "took", "no ack", "median", "clients", "fault")
	for _, f := range r.Faults {
		fmt.Fprintf(w, "  %-6s %-7s %-8s %-8s %-7d %s\n", f.At, f.Took, f.NoService, f.Median, f.Stalled, f.What)
		if f.Note != "" {
			fmt.Fprintf(w, "  %39s %s\n", "", f.Note)
		}
	}
	for _, l := range r.lostExamples {
		fmt.Fprintf(w, "  lost: %s\n", l)
	}
	if len(r.missingExamples) > 0 {
		fmt.Fprintf(w, "  missing from history (room/seq): %s\n", strings.Join(r.missingExamples, " "))
	}
	if r.projectionExample != "" {
		fmt.Fprintf(w, "  first differing projection: %s\n", r.projectionExample)
	}
	verdict := "PASS"
	if !r.ok() {
		verdict = "FAIL"
	}
	b, _ := json.Marshal(r)
	fmt.Fprintf(w, "%s %s\n", verdict, b)
}

// writeStalls lists every client's stalls, in seconds from the start of
// traffic, for reading a run's figures against its logs.
func writeStalls(path string, clients []*chatClient, began time.Time) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	for _, c := range clients {
		c.mu.Lock()
		for _, s := range c.stalls {
			fmt.Fprintf(f, "client %d (prefers %s) %.1f-%.1f s: %.1f s without an ack\n", c.id, c.edges[0],
				s.from.Sub(began).Seconds(), s.to.Sub(began).Seconds(), s.to.Sub(s.from).Seconds())
		}
		c.mu.Unlock()
	}
	return f.Close()
}
