//go:build unix

package netguard

import "syscall"

// DefaultMaxConns is the default of Config.MaxConns: the descriptor limit
// (RLIMIT_NOFILE, which Go raises to the hard limit at start) less a
// reserve of max(64, a tenth) for the store, NATS, and accepting the
// connections over the cap in order to refuse them.
func DefaultMaxConns() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return maxConnsFor(rl.Cur)
}
