package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/natter-chat/natter/edge"
	"github.com/natter-chat/natter/edge/wsclient"
)

// startNATSServer builds nats-server (the version in go.mod) and runs it
// with JetStream on a free loopback port; it returns the process and URL.
// conf, if set, is the body of a jetstream {} block (limits).
func startNATSServer(t *testing.T, conf string) (*exec.Cmd, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds nats-server")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "nats-server")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("build nats-server: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfgFile := filepath.Join(dir, "nats.conf")
	cfg := fmt.Sprintf("listen: 127.0.0.1:%d\njetstream { store_dir: %q\n%s\n}\n", port, filepath.Join(dir, "js"), conf)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", cfgFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", l.Addr().String())
		if err == nil {
			c.Close()
			return cmd, url
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server not listening: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An edge whose NATS server hangs (SIGSTOP) closes its clients with 1013
// once JetStream has been unreachable for --store-down-after, spread over
// --store-down-spread, so that they reconnect to a healthy edge: not at
// once, not all together, and within the bound.
func TestStoreDownClosesClients(t *testing.T) {
	const after, spread, clients = time.Second, time.Second, 8
	nats, url := startNATSServer(t, "")
	s := startServer(t, "", func(m *Main) {
		m.Role, m.NATS, m.JWTSecret = "edge", url, "store-down-test-secret-0123456789abcdef"
		m.StoreDownAfter, m.StoreDownSpread = after, spread
	})
	ctx := ctxFor(t, time.Minute)
	var cs []*tclient
	for i := range clients {
		c := s.connect(ctx, fmt.Sprintf("u%d", i))
		c.join(ctx, "hang", -1, "")
		cs = append(cs, c)
	}
	cs[0].send(ctx, "hang", "before", "stored before the hang")

	if err := nats.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	closedAt := make([]time.Duration, clients)
	errs := make(chan error, clients)
	for i, c := range cs {
		go func() {
			cl, err := c.Wait(ctx)
			closedAt[i] = time.Since(stopped)
			if err == nil && cl.Code != int(edge.CloseTryAgainLater) {
				err = fmt.Errorf("closed with %d %q, want 1013", cl.Code, cl.Reason)
			}
			errs <- err
		}()
	}
	for i := range clients {
		if err := <-errs; err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	sort.Slice(closedAt, func(i, j int) bool { return closedAt[i] < closedAt[j] })
	first, last := closedAt[0], closedAt[clients-1]
	t.Logf("closed with 1013 from %v to %v after SIGSTOP", first.Round(time.Millisecond), last.Round(time.Millisecond))
	if first < after {
		t.Fatalf("first close %v after the hang, before --store-down-after %v", first, after)
	}
	// Detection takes up to after + a probe interval and timeout; the
	// closes then take spread. Generous for a busy machine.
	if bound := after + spread + 5*time.Second; last > bound {
		t.Fatalf("last close %v after the hang, want within %v", last, bound)
	}
	if last-first < spread/2 {
		t.Fatalf("closes spread over %v, want about %v", last-first, spread)
	}

	// Once NATS answers again, the edge serves: a client that reconnects
	// sends and is acked.
	if err := nats.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	var ev wsclient.Event
	waitFor(t, ctx, func() bool {
		c, err := wsclient.Dial(ctx, s.wsURL())
		if err != nil {
			return false
		}
		defer c.Close()
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := c.Auth(sctx, s.token("u0")); err != nil {
			return false
		}
		if _, err := c.Join(sctx, "hang", -1, ""); err != nil {
			t.Logf("join after SIGCONT: %v", err)
			return false
		}
		ev, err = c.SendText(sctx, "hang", "after", "stored after the hang")
		if err != nil {
			t.Logf("send after SIGCONT: %v", err)
		}
		return err == nil
	})
	if ev.Seq == 0 {
		t.Fatalf("send after the hang: %+v", ev)
	}
}

// A cluster whose JetStream answers but has no room left is the same from
// every edge: clients are told with a service event, not closed, and sends
// fail at once with unavailable.
func TestStoreFullTellsClusterClients(t *testing.T) {
	_, url := startNATSServer(t, "max_file_store: 1MB")
	s := startServer(t, "", func(m *Main) {
		m.Role, m.NATS, m.JWTSecret = "edge", url, "store-full-test-secret-0123456789abcdef"
		m.StoreDownAfter, m.Rate, m.Burst = 300*time.Millisecond, 10000, 10000
	})
	ctx := ctxFor(t, time.Minute)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")
	alice.join(ctx, "full", -1, "")
	var err error
	for i := 0; i < 2000 && err == nil; i++ {
		_, err = alice.SendText(ctx, "full", cid("f", i), strings.Repeat("x", 4000))
	}
	if wsclient.ErrorCode(err) != "unavailable" || !strings.Contains(err.Error(), "out of space") {
		t.Fatalf("send into a full store: %v", err)
	}
	ev, err := bob.Expect(ctx, "service")
	if err != nil || ev.Status != "unavailable" || !strings.Contains(ev.Message, "out of space") {
		t.Fatalf("bob: %+v %v, want a service event", ev, err)
	}
	if _, err := bob.Request(ctx, map[string]any{"op": "ping"}); err != nil {
		t.Fatalf("bob after the service event: %v (closed?)", err)
	}
}
