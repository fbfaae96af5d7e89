package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"
)

// A pool holds a share of the benchmark's member connections: all of them
// in-process (--procs 0), or one share per child process. The parent drives
// every pool with the same commands, so the scenarios do not care where the
// sockets live.
type pool interface {
	do(cmd poolCmd) (poolReply, error)
	close()
}

// layout says which connections a pool opens and which rooms each joins:
// connection i (global index) is user <UserPrefix><i> and joins rooms
// (i*PerConn+k) % Rooms for k < PerConn, named <RoomPrefix><n>.
type layout struct {
	Kind       string        `json:"kind"` // "natter" or "nats" (the baseline)
	URL        string        `json:"url"`
	Secret     string        `json:"secret,omitempty"` // HS256 key text, natter only
	UserPrefix string        `json:"user_prefix"`
	RoomPrefix string        `json:"room_prefix"`
	First      int           `json:"first"`
	Count      int           `json:"count"`
	Rooms      int           `json:"rooms"`
	PerConn    int           `json:"per_conn"`
	SrcIPs     []string      `json:"src_ips"`
	Conc       int           `json:"conc"`      // dials in flight
	Heartbeat  time.Duration `json:"heartbeat"` // natter ping interval per connection (0: none)
}

func (l layout) room(i, k int) int { return (i*l.PerConn + k) % l.Rooms }

func (l layout) roomName(n int) string { return l.RoomPrefix + strconv.Itoa(n) }

// poolCmd is one command to a pool. Ops:
//
//	connect  open Layout's connections (auth, join) and keep them
//	phase    start counting messages of phase Phase only; zero counters
//	count    messages of the current phase received so far
//	stats    counters, latency histogram and completeness against Expect
//	drop     close every socket abruptly (no close frame)
//	resume   reconnect every connection, join after its last seq, and wait
//	         until each has caught up with the room's last seq (or Timeout)
//	close    close every connection cleanly
type poolCmd struct {
	Op      string         `json:"op"`
	Layout  *layout        `json:"layout,omitempty"`
	Phase   int64          `json:"phase,omitempty"`
	Expect  map[int]int64  `json:"expect,omitempty"` // room -> messages published in the phase
	Timeout time.Duration  `json:"timeout,omitempty"`
	Extra   map[string]any `json:"extra,omitempty"`
}

type poolReply struct {
	Err       string                 `json:"err,omitempty"`
	Conns     int                    `json:"conns,omitempty"`    // open connections
	Failed    int                    `json:"failed,omitempty"`   // connections that could not be (re)opened
	Closed    int                    `json:"closed,omitempty"`   // connections the server ended
	Received  int64                  `json:"received,omitempty"` // messages of the phase
	Expected  int64                  `json:"expected,omitempty"`
	Short     int                    `json:"short,omitempty"`   // connections missing messages
	Missing   int64                  `json:"missing,omitempty"` // messages missing, summed
	Extra     int64                  `json:"extra,omitempty"`   // messages beyond the expected (duplicates)
	Gaps      int64                  `json:"gaps,omitempty"`    // msg whose prev is not the last seq seen
	Dups      int64                  `json:"dups,omitempty"`    // msg with seq not above the last seen
	Hist      *hdrhistogram.Snapshot `json:"hist,omitempty"`
	CatchUp   *hdrhistogram.Snapshot `json:"catch_up,omitempty"`   // storm: per-connection time to catch up
	Slowest   time.Duration          `json:"slowest,omitempty"`    // storm: the last connection to catch up
	NotCaught int                    `json:"not_caught,omitempty"` // storm: connections that never caught up
}

// member is one benchmark connection with what it has seen.
type member struct {
	idx   int
	user  string
	rooms []*memberRoom
	recv  atomic.Int64 // messages of the current phase
	gaps  atomic.Int64
	dups  atomic.Int64
	// storm: set before resume, checked by the reader
	resumeAt time.Time
	caught   atomic.Bool
	closeFn  func()       // clean close
	dropFn   func()       // abrupt close
	pingFn   func() error // heartbeat, nil if none
	endedFn  func() bool  // the connection has ended
	up       atomic.Bool  // the funcs above are set (the heartbeat may ping)
}

type memberRoom struct {
	n      int
	name   []byte
	last   atomic.Uint64 // last seq received
	target atomic.Uint64 // storm: joined.last at resume
	joined atomic.Bool   // the join's reply has been seen
	epoch  string        // written by the reader at join, read after a drop
}

// clientPool is the in-process implementation of a pool.
type clientPool struct {
	lay     layout
	members []*member
	phase   atomic.Int64
	lat     *shardedHist
	catch   *shardedHist
	pending atomic.Int64  // storm: connections not yet caught up
	allIn   chan struct{} // closed when pending reaches 0
	slowest atomic.Int64
	hbStop  chan struct{}
	ep      *epollReader // reads the natter members' sockets
	mu      sync.Mutex
}

func newClientPool() *clientPool {
	return &clientPool{lat: newShardedHist(), catch: newShardedHist()}
}

func (p *clientPool) do(cmd poolCmd) (poolReply, error) {
	r := p.handle(cmd)
	if r.Err != "" {
		return r, errors.New(r.Err)
	}
	return r, nil
}

func (p *clientPool) close() { p.handle(poolCmd{Op: "close"}) }

func (p *clientPool) handle(cmd poolCmd) poolReply {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch cmd.Op {
	case "connect":
		return p.connect(*cmd.Layout)
	case "phase":
		p.phase.Store(cmd.Phase)
		for _, m := range p.members {
			m.recv.Store(0)
			m.gaps.Store(0)
			m.dups.Store(0)
		}
		p.lat.reset()
		return poolReply{Conns: len(p.members)}
	case "count":
		var r poolReply
		for _, m := range p.members {
			r.Received += m.recv.Load()
		}
		return r
	case "stats":
		return p.stats(cmd.Expect)
	case "drop":
		p.stopHeartbeat()
		for _, m := range p.members {
			if m.up.Swap(false) {
				m.dropFn()
			}
		}
		return poolReply{Conns: len(p.members)}
	case "resume":
		return p.resume(cmd.Timeout, cmd.Expect)
	case "close":
		p.stopHeartbeat()
		var wg sync.WaitGroup
		for _, m := range p.members {
			if m.up.Swap(false) {
				wg.Add(1)
				go func() { defer wg.Done(); m.closeFn() }()
			}
		}
		wg.Wait()
		n := len(p.members)
		p.members = nil
		if p.ep != nil {
			p.ep.stop()
			p.ep = nil
		}
		return poolReply{Conns: n}
	}
	return poolReply{Err: "unknown op " + cmd.Op}
}

func (p *clientPool) stats(expect map[int]int64) poolReply {
	r := poolReply{Conns: len(p.members), Hist: p.lat.snapshot()}
	for _, m := range p.members {
		got := m.recv.Load()
		var want int64
		for _, mr := range m.rooms {
			want += expect[mr.n]
		}
		r.Received += got
		r.Expected += want
		if got < want {
			r.Short++
			r.Missing += want - got
		} else {
			r.Extra += got - want
		}
		r.Gaps += m.gaps.Load()
		r.Dups += m.dups.Load()
		if m.up.Load() && m.endedFn() {
			r.Closed++
		}
	}
	return r
}

// connect opens the layout's connections, Conc at a time.
func (p *clientPool) connect(l layout) poolReply {
	p.lay = l
	if p.ep == nil {
		ep, err := newEpollReader(runtime.GOMAXPROCS(0))
		if err != nil {
			return poolReply{Err: err.Error(), Failed: l.Count}
		}
		p.ep = ep
	}
	members := make([]*member, l.Count)
	for j := range l.Count {
		i := l.First + j
		m := &member{idx: i, user: l.UserPrefix + strconv.Itoa(i)}
		for k := range l.PerConn {
			n := l.room(i, k)
			m.rooms = append(m.rooms, &memberRoom{n: n, name: []byte(l.roomName(n))})
		}
		members[j] = m
	}
	p.members = members
	// The heartbeat runs from the start: connecting thousands takes longer
	// than the edge's idle timeout.
	if l.Heartbeat > 0 {
		p.startHeartbeat(l.Heartbeat)
	}
	var failed atomic.Int64
	var firstErr atomic.Value
	sem := make(chan struct{}, max(l.Conc, 1))
	var wg sync.WaitGroup
	for _, m := range members {
		i := m.idx
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			var err error
			for try := 0; try < 3; try++ {
				if err = p.open(m, l.SrcIPs[i%len(l.SrcIPs)], false); err == nil {
					return
				}
				time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
			}
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}()
	}
	wg.Wait()
	r := poolReply{Conns: l.Count - int(failed.Load()), Failed: int(failed.Load())}
	if e, ok := firstErr.Load().(string); ok {
		r.Err = fmt.Sprintf("%d of %d connections failed, first: %s", failed.Load(), l.Count, e)
	}
	return r
}

func (p *clientPool) open(m *member, src string, resume bool) error {
	if p.lay.Kind == "nats" {
		return p.openNATSWS(m, src)
	}
	return p.openNatter(m, src, resume)
}

// startHeartbeat pings every connection once per interval, spread evenly
// over the interval: the edge closes connections silent for --idle-timeout.
func (p *clientPool) startHeartbeat(every time.Duration) {
	p.hbStop = make(chan struct{})
	stop, members := p.hbStop, p.members
	go func() {
		if len(members) == 0 {
			return
		}
		gap := every / time.Duration(len(members))
		for {
			for _, m := range members {
				if m.up.Load() && m.pingFn != nil && !m.endedFn() {
					_ = m.pingFn()
				}
				select {
				case <-stop:
					return
				case <-time.After(gap):
				}
			}
		}
	}()
}

func (p *clientPool) stopHeartbeat() {
	if p.hbStop != nil {
		close(p.hbStop)
		p.hbStop = nil
	}
}

// resume reconnects every member at once (Conc dials in flight) and waits
// until each has received its rooms up to the last seq its join reported.
func (p *clientPool) resume(timeout time.Duration, expect map[int]int64) poolReply {
	p.catch.reset()
	p.slowest.Store(0)
	p.allIn = make(chan struct{})
	p.pending.Store(int64(len(p.members)))
	start := time.Now()
	if p.lay.Heartbeat > 0 {
		p.startHeartbeat(p.lay.Heartbeat)
	}
	sem := make(chan struct{}, max(p.lay.Conc, 1))
	var failed atomic.Int64
	var firstErr atomic.Value
	for _, m := range p.members {
		m.resumeAt = start
		m.caught.Store(false)
		for _, mr := range m.rooms {
			mr.joined.Store(false)
		}
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			var err error
			for try := 0; try < 5; try++ {
				if err = p.open(m, p.lay.SrcIPs[m.idx%len(p.lay.SrcIPs)], true); err == nil {
					return
				}
				time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
			}
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
			p.caughtUp(m, 0, false)
		}()
	}
	select {
	case <-p.allIn:
	case <-time.After(timeout):
	}
	r := p.stats(expect)
	r.Hist = nil
	for _, m := range p.members {
		if !m.caught.Load() {
			r.NotCaught++
		}
	}
	r.Failed = int(failed.Load())
	r.CatchUp = p.catch.snapshot()
	r.Slowest = time.Duration(p.slowest.Load())
	if e, ok := firstErr.Load().(string); ok {
		r.Err = fmt.Sprintf("%d connections failed to reconnect, first: %s", failed.Load(), e)
	}
	return r
}

// caughtUp records that m has caught up (once).
func (p *clientPool) caughtUp(m *member, d time.Duration, ok bool) {
	if !m.caught.CompareAndSwap(false, true) {
		return
	}
	if ok {
		p.catch.record(m.idx, d)
		for {
			old := p.slowest.Load()
			if int64(d) <= old || p.slowest.CompareAndSwap(old, int64(d)) {
				break
			}
		}
	}
	if p.pending.Add(-1) == 0 {
		close(p.allIn)
	}
}

// noPortBind lets a socket bound to a source IP choose its port only at
// connect time, so that every source IP offers the whole ephemeral range
// per destination rather than per machine.
func noPortBind(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// childGOMAXPROCS, if > 0, is the GOMAXPROCS of child processes.
var childGOMAXPROCS int

// remotePool is a child process running a clientPool (runChild), driven
// by JSON lines over its stdin and stdout.
type remotePool struct {
	cmd *exec.Cmd
	enc *json.Encoder
	dec *json.Decoder
	mu  sync.Mutex
}

func startRemotePool(id int) (*remotePool, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "--child", strconv.Itoa(id))
	cmd.Stderr = os.Stderr
	if childGOMAXPROCS > 0 {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(childGOMAXPROCS))
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &remotePool{cmd: cmd, enc: json.NewEncoder(in), dec: json.NewDecoder(bufio.NewReader(out))}, nil
}

func (r *remotePool) do(cmd poolCmd) (poolReply, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var rep poolReply
	if err := r.enc.Encode(cmd); err != nil {
		return rep, fmt.Errorf("child %d: %w", r.cmd.Process.Pid, err)
	}
	if err := r.dec.Decode(&rep); err != nil {
		return rep, fmt.Errorf("child %d: %w", r.cmd.Process.Pid, err)
	}
	if rep.Err != "" {
		return rep, errors.New(rep.Err)
	}
	return rep, nil
}

func (r *remotePool) close() {
	_, _ = r.do(poolCmd{Op: "close"})
	if c, ok := r.cmd.Stdin.(io.Closer); ok {
		c.Close()
	}
	done := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = r.cmd.Process.Kill()
		<-done
	}
}

// runChild serves one clientPool over stdin and stdout until stdin closes.
func runChild() error {
	p := newClientPool()
	dec := json.NewDecoder(bufio.NewReader(os.Stdin))
	enc := json.NewEncoder(os.Stdout)
	for {
		var cmd poolCmd
		if err := dec.Decode(&cmd); err != nil {
			if errors.Is(err, io.EOF) {
				p.close()
				return nil
			}
			return err
		}
		if err := enc.Encode(p.handle(cmd)); err != nil {
			return err
		}
	}
}

// pools is every pool of a run.
type pools []pool

// newPools starts procs child processes, or one in-process pool if procs
// is 0.
func newPools(procs int) (pools, error) {
	if procs <= 0 {
		return pools{newClientPool()}, nil
	}
	var ps pools
	for i := range procs {
		rp, err := startRemotePool(i)
		if err != nil {
			ps.close()
			return nil, err
		}
		ps = append(ps, rp)
	}
	return ps, nil
}

// all sends each pool its command (mk(k)) at once and returns the replies,
// and the first error.
func (ps pools) all(mk func(k int) poolCmd) ([]poolReply, error) {
	reps := make([]poolReply, len(ps))
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for k, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); reps[k], errs[k] = p.do(mk(k)) }()
	}
	wg.Wait()
	return reps, errors.Join(errs...)
}

func (ps pools) same(cmd poolCmd) ([]poolReply, error) {
	return ps.all(func(int) poolCmd { return cmd })
}

// connect splits n connections of l evenly over the pools. A few failed
// connections (at most 1%) are reported, not fatal: under load the server
// may refuse some, and that is a finding of the run, not a reason to
// throw it away.
func (ps pools) connect(l layout, n int, log *slog.Logger) (int, error) {
	reps, err := ps.all(func(k int) poolCmd {
		ll := l
		ll.First = k * n / len(ps)
		ll.Count = (k+1)*n/len(ps) - ll.First
		return poolCmd{Op: "connect", Layout: &ll}
	})
	open := 0
	for _, r := range reps {
		open += r.Conns
	}
	if err != nil && open >= n-n/100 {
		log.Warn("some connections failed", "failed", n-open, "of", n, "err", err)
		err = nil
	}
	return open, err
}

func (ps pools) close() {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); p.close() }()
	}
	wg.Wait()
}

// sum adds up the pools' replies; histograms are merged.
func sum(reps []poolReply) (poolReply, *hdrhistogram.Histogram, *hdrhistogram.Histogram) {
	var t poolReply
	var hs, cs []*hdrhistogram.Snapshot
	for _, r := range reps {
		t.Conns += r.Conns
		t.Failed += r.Failed
		t.Closed += r.Closed
		t.Received += r.Received
		t.Expected += r.Expected
		t.Short += r.Short
		t.Missing += r.Missing
		t.Extra += r.Extra
		t.Gaps += r.Gaps
		t.Dups += r.Dups
		t.NotCaught += r.NotCaught
		t.Slowest = max(t.Slowest, r.Slowest)
		hs = append(hs, r.Hist)
		cs = append(cs, r.CatchUp)
	}
	return t, mergeSnapshots(hs...), mergeSnapshots(cs...)
}

// waitDelivered polls until the pools have received want messages of the
// phase or d passes.
func (ps pools) waitDelivered(ctx context.Context, want int64, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		reps, _ := ps.same(poolCmd{Op: "count"})
		t, _, _ := sum(reps)
		if t.Received >= want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
