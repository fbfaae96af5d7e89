package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// The partition scenario needs network namespaces: the whole test (this
// process, the edges, the history replica and the clients) runs in
// nchaos-main, and each NATS node in a namespace of its own, nchaos-nI,
// joined to nchaos-main by a veth pair (10.213.I.1 on the main side,
// 10.213.I.2 on the node's), with nchaos-main routing between them.
// These addresses exist only inside namespaces the test creates, which
// have no other link: nothing leaves them. Cutting a node off is setting
// its end of the pair down: packets to and from it vanish, and no
// connection is closed, as in a real partition.

const (
	nsMain      = "nchaos-main"
	partitionOf = 10 * time.Second
)

// Why the partition scenario is skipped.
var (
	errNoIP        = errors.New("no ip tool (iproute2) in PATH")
	errNoPrivilege = errors.New("no privilege for network namespaces")
)

func nsNode(i int) string { return fmt.Sprintf("nchaos-n%d", i+1) }

// ipCmd runs ip with args and returns its error with its output.
func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// partitionUnsupported says why the partition scenario cannot run here
// (errNoIP or errNoPrivilege), or nil if it can.
func partitionUnsupported() error {
	if _, err := exec.LookPath("ip"); err != nil {
		return errNoIP
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: not root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)", errNoPrivilege)
	}
	return nil
}

// netnsUp creates the namespaces and links; down removes them (and with
// them the veth pairs). Leftovers of an earlier run are removed first.
func netnsUp() (down func(), err error) {
	names := []string{nsMain}
	for i := 0; i < 3; i++ {
		names = append(names, nsNode(i))
	}
	down = func() {
		for _, n := range names {
			_ = ipCmd("netns", "del", n)
		}
	}
	down()
	steps := [][]string{}
	for _, n := range names {
		steps = append(steps, []string{"netns", "add", n}, []string{"-n", n, "link", "set", "lo", "up"})
	}
	for i := 0; i < 3; i++ {
		host, node := fmt.Sprintf("nchaos-h%d", i+1), fmt.Sprintf("nchaos-v%d", i+1)
		steps = append(steps,
			[]string{"link", "add", host, "netns", nsMain, "type", "veth", "peer", "name", node, "netns", nsNode(i)},
			[]string{"-n", nsMain, "addr", "add", fmt.Sprintf("10.213.%d.1/24", i+1), "dev", host},
			[]string{"-n", nsMain, "link", "set", host, "up"},
			[]string{"-n", nsNode(i), "addr", "add", fmt.Sprintf("10.213.%d.2/24", i+1), "dev", node},
			[]string{"-n", nsNode(i), "link", "set", node, "up"},
			[]string{"-n", nsNode(i), "route", "add", "default", "via", fmt.Sprintf("10.213.%d.1", i+1)},
		)
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			down()
			if strings.Contains(err.Error(), "Operation not permitted") {
				err = fmt.Errorf("%w: %v", errNoPrivilege, err)
			}
			return nil, err
		}
	}
	if out, err := exec.Command("ip", "netns", "exec", nsMain, "sysctl", "-qw", "net.ipv4.ip_forward=1").CombinedOutput(); err != nil {
		down()
		return nil, fmt.Errorf("ip_forward in %s: %v: %s", nsMain, err, out)
	}
	return down, nil
}

// runInNetns sets the namespaces up and runs this program again inside
// nchaos-main with the same flags, returning its exit code.
func runInNetns() (int, error) {
	down, err := netnsUp()
	if err != nil {
		return 1, err
	}
	defer down()
	self, err := os.Executable()
	if err != nil {
		return 1, err
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", nsMain, self, "-in-netns"}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

// namespaced is where the nodes live inside nchaos-main.
var namespaced = nodeNet{
	hosts: []string{"10.213.1.2", "10.213.2.2", "10.213.3.2"},
	wrap:  func(i int) []string { return []string{"ip", "netns", "exec", nsNode(i)} },
}

// cutOff is the partition: node i's end of its veth pair down, and up
// again with its route.
func cutOff() isolation {
	link := func(i int, state string) error {
		return ipCmd("-n", nsNode(i), "link", "set", fmt.Sprintf("nchaos-v%d", i+1), state)
	}
	return isolation{
		stop: func(i int) error { return link(i, "down") },
		resume: func(i int) error {
			if err := link(i, "up"); err != nil {
				return err
			}
			return ipCmd("-n", nsNode(i), "route", "replace", "default", "via", fmt.Sprintf("10.213.%d.1", i+1))
		},
	}
}

// partitionSchedule cuts off n1, the node edge1 is on (its only seed),
// and later the ROOMS leader, each for partitionOf; after healing each it
// waits until the cluster is current again.
func (cl *cluster) partitionSchedule(hung *time.Duration) []fault {
	return []fault{
		{at: 0.2, what: fmt.Sprintf("partition: cut n1 (edge1's node) off for %v", partitionOf), do: func(ctx context.Context) (string, error) {
			return cl.edgeNodeOut(ctx, cutOff(), partitionOf, hung)
		}},
		{at: 0.6, what: fmt.Sprintf("partition: cut the ROOMS leader off for %v", partitionOf), do: func(ctx context.Context) (string, error) {
			return cl.leaderOut(ctx, cutOff(), partitionOf)
		}},
	}
}
