package broker

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
)

// The control socket lets another process of the same user (natter
// backup) reach the embedded server, which otherwise listens in-process
// only. It is a Unix socket in the data dir, mode 0600 inside a 0700
// directory: whoever can open it could read the store's files anyway.
// Each connection is joined to an in-process client connection of the
// server, so it is a NATS client like any other.

// maxSocketPath is the longest Unix socket path Linux and macOS accept.
const maxSocketPath = 103

type controlSocket struct {
	l    net.Listener
	path string
	wg   sync.WaitGroup
}

func (e *Embedded) serveControl(path string) error {
	if len(path) > maxSocketPath {
		return fmt.Errorf("control socket path %s is longer than %d bytes", path, maxSocketPath)
	}
	// A socket left by a process that was killed blocks the listen.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return err
	}
	c := &controlSocket{l: l, path: path}
	e.control = c
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return // closed by Shutdown
			}
			srvConn, err := e.srv.InProcessConn()
			if err != nil {
				conn.Close()
				e.log.Warn("control socket: no in-process connection", "err", err)
				continue
			}
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				join(conn, srvConn)
			}()
		}
	}()
	return nil
}

// join copies both ways until either side ends, then closes both.
func join(a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		io.Copy(dst, src)
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	a.Close()
	b.Close()
	<-done
}

// close stops accepting (and removes the socket file); the connections
// joined end with the server's shutdown, and wait waits for them.
func (c *controlSocket) close() { c.l.Close() }
func (c *controlSocket) wait()  { c.wg.Wait() }
