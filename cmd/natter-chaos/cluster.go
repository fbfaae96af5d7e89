package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proc is one child process that can be killed and started again with the
// same command line and data.
type proc struct {
	name string
	args []string
	env  []string
	log  string
	cmd  *exec.Cmd
	exit chan error
}

func (p *proc) start() error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "\n=== start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), p.env...)
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", p.name, err)
	}
	p.cmd, p.exit = cmd, make(chan error, 1)
	go func() { p.exit <- cmd.Wait(); f.Close() }()
	return nil
}

// running reports an error if the process has exited.
func (p *proc) running() error {
	select {
	case err := <-p.exit:
		p.exit <- err
		return fmt.Errorf("%s exited: %v (log %s)", p.name, err, p.log)
	default:
		return nil
	}
}

// kill sends SIGKILL (no goodbye) and waits for the process to be gone.
func (p *proc) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exit
	p.cmd = nil
}

// signal sends sig to the running process.
func (p *proc) signal(sig syscall.Signal) error {
	if p.cmd == nil {
		return fmt.Errorf("%s is not running", p.name)
	}
	return p.cmd.Process.Signal(sig)
}

// term sends SIGTERM and waits up to d for a graceful exit.
func (p *proc) term(d time.Duration) error {
	if p.cmd == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exit:
		p.cmd = nil
		return err
	case <-time.After(d):
		p.kill()
		return fmt.Errorf("%s did not exit within %v of SIGTERM", p.name, d)
	}
}

// cluster is the whole deployment under test.
type cluster struct {
	nats    []*proc
	edges   []*proc
	history *proc
	histDir string // the history replica's data dir
	natsURL string
	natsMon []string // each node's monitoring base URL, http://…
	edgeURL []string // ws://…/ws
	histURL string   // http://…
	secret  string
}

// natsConf is node i's config; hosts are every node's listen address.
func natsConf(i int, hosts []string, client, route, mon []int, store string) string {
	var rs []string
	for j, r := range route {
		rs = append(rs, fmt.Sprintf("nats://%s:%d", hosts[j], r))
	}
	return fmt.Sprintf(`server_name: n%d
listen: %s:%d
http: %s:%d
jetstream { store_dir: %q }
cluster {
  name: natter
  listen: %s:%d
  routes: [%s]
}
`, i+1, hosts[i], client[i], hosts[i], mon[i], store, hosts[i], route[i], strings.Join(rs, ", "))
}

// nodeNet is where the NATS nodes live: their addresses, and the command
// that runs a process in node i's network (nil on loopback).
type nodeNet struct {
	hosts []string
	wrap  func(i int) []string
}

var loopback = nodeNet{hosts: []string{"127.0.0.1", "127.0.0.1", "127.0.0.1"}, wrap: func(int) []string { return nil }}

func startCluster(ctx context.Context, c config, net nodeNet, log *slog.Logger) (*cluster, error) {
	cl := &cluster{secret: "chaos-shared-secret-0123456789abcdef"}
	port := c.basePort
	var clientPorts, routePorts, monPorts []int
	for i := 0; i < 3; i++ {
		clientPorts = append(clientPorts, port+i)
		routePorts = append(routePorts, port+10+i)
		monPorts = append(monPorts, port+20+i)
	}
	var urls []string
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("n%d", i+1)
		dir := filepath.Join(c.dir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		conf := filepath.Join(dir, "nats.conf")
		if err := os.WriteFile(conf, []byte(natsConf(i, net.hosts, clientPorts, routePorts, monPorts, filepath.Join(dir, "js"))), 0o644); err != nil {
			return nil, err
		}
		p := &proc{name: name, args: append(net.wrap(i), c.natsServer, "-c", conf), log: filepath.Join(dir, "log")}
		cl.nats = append(cl.nats, p)
		urls = append(urls, fmt.Sprintf("nats://%s:%d", net.hosts[i], clientPorts[i]))
		cl.natsMon = append(cl.natsMon, fmt.Sprintf("http://%s:%d", net.hosts[i], monPorts[i]))
	}
	cl.natsURL = strings.Join(urls, ",")
	for _, p := range cl.nats {
		if err := p.start(); err != nil {
			return cl, err
		}
	}
	for i, p := range cl.nats {
		if err := waitHTTP(ctx, cl.natsMon[i]+"/healthz", 30*time.Second); err != nil {
			return cl, fmt.Errorf("nats n%d: %w", i+1, err)
		}
		if err := p.running(); err != nil {
			return cl, err // someone else answered on its port
		}
	}
	// Every client dials from 127.0.0.1: no per-IP cap.
	common := []string{"--jwt-secret", cl.secret, "--replicas", "3", "--shutdown-timeout", "5s", "--max-conns-per-ip", "0"}
	for i := 0; i < 2; i++ {
		addr := fmt.Sprintf("127.0.0.1:%d", port+30+i)
		// edge1 knows only n1 and learns the others from the cluster (as
		// nats.go does), so that the test knows which node it is on.
		seeds := cl.natsURL
		if i == 0 {
			seeds = urls[0]
		}
		p := &proc{name: fmt.Sprintf("edge%d", i+1), log: filepath.Join(c.dir, fmt.Sprintf("edge%d.log", i+1)),
			args: append([]string{c.natter, "edge", "--addr", addr, "--drain-delay", "500ms", "--rate", "1000", "--burst", "1000", "--nats", seeds}, common...)}
		cl.edges = append(cl.edges, p)
		cl.edgeURL = append(cl.edgeURL, "ws://"+addr+"/ws")
	}
	haddr := fmt.Sprintf("127.0.0.1:%d", port+40)
	cl.histDir = filepath.Join(c.dir, "history")
	cl.history = &proc{name: "history", log: filepath.Join(c.dir, "history.log"),
		args: append([]string{c.natter, "history", "--addr", haddr, "--data", cl.histDir, "--nats", cl.natsURL}, common...)}
	cl.histURL = "http://" + haddr
	// The history replica first: it creates the stream (R3) before the edges race for it.
	for _, p := range append([]*proc{cl.history}, cl.edges...) {
		if err := p.start(); err != nil {
			return cl, err
		}
	}
	for i, p := range append([]*proc{cl.history}, cl.edges...) {
		url := cl.histURL
		if i > 0 {
			url = strings.Replace(strings.TrimSuffix(cl.edgeURL[i-1], "/ws"), "ws://", "http://", 1)
		}
		if err := waitHTTP(ctx, url+"/readyz", 60*time.Second); err != nil {
			return cl, fmt.Errorf("%s not ready: %w (log %s)", p.name, err, p.log)
		}
		if err := p.running(); err != nil {
			return cl, err
		}
	}
	log.Info("cluster up", "nats", cl.natsURL, "edges", cl.edgeURL, "history", cl.histURL)
	return cl, nil
}

// rebuildHistory kills the history replica with -9, deletes its data dir
// (a lost volume) and starts it again: it must rebuild its archive from
// the stream while traffic goes on.
func (cl *cluster) rebuildHistory() error {
	cl.history.kill()
	if err := os.RemoveAll(cl.histDir); err != nil {
		return err
	}
	return cl.history.start()
}

func (cl *cluster) stop() {
	for _, p := range append(append([]*proc{cl.history}, cl.edges...), cl.nats...) {
		if p != nil && p.exit != nil {
			_ = p.term(10 * time.Second)
		}
	}
}

// waitStatus polls url until it answers 200 (ok) or anything else or
// nothing (!ok), or d passes.
func waitStatus(ctx context.Context, url string, ok bool, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		rctx, rcancel := context.WithTimeout(ctx, time.Second)
		req, _ := http.NewRequestWithContext(rctx, "GET", url, nil)
		resp, err := http.DefaultClient.Do(req)
		up := err == nil && resp.StatusCode == 200
		if err == nil {
			resp.Body.Close()
		}
		rcancel()
		if up == ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: still %v after %v", url, up, d)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitHTTP polls url until it answers 200 or d passes.
func waitHTTP(ctx context.Context, url string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
			return fmt.Errorf("%s: %v", url, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
