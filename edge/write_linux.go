package edge

import (
	"errors"

	"golang.org/x/sys/unix"
)

// maxIOV is the most buffers one writev takes (Linux's IOV_MAX).
const maxIOV = 1024

// writeNow writes bufs with non-blocking writev calls on the socket's
// descriptor (through syscall.RawConn, never a dup) and returns what the
// socket would not take without blocking.
func (c *conn) writeNow(bufs [][]byte) ([][]byte, error) {
	if c.raw == nil {
		return bufs, nil
	}
	for len(bufs) > 0 {
		chunk := bufs[:min(len(bufs), maxIOV)]
		var n int
		var werr error
		err := c.raw.Write(func(fd uintptr) bool {
			for {
				n, werr = unix.Writev(int(fd), chunk)
				if !errors.Is(werr, unix.EINTR) {
					return true // never wait for writability here
				}
			}
		})
		switch {
		case err != nil:
			return nil, err
		case errors.Is(werr, unix.EAGAIN):
			return bufs, nil
		case werr != nil:
			return nil, werr
		}
		full := n < size(chunk)
		bufs = consume(bufs, n)
		if full {
			return bufs, nil
		}
	}
	return nil, nil
}

func size(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// consume drops the first n bytes of bufs.
func consume(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs
}
