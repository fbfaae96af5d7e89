package main

import (
	"fmt"
	"math/rand/v2"
	"net"
)

// portSpan is how many consecutive ports a run uses above its base: NATS
// client, route and monitor ports (+0, +10, +20), edges (+30, +31) and the
// history replica (+40).
const portSpan = 41

// freeBase finds a base port whose whole span is free on loopback, so that
// two runs on one machine (CI and a developer's, or two CI jobs) do not
// start their servers on each other's ports. A port could still be taken
// between this check and the server's listen; a random base makes that
// unlikely, and startCluster notices a server that failed to start.
func freeBase() (int, error) {
	for try := 0; try < 50; try++ {
		base := 20000 + rand.IntN(30000)
		if spanFree(base) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no free span of %d loopback ports found", portSpan)
}

func spanFree(base int) bool {
	var open []net.Listener
	defer func() {
		for _, l := range open {
			l.Close()
		}
	}()
	for p := base; p < base+portSpan; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		open = append(open, l)
	}
	return true
}
