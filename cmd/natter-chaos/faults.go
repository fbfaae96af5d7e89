package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
func (cl *cluster) schedule(hung *time.Duration) []fault {
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
			return cl.edgeNodeOut(ctx, cl.sigstop(), 0, hung)
		}},
		{at: 0.34, what: "SIGTERM edge2 (drain)", do: quiet(func() error { return cl.edges[1].term(20 * time.Second) })},
		{at: 0.38, what: "restart edge2", do: func(ctx context.Context) (string, error) { return "", cl.restartEdge(ctx, 1) }},
		{at: 0.42, what: fmt.Sprintf("SIGSTOP the ROOMS leader for %v", leaderStop), do: func(ctx context.Context) (string, error) {
			return cl.leaderOut(ctx, cl.sigstop(), leaderStop)
		}},
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
		notes = append(notes, fmt.Sprintf("%s back and current after %v", n.name, round(time.Since(began))))
	}
	return strings.Join(notes, "; "), nil
}
