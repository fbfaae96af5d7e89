//go:build !linux

package edge

// writeNow leaves every write to a writer goroutine where the descriptor's
// non-blocking writev is not available.
func (c *conn) writeNow(bufs [][]byte) ([][]byte, error) { return bufs, nil }
