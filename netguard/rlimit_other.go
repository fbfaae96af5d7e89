//go:build !unix

package netguard

// DefaultMaxConns is 0 (no cap) where there is no RLIMIT_NOFILE.
func DefaultMaxConns() int { return 0 }
