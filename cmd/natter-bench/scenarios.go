package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"
)

// pub is a publishing connection of a scenario (natter or the baseline).
type pub interface {
	// send publishes one bench text to room i of its list, waiting for a
	// window slot until deadline (false: none freed in time).
	send(i int, phase int64, size int, deadline <-chan time.Time) (bool, error)
	// settle waits until every send has been acked (natter) or flushed.
	settle(d time.Duration) error
	close()
}

func (s *natterSender) settle(d time.Duration) error { return s.waitAcks(d) }

type natsPub struct{ *natsPublisher }

func (p natsPub) send(i int, phase int64, size int, _ <-chan time.Time) (bool, error) {
	return true, p.natsPublisher.send(i, phase, size)
}
func (p natsPub) settle(time.Duration) error { return p.flush() }

// usageMeter measures the server's and the load generator's resources over
// a window.
type usageMeter struct {
	t     *target
	smp   *sampler
	load  []int
	s0    procStat
	l0    time.Duration
	m0    time.Duration
	start time.Time
	// exited is the CPU of load processes that ended within the window
	// (wrk): their /proc entries are gone by the time end reads the rest.
	exited time.Duration
}

func newUsageMeter(t *target, ps pools) *usageMeter {
	load := []int{os.Getpid()}
	for _, p := range ps {
		if rp, ok := p.(*remotePool); ok {
			load = append(load, rp.cmd.Process.Pid)
		}
	}
	m := &usageMeter{t: t, load: load}
	if t.pid > 0 {
		m.smp = newSampler(t.pid)
	}
	return m
}

func (m *usageMeter) close() {
	if m.smp != nil {
		m.smp.close()
	}
}

func (m *usageMeter) loadCPU() time.Duration {
	var d time.Duration
	for _, pid := range m.load {
		if st, err := readProc(pid); err == nil {
			d += st.cpu
		}
	}
	return d
}

// addExited counts a load process that ran and exited within the window.
func (m *usageMeter) addExited(cpu time.Duration) { m.exited += cpu }

func (m *usageMeter) begin() {
	m.start = time.Now()
	m.exited = 0
	m.l0 = m.loadCPU()
	m.m0 = machineBusy()
	if m.smp != nil {
		m.smp.resetPeak()
		m.s0, _ = readProc(m.t.pid)
	}
}

// end returns the server's usage and the load generator's cores since
// begin. The server's Usage also says how busy the rest of the machine was
// (OtherCores): anything else running skews the figures.
func (m *usageMeter) end() (*Usage, float64) {
	wall := time.Since(m.start).Seconds()
	loadCPU := m.loadCPU() - m.l0 + m.exited
	load := round(loadCPU.Seconds()/wall, 2)
	busy := machineBusy() - m.m0
	if m.smp == nil {
		return nil, load
	}
	s1, err := readProc(m.t.pid)
	if err != nil {
		return nil, load
	}
	u := window(m.s0, s1, m.smp.peakRSS(m.t.pid))
	u.OtherCores = round(max(0, (busy-loadCPU-(s1.cpu-m.s0.cpu)).Seconds()/wall), 2)
	return &u, load
}

func layoutFor(c config, t *target, userPrefix, roomPrefix string) layout {
	return layout{Kind: t.kind, URL: t.url, Secret: t.secret, UserPrefix: userPrefix, RoomPrefix: roomPrefix,
		Rooms: c.rooms, PerConn: c.perConn, SrcIPs: c.srcIPs, Conc: c.conc, Heartbeat: c.heartbeat}
}

// prefix makes room and user names unique to this run, so that runs
// against one --url server do not share rooms.
func prefix(s string) string { return s + runNonce[len(runNonce)-5:] }

// idle holds conns authenticated connections, each joined to per-conn
// rooms, lets them idle with heartbeats, and reads the server's RSS.
func idle(ctx context.Context, c config, t *target, log *slog.Logger) (*Report, error) {
	if t.pid == 0 {
		return nil, fmt.Errorf("idle needs the server's pid (--pid with --url)")
	}
	rep := &Report{Target: t.name, Conns: c.conns, Rooms: c.rooms, PerConn: c.perConn}
	ps, err := newPools(c.procs)
	if err != nil {
		return nil, err
	}
	defer ps.close()
	log.Info("settling before the RSS baseline", "for", c.settle)
	sleep(ctx, c.settle)
	before, err := readProc(t.pid)
	if err != nil {
		return nil, err
	}
	rep.RSSBeforeMiB = mib(before.rss)
	l := layoutFor(c, t, prefix("i"), prefix("ir"))
	open, err := connectTimed(ps, l, c.conns, rep, log)
	if err != nil {
		return rep, err
	}
	log.Info("connected; idling", "conns", open, "in", rep.ConnectSeconds, "wait", c.idleWait)
	um := newUsageMeter(t, ps)
	defer um.close()
	um.begin()
	sleep(ctx, c.idleWait)
	rep.Server, rep.LoadCores = um.end()
	after, err := readProc(t.pid)
	if err != nil {
		return rep, err
	}
	reps, _ := ps.same(poolCmd{Op: "stats"})
	tot, _, _ := sum(reps)
	rep.Closed = tot.Closed
	rep.RSSAfterMiB = mib(after.rss)
	rep.PerConnKiB = round(float64(after.rss-before.rss)/float64(open)/1024, 2)
	return rep, ctx.Err()
}

// connectTimed opens the layout's n connections over the pools and records
// in rep how long that took and how many could not be opened.
func connectTimed(ps pools, l layout, n int, rep *Report, log *slog.Logger) (int, error) {
	t0 := time.Now()
	open, err := ps.connect(l, n, log)
	rep.ConnectSeconds = round(time.Since(t0).Seconds(), 1)
	rep.Failed = n - open
	return open, err
}

// fanout: members in rooms, publishers sending bench texts at each rate;
// deliveries/s, end-to-end latency and completeness per step.
func fanout(ctx context.Context, c config, t *target, log *slog.Logger) (*Report, error) {
	rep := &Report{Target: t.name, Conns: c.conns, Rooms: c.rooms, Members: c.members}
	ps, err := newPools(c.procs)
	if err != nil {
		return nil, err
	}
	defer ps.close()
	l := layoutFor(c, t, prefix("m"), prefix("f"))
	open, err := connectTimed(ps, l, c.conns, rep, log)
	if err != nil {
		return rep, err
	}
	log.Info("members connected", "target", t.name, "conns", open, "in", rep.ConnectSeconds)
	np := min(max(c.publishers, 1), c.rooms)
	pubs := make([]pub, np)
	pubRooms := make([][]int, np)
	ackLat := newShardedHist()
	for j := range np {
		var names []string
		for r := j; r < c.rooms; r += np {
			pubRooms[j] = append(pubRooms[j], r)
			names = append(names, l.roomName(r))
		}
		src := c.srcIPs[j%len(c.srcIPs)]
		if t.kind == "nats" {
			p, err := newNATSPublisher(t.url, src, names)
			if err != nil {
				return rep, err
			}
			pubs[j] = natsPub{p}
		} else {
			p, err := newNatterSender(ctx, j, t.url, t.secret, prefix("p")+strconv.Itoa(j), src, names, 10000, ackLat)
			if err != nil {
				return rep, err
			}
			pubs[j] = p
		}
		defer pubs[j].close()
	}
	members := int64(c.members)
	um := newUsageMeter(t, ps)
	defer um.close()
	var phase int64 = 1
	step := func(rate float64, d time.Duration, measured bool) (Step, error) {
		phase++
		if _, err := ps.same(poolCmd{Op: "phase", Phase: phase}); err != nil {
			return Step{}, err
		}
		ackLat.reset()
		um.begin()
		sent, perr := paced(ctx, pubs, pubRooms, phase, rate, d, c.size)
		expect := map[int]int64{}
		var total, want int64
		for r, n := range sent {
			expect[r] = n
			total += n
			want += n * members
		}
		ps.waitDelivered(ctx, want, c.drain)
		s := Step{Rate: rate, Sent: total}
		s.Server, s.LoadCores = um.end()
		for _, p := range pubs {
			// Sends still unacked 10 s after the step are a result (the
			// server is overloaded), not an error; wait up to a minute more
			// so that the next step starts with a free window.
			if err := p.settle(10 * time.Second); err != nil {
				if ns, ok := p.(*natterSender); ok {
					s.Unanswered += int64(len(ns.slots))
				}
				if p.settle(time.Minute) != nil {
					s.Stuck = true
				}
			}
			if ns, ok := p.(*natterSender); ok {
				s.Acked += ns.acks.Load()
				s.Errors += ns.errs.Load()
				ns.acks.Store(0)
				ns.errs.Store(0)
			}
		}
		reps, err := ps.same(poolCmd{Op: "stats", Expect: expect})
		if err != nil {
			return s, err
		}
		tot, h, _ := sum(reps)
		s.Expected, s.Received, s.Missing, s.Extra, s.Closed = tot.Expected, tot.Received, tot.Missing, tot.Extra, tot.Closed
		s.Gaps = tot.Gaps + tot.Dups
		s.DeliveriesPerSec = round(float64(tot.Received)/d.Seconds(), 0)
		s.Latency = summarize(h)
		if t.kind == "natter" {
			al := summarize(mergeSnapshots(ackLat.snapshot()))
			s.AckLatency = &al
		}
		s.Pass = s.Missing == 0 && s.Closed == 0 && s.Errors == 0 && s.Unanswered == 0 &&
			float64(s.Sent) >= 0.97*rate*d.Seconds() && s.Latency.P99 <= float64(c.p99)/float64(time.Millisecond)
		if measured {
			log.Info("step", "target", t.name, "rate", rate, "sent", s.Sent, "deliveries/s", s.DeliveriesPerSec,
				"p50", s.Latency.P50, "p99", s.Latency.P99, "missing", s.Missing, "closed", s.Closed, "pass", s.Pass)
		}
		if perr != nil {
			return s, perr
		}
		return s, ctx.Err()
	}
	if c.warmup > 0 {
		if _, err := step(min(c.rates[0], 100), c.warmup, false); err != nil {
			return rep, fmt.Errorf("warmup: %w", err)
		}
	}
	if !c.findMax {
		for _, r := range c.rates {
			s, err := step(r, c.duration, true)
			rep.Steps = append(rep.Steps, s)
			if err != nil {
				return rep, err
			}
			if s.Stuck || s.Unanswered > 0 {
				log.Warn("server overloaded: higher rates skipped", "target", t.name, "rate", r, "unanswered", s.Unanswered)
				break
			}
		}
		return rep, nil
	}
	// find-max: double until a step fails, then bisect between the best
	// passing and the lowest failing rate; at most maxSteps steps.
	var best, fail float64
	r := c.rates[0]
	for range c.maxSteps {
		s, err := step(r, c.duration, true)
		rep.Steps = append(rep.Steps, s)
		if err != nil {
			return rep, err
		}
		if s.Pass {
			best = r
		} else {
			fail = r
		}
		if s.Stuck {
			log.Warn("server still has unacked sends a minute after the step: stopping", "target", t.name, "rate", r)
			break
		}
		switch {
		case fail == 0:
			r *= 2
		case best == 0:
			r /= 2
		default:
			if fail/best < 1.15 {
				r = 0
			} else {
				r = float64(int((best+fail)/2/5+0.5) * 5)
			}
		}
		if r < 1 || r == best || r == fail {
			break
		}
	}
	for i := range rep.Steps {
		if rep.Steps[i].Rate == best && rep.Steps[i].Pass {
			b := rep.Steps[i]
			rep.Best = &b
		}
	}
	if best > 0 {
		s, err := step(best/2, c.duration, true)
		rep.Half = &s
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// paced has the publishers send rate msgs/s between them for d, publisher
// j to its rooms in turn, and returns the messages sent to each room.
func paced(ctx context.Context, pubs []pub, rooms [][]int, phase int64, rate float64, d time.Duration, size int) (map[int]int64, error) {
	sent := make([][]int64, len(pubs))
	errs := make([]error, len(pubs))
	var wg sync.WaitGroup
	per := rate / float64(len(pubs))
	start := time.Now()
	for j, p := range pubs {
		sent[j] = make([]int64, len(rooms[j]))
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.After(d)
			var n int64
			for ctx.Err() == nil {
				el := time.Since(start)
				if el >= d {
					return
				}
				due := int64(el.Seconds() * per)
				for ; n < due; n++ {
					i := int(n % int64(len(rooms[j])))
					ok, err := p.send(i, phase, size, deadline)
					if err != nil {
						errs[j] = err
						return
					}
					if !ok {
						return
					}
					sent[j][i]++
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	out := map[int]int64{}
	for j := range pubs {
		for i, n := range sent[j] {
			out[rooms[j][i]] += n
		}
	}
	for _, err := range errs {
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// publish: senders each with their own room, sending as fast as a window of
// unacked sends allows; acked sends/s and ack latency.
func publish(ctx context.Context, c config, t *target, log *slog.Logger) (*Report, error) {
	rep := &Report{Target: t.name, Senders: c.senders, Window: c.window}
	lat := newShardedHist()
	um := newUsageMeter(t, nil)
	defer um.close()
	type runner interface {
		run(ctx context.Context, until time.Time, size int) error
		acked() int64
		errors() int64
		close()
	}
	var senders []runner
	defer func() {
		for _, s := range senders {
			s.close()
		}
	}()
	if t.kind == "nats" {
		if err := createJSStream(ctx, t.url); err != nil {
			return rep, err
		}
	}
	for i := range c.senders {
		src := c.srcIPs[i%len(c.srcIPs)]
		if t.kind == "nats" {
			s, err := newJSSender(i, t.url, src, c.window, lat)
			if err != nil {
				return rep, err
			}
			senders = append(senders, jsRunner{s})
		} else {
			room := prefix("p") + "-" + strconv.Itoa(i)
			s, err := newNatterSender(ctx, i, t.url, t.secret, prefix("s")+strconv.Itoa(i), src, []string{room}, c.window, lat)
			if err != nil {
				return rep, err
			}
			senders = append(senders, natterRunner{s})
		}
	}
	log.Info("senders connected", "target", t.name, "senders", len(senders))
	runAll := func(d time.Duration) (int64, int64, error) {
		until := time.Now().Add(d)
		errs := make([]error, len(senders))
		var wg sync.WaitGroup
		for i, s := range senders {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = s.run(ctx, until, c.size) }()
		}
		wg.Wait()
		var acked, failed int64
		for i, s := range senders {
			acked += s.acked()
			failed += s.errors()
			if errs[i] != nil {
				return acked, failed, errs[i]
			}
		}
		return acked, failed, nil
	}
	if c.warmup > 0 {
		if _, _, err := runAll(c.warmup); err != nil {
			return rep, fmt.Errorf("warmup: %w", err)
		}
	}
	lat.reset()
	base := make([]int64, 2)
	for _, s := range senders {
		base[0] += s.acked()
		base[1] += s.errors()
	}
	um.begin()
	t0 := time.Now()
	acked, failed, err := runAll(c.duration)
	el := time.Since(t0).Seconds()
	rep.Server, _ = um.end()
	rep.Acked, rep.Errors = acked-base[0], failed-base[1]
	rep.AckedPerSec = round(float64(rep.Acked)/el, 0)
	l := summarize(mergeSnapshots(lat.snapshot()))
	rep.AckLatency = &l
	log.Info("publish", "target", t.name, "acked/s", rep.AckedPerSec, "p50", l.P50, "p99", l.P99, "errors", rep.Errors)
	return rep, err
}

type natterRunner struct{ *natterSender }

// run sends to the sender's room until the deadline, then waits for the
// outstanding acks.
func (s natterRunner) run(ctx context.Context, until time.Time, size int) error {
	deadline := time.After(time.Until(until))
	for ctx.Err() == nil && time.Now().Before(until) {
		ok, err := s.send(0, 0, size, deadline)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
	}
	return s.waitAcks(30 * time.Second)
}
func (s natterRunner) acked() int64  { return s.acks.Load() }
func (s natterRunner) errors() int64 { return s.errs.Load() }

type jsRunner struct{ *jsSender }

func (s jsRunner) acked() int64  { return s.acks.Load() }
func (s jsRunner) errors() int64 { return s.errs.Load() }

// storm: every client drops at once; missed messages are published to each
// room; all reconnect and resume after their last seq.
func storm(ctx context.Context, c config, t *target, log *slog.Logger) (*Report, error) {
	rep := &Report{Target: t.name, Conns: c.conns, Rooms: c.rooms, MissedPerRoom: c.missed}
	ps, err := newPools(c.procs)
	if err != nil {
		return nil, err
	}
	defer ps.close()
	l := layoutFor(c, t, prefix("c"), prefix("s"))
	open, err := connectTimed(ps, l, c.conns, rep, log)
	if err != nil {
		return rep, err
	}
	var names []string
	for r := range c.rooms {
		names = append(names, l.roomName(r))
	}
	lat := newShardedHist()
	sender, err := newNatterSender(ctx, 0, t.url, t.secret, prefix("sp"), c.srcIPs[0], names, c.window*100, lat)
	if err != nil {
		return rep, err
	}
	defer sender.close()
	log.Info("clients connected; dropping them all", "conns", open, "in", rep.ConnectSeconds)
	if _, err := ps.same(poolCmd{Op: "drop"}); err != nil {
		return rep, err
	}
	sleep(ctx, 2*time.Second)
	const phase = 7
	if _, err := ps.same(poolCmd{Op: "phase", Phase: phase}); err != nil {
		return rep, err
	}
	expect := map[int]int64{}
	never := make(chan time.Time)
	for range c.missed {
		for r := range c.rooms {
			if _, err := sender.send(r, phase, c.size, never); err != nil {
				return rep, err
			}
			expect[r]++
			rep.Published++
		}
	}
	if err := sender.waitAcks(time.Minute); err != nil {
		return rep, err
	}
	log.Info("published while away; all resume", "messages", rep.Published)
	um := newUsageMeter(t, ps)
	defer um.close()
	um.begin()
	t1 := time.Now()
	reps, rerr := ps.same(poolCmd{Op: "resume", Timeout: c.catchUpTimeout, Expect: expect})
	rep.AllCaughtUpSeconds = round(time.Since(t1).Seconds(), 2)
	rep.Server, rep.LoadCores = um.end()
	tot, _, cu := sum(reps)
	rep.Expected, rep.Received, rep.Missing, rep.Extra = tot.Expected, tot.Received, tot.Missing, tot.Extra
	rep.Gaps, rep.Dups, rep.NotCaught, rep.Failed, rep.Closed = tot.Gaps, tot.Dups, tot.NotCaught, tot.Failed, tot.Closed
	lc := summarize(cu)
	rep.CatchUp = &lc
	log.Info("storm", "caught up in", rep.AllCaughtUpSeconds, "missing", rep.Missing, "not caught", rep.NotCaught)
	if rerr != nil {
		return rep, rerr
	}
	if rep.Missing > 0 || rep.Gaps > 0 || rep.Dups > 0 || rep.NotCaught > 0 {
		return rep, fmt.Errorf("storm: %d missing, %d gaps, %d duplicates, %d clients not caught up", rep.Missing, rep.Gaps, rep.Dups, rep.NotCaught)
	}
	return rep, nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
