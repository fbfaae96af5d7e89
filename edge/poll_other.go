//go:build !linux

package edge

import "errors"

// poller is Linux-only; elsewhere every connection has a reader goroutine.
type poller struct{}

func newPoller() (*poller, error)      { return nil, errors.New("no epoll") }
func (p *poller) add(c *conn) bool     { return false }
func (p *poller) arm(c *conn) error    { return nil }
func (p *poller) remove(c *conn)       {}
func (p *poller) pending(c *conn) bool { return false }
func (p *poller) close()               {}
