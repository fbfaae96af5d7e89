package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/natter-chat/natter/auth"
	"github.com/natter-chat/natter/edge/wsclient"
)

// buildNatter builds the natter binary into a temp dir.
func buildNatter(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "natter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// proc is a natter serve subprocess whose log the test can wait on.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string // host:port

	mu   sync.Mutex
	log  []string
	more chan struct{} // closed and replaced on every new line
}

// startProc runs `natter serve` on a loopback port with its descriptor
// limit (soft and hard) at nofile, and waits until it listens.
func startProc(t *testing.T, ctx context.Context, bin string, nofile int, args ...string) *proc {
	t.Helper()
	args = append([]string{"-c", `ulimit -n "$0" && exec "$@"`, strconv.Itoa(nofile), bin, "serve",
		"--addr", "127.0.0.1:0", "--data", t.TempDir()}, args...)
	p := watchProc(t, exec.Command("bash", args...))
	m := p.waitLog(ctx, regexp.MustCompile(`url=http://(\S+)`))
	p.addr = m[1]
	return p
}

// read keeps the lines of r, the process's log.
func (p *proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		p.mu.Lock()
		p.log = append(p.log, sc.Text())
		close(p.more)
		p.more = make(chan struct{})
		p.mu.Unlock()
	}
}

// lines is the log so far.
func (p *proc) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// waitLog waits for a log line matching re, from the start of the log, and
// returns its submatches.
func (p *proc) waitLog(ctx context.Context, re *regexp.Regexp) []string {
	p.t.Helper()
	for i := 0; ; {
		p.mu.Lock()
		for ; i < len(p.log); i++ {
			if m := re.FindStringSubmatch(p.log[i]); m != nil {
				p.mu.Unlock()
				return m
			}
		}
		more := p.more
		p.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			p.t.Fatalf("no log line matching %s; log:\n%s", re, strings.Join(p.log, "\n"))
		}
	}
}

// logCount is the number of log lines matching re so far.
func (p *proc) logCount(re *regexp.Regexp) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.log {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

// healthy reports whether a new connection from 127.0.0.1 is served.
func healthy(t *testing.T, addr string) bool {
	c := dialFrom(t, addr, "127.0.0.1")
	defer c.Close()
	st, _, _ := c.get("/healthz")
	return st == 200
}

// openUntilRefused opens keep-alive connections (one GET /healthz each)
// until one is not served, at most max; it returns the served ones and
// the refused one's status (0: closed or no answer).
func openUntilRefused(t *testing.T, addr string, max int) ([]*rawConn, int) {
	t.Helper()
	var held []*rawConn
	for range max {
		c := dialFrom(t, addr, "127.0.0.1")
		st, _, _ := c.get("/healthz")
		if st != 200 {
			return held, st
		}
		held = append(held, c)
	}
	t.Fatalf("%d connections all served: nothing refused", max)
	return nil, 0
}

// Finding 2: with descriptors scarce (RLIMIT_NOFILE 256), idle keep-alive
// connections no longer kill the listener. At the default --max-conns the
// cap refuses them with 503 while the process still has descriptors; with
// no cap the accept fails with EMFILE, is retried, /readyz says so, and the
// server serves again once the connections are gone (it never did before).
func TestFDExhaustionRecovers(t *testing.T) {
	bin := buildNatter(t)
	const nofile = 256
	for _, tc := range []struct {
		name  string
		args  []string
		ready string // what /readyz says meanwhile
	}{
		{"at the default cap", nil, "connection limit reached"},
		{"out of descriptors", []string{"--max-conns", "0"}, "accept failing: too many open files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxFor(t, 90*time.Second)
			p := startProc(t, ctx, bin, nofile, append([]string{"--max-conns-per-ip", "0", "--http-idle-timeout", "5m"}, tc.args...)...)
			held, st := openUntilRefused(t, p.addr, 2*nofile)
			t.Logf("%d connections served, the next one refused with %d", len(held), st)
			if len(held) < nofile/2 {
				t.Fatalf("refused after only %d connections", len(held))
			}
			if tc.args == nil && st != 503 {
				t.Fatalf("refused with %d at the cap, want 503", st)
			}
			if st, body, err := held[0].get("/readyz"); st != 503 || !strings.Contains(body, tc.ready) {
				t.Fatalf("/readyz meanwhile: %d %q %v, want 503 %q", st, body, err, tc.ready)
			}
			for _, c := range held {
				c.Close()
			}
			waitFor(t, ctx, func() bool { return healthy(t, p.addr) })
			waitFor(t, ctx, func() bool {
				c := dialFrom(t, p.addr, "127.0.0.1")
				defer c.Close()
				st, _, _ := c.get("/readyz")
				return st == 200
			})
			c := dialFrom(t, p.addr, "127.0.0.1")
			metric := `natter_connections_refused_total{reason="max_conns"}`
			if tc.args != nil {
				metric = `natter_accept_errors_total{reason="emfile"}`
			}
			if _, body, _ := c.get("/metrics"); !strings.Contains(body, metric) {
				t.Errorf("/metrics has no %s", metric)
			}
			// One WARN line per period, however many errors.
			if n := p.logCount(regexp.MustCompile(`level=WARN`)); n > 5 {
				t.Errorf("%d WARN lines, want them rate-limited", n)
			}
		})
	}
}

// --deny-ips and --allow-ips from files are re-read on SIGHUP: new
// connections are refused at accept, open keep-alive connections at their
// next request, open WebSockets closed with 1008; a broken file keeps the
// lists in force.
func TestIPListsReloadOnSIGHUP(t *testing.T) {
	bin := buildNatter(t)
	ctx := ctxFor(t, 60*time.Second)
	dir := t.TempDir()
	allow, deny := filepath.Join(dir, "allow"), filepath.Join(dir, "deny")
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(allow, "")
	write(deny, "# nobody\n")
	const secret = "a test secret of at least thirty-two bytes"
	p := startProc(t, ctx, bin, 1024, "--allow-ips", "@"+allow, "--deny-ips", "@"+deny, "--jwt-secret", secret)
	keys, err := auth.New(auth.Config{Secret: []byte(secret)})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := keys.Issue("alice", time.Hour)
	sock, err := wsclient.Dial(ctx, "ws://"+p.addr+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	if _, err := sock.Auth(ctx, tok); err != nil {
		t.Fatal(err)
	}
	served := func(src string) bool {
		c := dialFrom(t, p.addr, src)
		defer c.Close()
		st, _, _ := c.get("/healthz")
		return st == 200
	}
	reload := func(n int) {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		// The n-th reload (the start was the first) has happened when its
		// log line is there.
		waitFor(t, ctx, func() bool {
			return p.logCount(regexp.MustCompile(`ip lists loaded|ip lists kept`)) >= n
		})
	}
	keep := dialFrom(t, p.addr, "127.0.0.1")
	if st, _, err := keep.get("/healthz"); st != 200 || !served("127.0.0.2") {
		t.Fatalf("before any list: %d %v", st, err)
	}

	write(deny, "127.0.0.1 # this one\n::1\n")
	reload(2)
	if served("127.0.0.1") || !served("127.0.0.2") {
		t.Fatal("deny list of 127.0.0.1 not in force after SIGHUP")
	}
	if st, body, _ := keep.get("/healthz"); st != 403 || !strings.Contains(body, "forbidden") {
		t.Fatalf("open keep-alive connection of a denied client: %d %q, want 403", st, body)
	}
	if cl, err := sock.Wait(ctx); err != nil || cl.Code != 1008 {
		t.Fatalf("open WebSocket of a denied client: %+v %v, want close 1008", cl, err)
	}

	write(deny, "")
	write(allow, "127.0.0.2/32\n10.0.0.0/8\n")
	reload(3)
	if !served("127.0.0.2") || served("127.0.0.1") || served("127.0.0.3") {
		t.Fatal("allow list not in force after SIGHUP")
	}

	write(allow, "127.0.0.300\n")
	reload(4)
	p.waitLog(ctx, regexp.MustCompile(`reload: ip lists kept`))
	if !served("127.0.0.2") || served("127.0.0.1") {
		t.Fatal("a broken list file changed the lists in force")
	}
	if p.cmd.ProcessState != nil {
		t.Fatal("SIGHUP ended the process")
	}
	c := dialFrom(t, p.addr, "127.0.0.2")
	if _, body, _ := c.get("/metrics"); !strings.Contains(body, `natter_connections_refused_total{reason="denied"}`) {
		t.Error("refusals not counted")
	}
}
