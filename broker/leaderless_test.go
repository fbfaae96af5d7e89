package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

// natsNode is one nats-server process of a test cluster.
type natsNode struct {
	name, url string
	cmd       *exec.Cmd
}

// freePorts reserves n loopback ports and releases them for the caller.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// startNATSCluster builds nats-server (the version in go.mod) and runs a
// three-node JetStream cluster of it on loopback, as separate processes
// so that a node can be stopped (SIGSTOP) like a hung machine.
func startNATSCluster(t *testing.T) []*natsNode {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a nats-server cluster")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "nats-server")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("build nats-server: %v\n%s", err, out)
	}
	ports := freePorts(t, 6)
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
	}
	var nodes []*natsNode
	for i := range 3 {
		n := &natsNode{name: fmt.Sprintf("n%d", i+1), url: fmt.Sprintf("nats://127.0.0.1:%d", ports[i])}
		conf := filepath.Join(dir, n.name+".conf")
		body := fmt.Sprintf("server_name: %s\nlisten: 127.0.0.1:%d\njetstream { store_dir: %q }\ncluster { name: test, listen: 127.0.0.1:%d, routes: [%s] }\n",
			n.name, ports[i], filepath.Join(dir, n.name), ports[3+i], strings.Join(routes, ", "))
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		n.cmd = exec.Command(bin, "-c", conf)
		if err := n.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			n.cmd.Process.Signal(syscall.SIGCONT)
			n.cmd.Process.Kill()
			n.cmd.Wait()
		})
		nodes = append(nodes, n)
	}
	for i := range 3 {
		addr := fmt.Sprintf("127.0.0.1:%d", ports[i])
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("nats-server %s not listening on %s", nodes[i].name, addr)
			}
		}
	}
	return nodes
}

// streamLeaderName asks the cluster which server leads ROOMS.
func streamLeaderName(ctx context.Context, b *Broker) (string, error) {
	info, err := b.stream.Info(ctx)
	if err != nil {
		return "", err
	}
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return "", errors.New("no leader")
	}
	return info.Cluster.Leader, nil
}

// A send in flight when the ROOMS leader hangs (SIGSTOP: no connection is
// closed, the broker's own NATS node answers), or when two of the three
// nodes do (quorum lost), is answered `unavailable` soon, instead of when
// the 10 s ack timeout ends; its resend with the same cid is stored once
// there is a leader again.
func TestPublishFailsFastWhenLeaderHangs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		quorum bool // stop the other follower too
	}{{"leader", false}, {"quorum", true}} {
		t.Run(tc.name, func(t *testing.T) { testLeaderHang(t, tc.quorum) })
	}
}

func testLeaderHang(t *testing.T, quorum bool) {
	nodes := startNATSCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := Open(ctx, Config{URLs: nodes[0].url, Replicas: 3, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())

	// The broker is on n1; make another node lead ROOMS, so that the hang
	// takes the leader and leaves the broker's connection alive.
	// The leader must have said so three times over a second: a stepdown
	// takes effect a little after it is answered.
	var leader string
	deadline := time.Now().Add(30 * time.Second)
	for same := 0; ; {
		was := leader
		leader, err = streamLeaderName(ctx, b)
		if err == nil && leader != nodes[0].name {
			if same++; leader != was {
				same = 1
			}
			if same == 3 {
				break
			}
			time.Sleep(500 * time.Millisecond)
			continue
		}
		same = 0
		if time.Now().After(deadline) {
			t.Fatalf("ROOMS leader %q (%v), want one other than %s", leader, err, nodes[0].name)
		}
		if err == nil {
			b.nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+StreamName, nil, 2*time.Second)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := publishWait(ctx, b, Draft{Room: "r", From: "alice", ClientID: "before", Text: "stored before the hang"}); err != nil {
		t.Fatalf("send before the hang: %v", err)
	}
	var hung []*natsNode
	for _, n := range nodes[1:] {
		if n.name == leader || quorum {
			hung = append(hung, n)
		}
	}
	for _, n := range hung {
		if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	stopped := time.Now()
	d := Draft{Room: "r", From: "alice", ClientID: "during", Text: "sent to a hung leader"}
	_, err = publishWait(ctx, b, d)
	took := time.Since(stopped)
	t.Logf("send to the hung leader %s answered after %v: %v", leader, took.Round(time.Millisecond), err)
	if natter.ErrorCode(err) != natter.EUNAVAILABLE {
		t.Fatalf("send to a hung leader: %v, want unavailable", err)
	}
	// The probe needs stallAfter plus up to a check interval and its
	// timeout; generous for a busy machine, well below the 10 s ack timeout.
	if bound := stallAfter + inflightCheckInterval + leaderProbeTimeout + 2*time.Second; took > bound {
		t.Fatalf("send to a hung leader answered after %v, want within %v", took, bound)
	}
	if quorum {
		// Nothing can be stored without a quorum: a second send is
		// answered as soon, and the nodes come back.
		sent := time.Now()
		_, err := publishWait(ctx, b, d)
		if took := time.Since(sent); natter.ErrorCode(err) != natter.EUNAVAILABLE || took > stallAfter+inflightCheckInterval+leaderProbeTimeout+2*time.Second {
			t.Fatalf("send without a quorum: %v after %v, want unavailable soon", err, took)
		}
		for _, n := range hung {
			n.cmd.Process.Signal(syscall.SIGCONT)
		}
	}

	// The resend (same cid) is stored once there is a leader (without the
	// quorum case, before the hung node is back), and a second one is a dup.
	var first Ack
	for {
		if first, err = publishWait(ctx, b, d); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("resend never acked: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("resend acked %v after the hang (seq %d, dup %v)", time.Since(stopped).Round(time.Millisecond), first.Seq, first.Duplicate)
	for _, n := range hung {
		if err := n.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
	}
	again, err := publishWait(ctx, b, d)
	if err != nil || !again.Duplicate || again.Seq != first.Seq {
		t.Fatalf("second resend: %+v %v, want a duplicate of seq %d", again, err, first.Seq)
	}
}
