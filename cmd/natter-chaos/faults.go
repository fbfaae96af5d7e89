package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"time"
)

// fault is one step of the chaos schedule: at a fraction of the traffic
// phase, do it; note says what it found (leader, recovery times).
type fault struct {
	at   float64
	what string
	do   func(ctx context.Context) (note string, err error)
	// stall, if set, is the least time without an ack some client must
	// see: proof that the fault took effect.
	stall time.Duration
}

// How long the stop faults last, and how long a node or the whole cluster
// may take to be back before the run fails.
const (
	leaderStop  = 12 * time.Second
	quorumStop  = 10 * time.Second
	backWithin  = 60 * time.Second
	readyWithin = 30 * time.Second
)

// schedule is the chaos run, in order. Later steps rely on earlier ones:
// edge1 connects to n1 (its only seed) when it restarts at 0.24, so the
// SIGSTOP at 0.28 hits edge1's node.
func (cl *cluster) schedule(hung *time.Duration, log *slog.Logger) []fault {
	quiet := func(fn func() error) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return "", fn() }
	}
	kill := func(p *proc) func(context.Context) (string, error) {
		return quiet(func() error { p.kill(); return nil })
	}
	return []fault{
		{at: 0.06, what: "kill -9 nats n1", do: kill(cl.nats[0])},
		{at: 0.14, what: "restart n1, wait until current", do: func(ctx context.Context) (string, error) {
			return "", cl.restartNATS(ctx, 0)
		}},
		{at: 0.20, what: "kill -9 edge1", do: kill(cl.edges[0])},
		{at: 0.24, what: "restart edge1", do: func(ctx context.Context) (string, error) { return "", cl.restartEdge(ctx, 0) }},
		{at: 0.28, what: "SIGSTOP n1 (edge1's node) until edge1 has left it", do: func(ctx context.Context) (string, error) {
			took, err := cl.hangEdgeNode(ctx, log)
			if err != nil {
				return "", err
			}
			*hung = took
			return fmt.Sprintf("edge1 ready on another node after %v", took.Round(100*time.Millisecond)), nil
		}},
		{at: 0.34, what: "SIGTERM edge2 (drain)", do: quiet(func() error { return cl.edges[1].term(20 * time.Second) })},
		{at: 0.38, what: "restart edge2", do: func(ctx context.Context) (string, error) { return "", cl.restartEdge(ctx, 1) }},
		{at: 0.42, what: fmt.Sprintf("SIGSTOP the ROOMS leader for %v", leaderStop), do: cl.stopLeader},
		{at: 0.54, what: "rolling restart of n1, n2, n3 (SIGTERM, start, wait until current)", do: cl.rollingRestart},
		{at: 0.74, what: fmt.Sprintf("quorum loss: SIGSTOP two of three nodes for %v", quorumStop), do: cl.loseQuorum, stall: quorumStop / 2},
		{at: 0.86, what: "kill -9 history, delete its data, restart it", do: quiet(cl.rebuildHistory)},
	}
}

// chaos runs the schedule over the traffic phase d and returns what each
// step measured, and the first step error.
func chaos(ctx context.Context, steps []fault, d time.Duration, log *slog.Logger) ([]*faultFigure, error) {
	began := time.Now()
	var figs []*faultFigure
	var errs []error
	for _, f := range steps {
		select {
		case <-ctx.Done():
			return figs, ctx.Err()
		case <-time.After(time.Until(began.Add(time.Duration(f.at * float64(d))))):
		}
		fig := &faultFigure{What: f.what, from: time.Now(), stall: f.stall, At: time.Since(began).Round(100 * time.Millisecond).String()}
		log.Info("chaos: "+f.what, "t", fig.At)
		note, err := f.do(ctx)
		fig.took = time.Since(fig.from)
		fig.Note = note
		if err != nil {
			log.Warn("chaos step failed", "step", f.what, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", f.what, err))
			fig.Note = "FAILED: " + err.Error()
		} else if note != "" {
			log.Info("chaos: done", "step", f.what, "note", note)
		}
		figs = append(figs, fig)
	}
	return figs, errors.Join(errs...)
}

func (cl *cluster) edgeReadyURL(i int) string {
	return strings.Replace(strings.TrimSuffix(cl.edgeURL[i], "/ws"), "ws://", "http://", 1) + "/readyz"
}

func (cl *cluster) restartEdge(ctx context.Context, i int) error {
	if err := cl.edges[i].start(); err != nil {
		return err
	}
	return waitHTTP(ctx, cl.edgeReadyURL(i), readyWithin)
}

func (cl *cluster) restartNATS(ctx context.Context, i int) error {
	if err := cl.nats[i].start(); err != nil {
		return err
	}
	return cl.waitCurrent(ctx, backWithin)
}

// hangEdgeNode stops n1, the node edge1 is connected to, and measures how
// long edge1 takes to be ready again (connected to another node, JetStream
// answering), then lets n1 go on.
func (cl *cluster) hangEdgeNode(ctx context.Context, log *slog.Logger) (time.Duration, error) {
	n1 := cl.nats[0]
	if err := n1.signal(syscall.SIGSTOP); err != nil {
		return 0, err
	}
	defer func() {
		if err := n1.signal(syscall.SIGCONT); err != nil {
			log.Warn("SIGCONT n1", "err", err)
		}
	}()
	return cl.edge1Left(ctx, time.Now())
}

// edge1Left waits until edge1, whose node stopped answering at since, has
// noticed (/readyz 503) and is ready on another node, and returns the time
// from since.
func (cl *cluster) edge1Left(ctx context.Context, since time.Time) (time.Duration, error) {
	ready := cl.edgeReadyURL(0)
	// Ready again means after it noticed: a /readyz that still answers
	// from before the stop does not count.
	if err := waitStatus(ctx, ready, false, 5*time.Second); err != nil {
		return 0, fmt.Errorf("edge1 never noticed its node had gone: %w", err)
	}
	if err := waitStatus(ctx, ready, true, 30*time.Second); err != nil {
		return 0, fmt.Errorf("edge1 did not leave its node: %w", err)
	}
	return time.Since(since), nil
}

// stopLeader SIGSTOPs the node that leads ROOMS for leaderStop, measures
// how long the other two take to elect a leader, and waits until the
// cluster is current again after the SIGCONT.
func (cl *cluster) stopLeader(ctx context.Context) (string, error) {
	l := cl.roomsLeader(ctx)
	if l < 0 {
		return "", fmt.Errorf("no node leads %s", roomsStream)
	}
	n := cl.nats[l]
	if err := n.signal(syscall.SIGSTOP); err != nil {
		return "", err
	}
	stopped := time.Now()
	next, err := cl.waitLeader(ctx, leaderStop, l)
	elected := time.Since(stopped)
	time.Sleep(time.Until(stopped.Add(leaderStop))) // the fault's length, not a wait for a condition
	if cerr := n.signal(syscall.SIGCONT); cerr != nil {
		return "", cerr
	}
	if err != nil {
		return "", err
	}
	resumed := time.Now()
	if err := cl.waitCurrent(ctx, backWithin); err != nil {
		return "", err
	}
	return fmt.Sprintf("stopped leader %s; %s elected after %v; current %v after SIGCONT",
		n.name, cl.nats[next].name, elected.Round(100*time.Millisecond), time.Since(resumed).Round(100*time.Millisecond)), nil
}

// rollingRestart restarts the three NATS nodes one at a time, as an
// upgrade would: SIGTERM, start on the same store, and wait until the
// cluster is whole and current before the next.
func (cl *cluster) rollingRestart(ctx context.Context) (string, error) {
	var notes []string
	for i, n := range cl.nats {
		began := time.Now()
		if err := n.term(20 * time.Second); err != nil {
			return strings.Join(notes, "; "), err
		}
		if err := cl.restartNATS(ctx, i); err != nil {
			return strings.Join(notes, "; "), err
		}
		notes = append(notes, fmt.Sprintf("%s back and current after %v", n.name, time.Since(began).Round(100*time.Millisecond)))
	}
	return strings.Join(notes, "; "), nil
}

// loseQuorum SIGSTOPs the ROOMS leader and one other node for quorumStop:
// the remaining node can store nothing, so every send goes unacked and is
// resent with its cid. Then both go on and the cluster must be current
// again.
func (cl *cluster) loseQuorum(ctx context.Context) (string, error) {
	l := max(cl.roomsLeader(ctx), 0)
	stop := []*proc{cl.nats[l], cl.nats[(l+1)%len(cl.nats)]}
	for _, n := range stop {
		if err := n.signal(syscall.SIGSTOP); err != nil {
			return "", err
		}
	}
	time.Sleep(quorumStop) // the fault's length, not a wait for a condition
	for _, n := range stop {
		if err := n.signal(syscall.SIGCONT); err != nil {
			return "", err
		}
	}
	resumed := time.Now()
	if err := cl.waitCurrent(ctx, backWithin); err != nil {
		return "", err
	}
	return fmt.Sprintf("stopped %s and %s; current %v after SIGCONT", stop[0].name, stop[1].name,
		time.Since(resumed).Round(100*time.Millisecond)), nil
}
