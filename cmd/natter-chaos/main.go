// Command natter-chaos proves the cluster shape end to end: it starts a
// 3-node NATS JetStream cluster, two natter edges and a history replica as
// separate processes on loopback, runs chat traffic through them while it
// kills and restarts nodes, then checks that every acknowledged message
// reached every member exactly once, in order, and the history archive.
//
// --scenario faults (the default) is a schedule of process faults: kill,
// drain, SIGSTOP (of edge1's node, of the ROOMS leader, of two nodes at
// once) and a rolling restart; --scenario partition runs the same cluster
// in network namespaces and cuts NATS nodes off (root only; it says
// SKIPPED otherwise).
//
// It prints what it measured, with the time without service each fault
// caused, and exits non-zero on any loss, duplicate, reorder or message
// missing from history. docs/RELIABILITY.md describes the runs and their
// latest figures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

type config struct {
	natter, natsServer string
	clients, rooms     int
	rate               float64
	duration           time.Duration
	dir                string
	keep               bool
	basePort           int
	scenario           string
	inNetns            bool
}

func main() {
	var c config
	flag.StringVar(&c.natter, "natter", "bin/natter", "natter binary")
	flag.StringVar(&c.natsServer, "nats-server", "bin/nats-server", "nats-server binary")
	flag.IntVar(&c.clients, "clients", 50, "chat clients, spread over both edges")
	flag.IntVar(&c.rooms, "rooms", 5, "rooms; client i is a member of room i%rooms")
	flag.Float64Var(&c.rate, "rate", 4, "messages per second each client sends")
	flag.DurationVar(&c.duration, "duration", 150*time.Second, "length of the traffic phase (the chaos schedule scales with it)")
	flag.StringVar(&c.dir, "dir", "", "work dir for data and logs (default: a new temp dir)")
	flag.BoolVar(&c.keep, "keep", false, "keep the work dir")
	flag.IntVar(&c.basePort, "port", 0, "first of the 41 loopback ports used (0: a free span chosen at random)")
	flag.StringVar(&c.scenario, "scenario", "faults", `"faults" (the schedule of process faults) or "partition" (a NATS node cut off by the network; needs root and ip, skipped otherwise)`)
	flag.BoolVar(&c.inNetns, "in-netns", false, "internal: this is the partition scenario's run inside its network namespace")
	flag.Parse()
	if c.scenario != "faults" && c.scenario != "partition" {
		fatal(fmt.Errorf("unknown --scenario %q", c.scenario))
	}
	if c.scenario == "partition" && !c.inNetns {
		err := partitionUnsupported()
		code := 0
		if err == nil {
			code, err = runInNetns()
		}
		// CI sets NATTER_REQUIRE_TOOLS=1 and installs iproute2: there a
		// missing ip is an error, as a missing node or docker-compose is.
		if errors.Is(err, errNoPrivilege) || errors.Is(err, errNoIP) && os.Getenv("NATTER_REQUIRE_TOOLS") != "1" {
			fmt.Println("natter-chaos: SKIPPED the partition scenario:", err)
			return
		}
		if err != nil {
			fatal(err)
		}
		os.Exit(code)
	}
	net := loopback
	if c.inNetns {
		net = namespaced
	}
	switch {
	case c.basePort != 0:
	case c.inNetns:
		c.basePort = 24000 // a namespace of its own: nobody else's ports
	default:
		base, err := freeBase()
		if err != nil {
			fatal(err)
		}
		c.basePort = base
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.dir == "" {
		d, err := os.MkdirTemp("", "natter-chaos-")
		if err != nil {
			fatal(err)
		}
		c.dir = d
		if !c.keep {
			defer os.RemoveAll(d)
		}
	}
	for _, p := range []*string{&c.natter, &c.natsServer} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			fatal(err)
		}
		*p = abs
	}
	rep, err := run(ctx, c, net, log)
	if rep != nil {
		rep.print(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "natter-chaos:", err)
		fmt.Fprintln(os.Stderr, "logs in", c.dir)
		if !c.keep {
			c.keep = true // keep the evidence
		}
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "natter-chaos:", err)
	os.Exit(1)
}
