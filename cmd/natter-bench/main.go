// Command natter-bench is Natter's load generator. It speaks the documented
// WebSocket protocol (docs/PROTOCOL.md) through edge/wsclient and measures,
// on loopback only:
//
//	idle     RSS per idle, authenticated connection joined to rooms
//	fanout   deliveries/s and end-to-end latency of room fan-out at given
//	         publish rates, or the highest rate with p99 within a target
//	publish  durable, acked client sends/s through one edge, ack latency
//	storm    every client drops at once, messages are published while they
//	         are away, all reconnect and resume: time until all caught up,
//	         nothing lost
//	history  pages of 50 of a seeded room's archive per second over HTTP,
//	         and their latency, under load from wrk
//
// It starts `natter serve` itself (or targets --url), spreads client sockets
// over source addresses 127.0.0.2-9, and with --procs N runs the client
// connections in N child processes (itself, re-executed) so that more
// sockets than one process's open-file cap can be held. With --baseline the
// fanout and publish scenarios also run against nats-server's built-in
// WebSocket listener, and the report shows both side by side.
//
// Every loop is bounded in count and time. docs/BENCHMARKS.md describes the
// method and the latest figures.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	scenario   string
	url        string
	natter     string
	natsServer string
	dataDir    string
	secret     string
	pid        int
	serverArgs string
	role       string

	conns, rooms, members, perConn int
	rates                          []float64
	findMax                        bool
	maxSteps                       int
	p99                            time.Duration
	size                           int
	duration, warmup, drain        time.Duration
	idleWait, settle               time.Duration
	procs                          int
	srcIPs                         []string
	conc                           int
	heartbeat                      time.Duration
	publishers                     int
	senders, window                int
	missed                         int
	messages, httpConns            int
	catchUpTimeout                 time.Duration
	baseline                       bool
	out                            string
	timeout                        time.Duration
	keep                           bool
	clientProcs                    int
	cpuProfile                     string
}

const usage = `Usage: natter-bench <idle|fanout|publish|storm|history> [flags]

Run "natter-bench <scenario> -h" for the flags. docs/BENCHMARKS.md has examples.
`

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--child" {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "natter-bench child:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	c, err := parseFlags(os.Args[1], os.Args[2:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "natter-bench:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if c.clientProcs > 0 {
		runtime.GOMAXPROCS(c.clientProcs)
		childGOMAXPROCS = c.clientProcs
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res, err := run(ctx, c, log)
	pprof.StopCPUProfile()
	if res != nil {
		res.print(os.Stdout)
		if path, werr := res.save(c.out); werr != nil {
			log.Error("write results", "err", werr)
		} else {
			log.Info("results written", "file", path)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "natter-bench:", err)
		os.Exit(1)
	}
}

func parseFlags(scenario string, args []string) (config, error) {
	c := config{scenario: scenario}
	switch scenario {
	case "idle", "fanout", "publish", "storm", "history":
	default:
		return c, fmt.Errorf("unknown scenario %q (idle, fanout, publish, storm, history)", scenario)
	}
	fs := flag.NewFlagSet(scenario, flag.ContinueOnError)
	fs.StringVar(&c.url, "url", "", "target ws:// URL of a running natter (default: start --natter serve in a temp dir)")
	fs.StringVar(&c.natter, "natter", "bin/natter", "natter binary to start")
	fs.StringVar(&c.natsServer, "nats-server", "bin/nats-server", "nats-server binary for --baseline")
	fs.StringVar(&c.dataDir, "data", "", "with --url: the server's data dir, for its jwt.secret")
	fs.StringVar(&c.secret, "jwt-secret", "", "with --url: the server's HS256 secret (instead of --data)")
	fs.IntVar(&c.pid, "pid", 0, "with --url: the server's pid, to sample its RSS and CPU")
	fs.StringVar(&c.serverArgs, "server-args", "", "extra flags for the started natter (space-separated)")
	fs.StringVar(&c.role, "role", "serve", "natter to start: serve (one process with embedded NATS) or edge (natter edge on a separate nats-server, so that /proc shows the edge alone)")
	fs.IntVar(&c.conns, "conns", 0, "idle, storm: client connections (default idle 5000, storm 2000)")
	fs.IntVar(&c.rooms, "rooms", 0, "rooms (default: idle conns/10, fanout 1, storm conns/20)")
	fs.IntVar(&c.members, "members", 1000, "fanout: members per room")
	fs.IntVar(&c.perConn, "per-conn", 2, "idle: rooms each connection joins")
	rates := fs.String("rates", "", "fanout: comma-separated total publish rates in msgs/s to run in turn")
	rate := fs.Float64("rate", 100, "fanout: publish rate in msgs/s (the first step with --find-max)")
	fs.BoolVar(&c.findMax, "find-max", false, "fanout: step the rate up to the highest with p99 within --p99, then run half of it")
	fs.IntVar(&c.maxSteps, "max-steps", 8, "fanout --find-max: most rate steps")
	fs.DurationVar(&c.p99, "p99", 50*time.Millisecond, "fanout --find-max: the p99 latency target")
	fs.IntVar(&c.size, "size", 100, "message text size in bytes")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "fanout: length of each rate step; publish, history: length of the run (history: whole seconds)")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "fanout, publish: unmeasured traffic before the first step")
	fs.DurationVar(&c.drain, "drain", 10*time.Second, "fanout: longest wait for deliveries after a step's last publish")
	fs.DurationVar(&c.idleWait, "idle-wait", 45*time.Second, "idle: how long connections stay idle before RSS is read (the Go runtime returns freed memory lazily)")
	fs.DurationVar(&c.settle, "settle", 5*time.Second, "idle: wait after server start before the RSS baseline is read")
	fs.IntVar(&c.procs, "procs", 0, "child processes holding the client connections (0: in this process)")
	src := fs.String("src", "127.0.0.2-127.0.0.9", "source addresses for client sockets: a list or a range a.b.c.d-a.b.c.e")
	fs.IntVar(&c.conc, "conc", 200, "dials in flight per process")
	fs.DurationVar(&c.heartbeat, "heartbeat", 30*time.Second, "natter ping interval per connection (the edge closes silent ones after --idle-timeout)")
	fs.IntVar(&c.publishers, "publishers", 4, "fanout: publishing connections (at most one per room)")
	fs.IntVar(&c.senders, "senders", 100, "publish: sending connections, each with its own room")
	fs.IntVar(&c.window, "window", 8, "publish: sends in flight per sender (storm: for the whole burst, x100; history: for the seeding, x32)")
	fs.IntVar(&c.missed, "missed", 100, "storm: messages published to each room while its members are away")
	fs.IntVar(&c.messages, "messages", 5000, "history: messages seeded into the room before the pages are read")
	fs.IntVar(&c.httpConns, "http-conns", 64, "history: wrk's HTTP connections")
	fs.DurationVar(&c.catchUpTimeout, "catch-up-timeout", 2*time.Minute, "storm: longest wait for every client to catch up")
	fs.BoolVar(&c.baseline, "baseline", false, "fanout, publish: run the same scenario against nats-server's WebSocket listener too")
	fs.StringVar(&c.out, "out", "bench/results", "directory for the JSON results")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "bound on the whole run")
	fs.BoolVar(&c.keep, "keep", false, "keep the temp dir with the servers' data and logs")
	fs.IntVar(&c.clientProcs, "client-gomaxprocs", 0, "GOMAXPROCS of the bench and its child processes, not of the servers (0: Go's default)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write the bench's own CPU profile (not the server's) to this file")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *rates != "" {
		for _, s := range strings.Split(*rates, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || r <= 0 {
				return c, fmt.Errorf("--rates: bad rate %q", s)
			}
			c.rates = append(c.rates, r)
		}
	} else {
		c.rates = []float64{*rate}
	}
	var err error
	if c.srcIPs, err = parseSrc(*src); err != nil {
		return c, err
	}
	switch scenario {
	case "idle":
		if c.conns == 0 {
			c.conns = 5000
		}
		if c.rooms == 0 {
			c.rooms = max(1, c.conns/10)
		}
	case "storm":
		if c.conns == 0 {
			c.conns = 2000
		}
		if c.rooms == 0 {
			c.rooms = max(1, c.conns/20)
		}
		c.perConn = 1
	case "fanout":
		if c.rooms == 0 {
			c.rooms = 1
		}
		c.perConn = 1
		c.conns = c.rooms * c.members
	case "history":
		// Before any server starts: a missing wrk should cost nothing.
		if _, err := lookWrk(); err != nil {
			return c, err
		}
		if c.messages < historyPage {
			return c, fmt.Errorf("--messages: %d is less than a page (%d)", c.messages, historyPage)
		}
		if c.httpConns < 1 {
			return c, errors.New("--http-conns must be at least 1")
		}
	}
	if c.baseline && scenario != "fanout" && scenario != "publish" {
		return c, errors.New("--baseline applies to fanout and publish only")
	}
	if c.role != "serve" && c.role != "edge" {
		return c, fmt.Errorf("--role: %q is neither serve nor edge", c.role)
	}
	if c.url != "" && c.dataDir == "" && c.secret == "" {
		return c, errors.New("--url needs --data or --jwt-secret to mint tokens")
	}
	if c.procs == 0 && c.conns > 18000 {
		return c, fmt.Errorf("%d connections exceed one process's open-file cap: use --procs", c.conns)
	}
	if c.procs > 0 && c.conns/c.procs > 18000 {
		return c, fmt.Errorf("%d connections per process exceed the open-file cap: raise --procs", c.conns/c.procs)
	}
	return c, nil
}

// parseSrc reads "127.0.0.2-127.0.0.9" or "127.0.0.2,127.0.0.3". Only
// loopback addresses are accepted: the bench never leaves the machine.
func parseSrc(s string) ([]string, error) {
	var out []string
	if a, b, ok := strings.Cut(s, "-"); ok {
		ia, ib := net.ParseIP(a).To4(), net.ParseIP(b).To4()
		if ia == nil || ib == nil || ia[0] != ib[0] || ia[1] != ib[1] || ia[2] != ib[2] || ia[3] > ib[3] {
			return nil, fmt.Errorf("--src: bad range %q", s)
		}
		for x := int(ia[3]); x <= int(ib[3]); x++ {
			out = append(out, net.IPv4(ia[0], ia[1], ia[2], byte(x)).String())
		}
	} else {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	for _, ip := range out {
		if p := net.ParseIP(ip); p == nil || !p.IsLoopback() {
			return nil, fmt.Errorf("--src: %q is not a loopback address", ip)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--src: no addresses")
	}
	return out, nil
}

// target is a server under test.
type target struct {
	kind   string // "natter" or "nats"
	name   string // as reported
	url    string
	secret string
	pid    int
	srv    *server
	nats   *server // under natter edge
}

// run starts the servers one at a time (Natter, then the baseline), runs
// the scenario against each, and returns the report.
func run(ctx context.Context, c config, log *slog.Logger) (*Result, error) {
	dir, err := os.MkdirTemp("", "natter-bench-")
	if err != nil {
		return nil, err
	}
	if c.keep {
		log.Info("work dir kept", "dir", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	res := newResult(c)
	if c.url == "" {
		if out, err := exec.Command(c.natter, "version").Output(); err == nil {
			res.Version = strings.TrimSpace(string(out))
		}
	}
	nt, err := natterTarget(ctx, c, dir)
	if err != nil {
		return nil, err
	}
	log.Info("natter up", "url", nt.url, "pid", nt.pid, "role", c.role)
	res.Natter, err = runScenario(ctx, c, nt, log)
	if nt.srv != nil {
		if aerr := nt.srv.alive(); aerr != nil && err == nil {
			err = aerr
		}
		nt.srv.stop()
	}
	nt.nats.stop()
	if err != nil || !c.baseline {
		res.finish()
		return res, err
	}
	bin, _ := filepath.Abs(c.natsServer)
	srv, url, _, err := startNATS(ctx, bin, filepath.Join(dir, "baseline"))
	if err != nil {
		res.finish()
		return res, fmt.Errorf("baseline: %w", err)
	}
	defer srv.stop()
	bt := &target{kind: "nats", name: "nats-ws", url: url, pid: srv.pid(), srv: srv}
	log.Info("nats-server up", "url", url, "pid", bt.pid)
	res.Baseline, err = runScenario(ctx, c, bt, log)
	res.finish()
	return res, err
}

func natterTarget(ctx context.Context, c config, dir string) (*target, error) {
	t := &target{kind: "natter", name: "natter", url: c.url, pid: c.pid}
	if c.url == "" {
		bin, err := filepath.Abs(c.natter)
		if err != nil {
			return nil, err
		}
		var natsURL string
		if c.role == "edge" {
			nbin, _ := filepath.Abs(c.natsServer)
			if t.nats, _, natsURL, err = startNATS(ctx, nbin, filepath.Join(dir, "natter-nats")); err != nil {
				return nil, err
			}
			b := make([]byte, 32)
			_, _ = rand.Read(b)
			c.secret = hex.EncodeToString(b)
		}
		srv, url, err := startNatter(ctx, bin, dir, natsURL, c.secret, strings.Fields(c.serverArgs))
		if err != nil {
			t.nats.stop()
			return nil, err
		}
		t.url, t.pid, t.srv = url, srv.pid(), srv
		c.dataDir = filepath.Join(dir, "data")
	}
	if c.secret != "" {
		t.secret = c.secret
		return t, nil
	}
	key, err := loadSecret(c.dataDir)
	if err != nil {
		t.srv.stop()
		return nil, err
	}
	t.secret = key
	return t, nil
}

func runScenario(ctx context.Context, c config, t *target, log *slog.Logger) (*Report, error) {
	switch c.scenario {
	case "idle":
		return idle(ctx, c, t, log)
	case "fanout":
		return fanout(ctx, c, t, log)
	case "publish":
		return publish(ctx, c, t, log)
	case "storm":
		return storm(ctx, c, t, log)
	case "history":
		return history(ctx, c, t, log)
	}
	return nil, fmt.Errorf("unknown scenario %q", c.scenario)
}

// gitCommit is the short commit of the working tree, if there is one.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func round(f float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if f < 0 {
		return -float64(int64(-f*p+0.5)) / p
	}
	return float64(int64(f*p+0.5)) / p
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
