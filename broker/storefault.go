package broker

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// A store fault is a state in which JetStream cannot store messages: the
// embedded server's disk ran out of space and JetStream disabled itself,
// or JetStream (embedded or in a cluster) answers publishes with
// "insufficient resources". While it lasts, /readyz says why and sends
// fail at once with `unavailable` instead of waiting for an ack that
// cannot come; the broker and the embedded server get out of it by
// themselves.

// Reasons a store fault gives to clients and /readyz.
const (
	reasonOutOfSpace  = "message store out of space"
	reasonDisabled    = "message store disabled"
	reasonWriteFailed = "message store write failed"
)

const (
	// storeCheckInterval is how often the embedded server's JetStream state
	// and free space are looked at.
	storeCheckInterval = 250 * time.Millisecond
	// storeHeadroom is the free space the embedded store's file system must
	// have before JetStream is enabled again: less would fill up at once.
	storeHeadroom = 4 << 20
	// fullProbeEvery lets one send through to JetStream while it answers
	// "insufficient resources", to find out when it stops; the others fail
	// at once.
	fullProbeEvery = time.Second
)

// monitorStore watches the embedded JetStream. A write that fails (no
// space left, or an I/O error) leaves the stream or consumer that tried it
// refusing every later write until it is loaded again, and nats-server may
// disable JetStream altogether; either way no send can be stored. The
// monitor reports the fault and, once the file system has room again,
// restarts JetStream in-process with the limits it started with. JetStream
// reloads its streams and consumers from the files it had written (a
// partly written last record is dropped: it was never acked), so
// everything acked before the fault is still there.
func (e *Embedded) monitorStore() {
	defer close(e.monitorDone)
	t := time.NewTicker(storeCheckInterval)
	defer t.Stop()
	var retry time.Time
	for {
		select {
		case <-e.stopMonitor:
			return
		case <-t.C:
		}
		enabled := e.srv.JetStreamEnabled()
		if e.writeErr.Load() == nil && enabled {
			continue
		}
		if !enabled {
			e.disabled.Store(true)
		}
		reason := e.Fault()
		if e.reported.Swap(true) == false {
			e.log.Error("message store failed: sends are refused until it recovers", "reason", reason, "dir", e.jsCfg.StoreDir)
		}
		if time.Now().Before(retry) || freeBytes(e.jsCfg.StoreDir) < storeHeadroom {
			continue
		}
		if err := e.restartJetStream(enabled); err != nil {
			e.log.Error("message store: restarting JetStream failed; retrying in 5s", "err", err)
			retry = time.Now().Add(5 * time.Second)
			continue
		}
		e.writeErr.Store(nil)
		e.disabled.Store(false)
		e.reported.Store(false)
		signal(e.restarted)
		e.log.Info("message store recovered: JetStream restarted", "free_bytes", freeBytes(e.jsCfg.StoreDir))
	}
}

// restartJetStream stops JetStream if it runs and starts it again.
func (e *Embedded) restartJetStream(running bool) error {
	if running {
		if err := e.srv.ShutdownJetStream(); err != nil {
			return err
		}
	}
	cfg := e.jsCfg
	cfg.StoreDir = e.storeDir // EnableJetStream appends "jetstream" again
	return e.srv.EnableJetStream(&cfg)
}

// onLogLine notices, from the server's own log, that a write failed: the
// server reports it nowhere else.
func (e *Embedded) onLogLine(_ slog.Level, line string) {
	switch l := strings.ToLower(line); {
	case strings.Contains(l, "no space left"), strings.Contains(l, "out of") && strings.Contains(l, "resources"):
		r := reasonOutOfSpace
		e.writeErr.Store(&r)
	case strings.Contains(l, "critical write error"):
		r := reasonWriteFailed
		e.writeErr.CompareAndSwap(nil, &r)
	default:
		return
	}
	signal(e.faulted)
}

// signal wakes the receiver of ch (buffered, 1) without waiting for it.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// followStore reacts to the embedded store's faults and recoveries.
//
// When a write fails, it fails the publishes waiting for an ack: none of
// them will get one (the write that failed gets none, nor do those queued
// behind it), and their senders should hear why now, not when the ack
// timeout ends. Those that were stored after all are found by the resend
// of their cid.
//
// When JetStream was restarted, the consumers behind the bucket watches
// are gone: the directory watches are started again at once (nats.go
// would notice only after missed heartbeats, 10–15 s later).
func (b *Broker) followStore(e *Embedded) {
	for {
		select {
		case <-b.stopSync:
			return
		case <-e.restarted:
			b.restarts.fire()
			continue
		case <-e.faulted:
		}
		err := b.storeFault(false)
		if err == nil {
			continue
		}
		b.failPending(time.Now(), err)
	}
}

// Fault is why the embedded store cannot store now, or "".
func (e *Embedded) Fault() string {
	if r := e.writeErr.Load(); r != nil {
		return *r
	}
	if e.disabled.Load() {
		return reasonDisabled
	}
	return ""
}

// freeBytes is the space available to us on dir's file system.
func freeBytes(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// fullState remembers that JetStream refused a publish for lack of
// resources, until one is stored again.
type fullState struct {
	since     atomic.Int64 // unix nanos of the first refusal; 0: not full
	mu        sync.Mutex
	lastProbe time.Time
}

func (f *fullState) refused()   { f.since.CompareAndSwap(0, time.Now().UnixNano()) }
func (f *fullState) stored()    { f.since.Store(0) }
func (f *fullState) full() bool { return f.since.Load() != 0 }

// probe says whether a send may go to JetStream although it is full.
func (f *fullState) probe() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.lastProbe) < fullProbeEvery {
		return false
	}
	f.lastProbe = time.Now()
	return true
}

// isFullErr says whether a publish error means JetStream has no room.
func isFullErr(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10023, 10047: // insufficient resources, insufficient storage resources
			return true
		}
	}
	return err != nil && strings.Contains(err.Error(), "insufficient")
}

// storeFault is why a send cannot be stored now, or nil. probing is true
// for a send that may go to JetStream anyway, to find out whether it
// stores again.
func (b *Broker) storeFault(probing bool) error {
	if e := b.cfg.Embedded; e != nil {
		if r := e.Fault(); r != "" {
			return natter.Errorf(natter.EUNAVAILABLE, "%s", r)
		}
	}
	if b.full.full() && !(probing && b.full.probe()) {
		return natter.Errorf(natter.EUNAVAILABLE, "%s (insufficient resources)", reasonOutOfSpace)
	}
	return nil
}

// StoreFault is why JetStream, though reachable, cannot store now (out of
// space, a failed write), or nil.
func (b *Broker) StoreFault() error { return b.storeFault(false) }

// restartSignal tells whoever waits that the embedded JetStream restarted.
type restartSignal struct {
	mu sync.Mutex
	ch chan struct{} // closed and replaced at each restart
}

func (r *restartSignal) wait() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ch == nil {
		r.ch = make(chan struct{})
	}
	return r.ch
}

func (r *restartSignal) fire() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ch != nil {
		close(r.ch)
	}
	r.ch = make(chan struct{})
}

// afterStoreRestart calls f (once, from another goroutine) if the embedded
// JetStream restarts before the returned stop is called.
func (b *Broker) afterStoreRestart(f func()) (stop func()) {
	restarted, done := b.restarts.wait(), make(chan struct{})
	go func() {
		select {
		case <-restarted:
			f()
		case <-done:
		}
	}()
	return func() { close(done) }
}
