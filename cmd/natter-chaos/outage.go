package main

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// isolation is a way to take a NATS node out of the cluster without
// closing anything (SIGSTOP, a network cut) and to put it back.
type isolation struct {
	stop, resume func(i int) error
}

func (cl *cluster) sigstop() isolation {
	return isolation{
		stop:   func(i int) error { return cl.nats[i].signal(syscall.SIGSTOP) },
		resume: func(i int) error { return cl.nats[i].signal(syscall.SIGCONT) },
	}
}

// outage takes nodes out for at least length, and as long as during (if
// set) runs, gets them back and waits until the cluster is current again.
// It returns how long that took after they were back, or the first error.
func (cl *cluster) outage(ctx context.Context, iso isolation, nodes []int, length time.Duration, during func(since time.Time) error) (time.Duration, error) {
	var err error
	for _, i := range nodes {
		if err = iso.stop(i); err != nil {
			break
		}
	}
	began := time.Now()
	if err == nil && during != nil {
		err = during(began)
	}
	time.Sleep(time.Until(began.Add(length))) // the fault's length, not a wait for a condition
	for _, i := range nodes {
		if rerr := iso.resume(i); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return 0, err
	}
	back := time.Now()
	if err := cl.waitCurrent(ctx, backWithin); err != nil {
		return 0, err
	}
	return time.Since(back), nil
}

// edgeNodeOut takes out n1, the node edge1 is connected to, for length or
// until edge1 is ready on another node, whichever is longer, and sets hung
// to how long edge1 took.
func (cl *cluster) edgeNodeOut(ctx context.Context, iso isolation, length time.Duration, hung *time.Duration) (string, error) {
	leader := cl.nodeName(cl.roomsLeader(ctx))
	var took time.Duration
	current, err := cl.outage(ctx, iso, []int{0}, length, func(since time.Time) (err error) {
		took, err = cl.edge1Left(ctx, since)
		return err
	})
	if err != nil {
		return "", err
	}
	*hung = took
	return fmt.Sprintf("ROOMS leader %s; edge1 ready on another node after %v; cluster current %v after n1 was back",
		leader, round(took), round(current)), nil
}

// edge1Left waits until edge1, whose node stopped answering at since, has
// noticed (/readyz 503) and is ready on another node, and returns the time
// from since.
func (cl *cluster) edge1Left(ctx context.Context, since time.Time) (time.Duration, error) {
	ready := cl.edgeReadyURL(0)
	// Ready again means after it noticed: a /readyz that still answers
	// from before the stop does not count.
	if err := waitStatus(ctx, ready, false, 10*time.Second); err != nil {
		return 0, fmt.Errorf("edge1 never noticed its node had gone: %w", err)
	}
	if err := waitStatus(ctx, ready, true, 30*time.Second); err != nil {
		return 0, fmt.Errorf("edge1 did not leave its node: %w", err)
	}
	return time.Since(since), nil
}

// leaderOut takes out the node that leads ROOMS for length and measures
// how long the other two take to elect a leader.
func (cl *cluster) leaderOut(ctx context.Context, iso isolation, length time.Duration) (string, error) {
	l := cl.roomsLeader(ctx)
	if l < 0 {
		return "", fmt.Errorf("no node leads %s", roomsStream)
	}
	var next int
	var elected time.Duration
	current, err := cl.outage(ctx, iso, []int{l}, length, func(since time.Time) (err error) {
		next, err = cl.waitLeader(ctx, length, l)
		elected = time.Since(since)
		return err
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("took out leader %s; %s elected after %v; cluster current %v after it was back",
		cl.nats[l].name, cl.nats[next].name, round(elected), round(current)), nil
}

// loseQuorum SIGSTOPs the ROOMS leader and one other node for quorumStop:
// the remaining node can store nothing, so every send goes unacked and is
// resent with its cid.
func (cl *cluster) loseQuorum(ctx context.Context) (string, error) {
	l := max(cl.roomsLeader(ctx), 0)
	nodes := []int{l, (l + 1) % len(cl.nats)}
	current, err := cl.outage(ctx, cl.sigstop(), nodes, quorumStop, nil)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("stopped %s and %s; cluster current %v after they were back",
		cl.nats[nodes[0]].name, cl.nats[nodes[1]].name, round(current)), nil
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }
