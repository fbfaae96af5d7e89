package broker

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// DirChange is one change of a watched natter-dir key, in the bucket's
// order. Rev is the change's revision (the KV stream sequence): every
// write of the bucket has a distinct, increasing one, so revisions of
// different keys compare.
type DirChange struct {
	Kind    string        // the key's first token: "member", "ban", "mute", "role", "slow"
	Room    natter.RoomID //
	User    natter.UserID // "" for a room-wide key (slow)
	Value   []byte
	Deleted bool
	Rev     uint64
}

// DirWatch follows some kinds of natter-dir keys for as long as its context
// lasts. It is an ordered consumer of the bucket's stream: nats.go
// re-creates it from the last revision seen after a gap, a missed heartbeat
// or a reconnect, so no change is skipped. If the consumer itself ends (the
// connection closed and came back, or the embedded JetStream restarted
// after a store fault), the watch starts again and calls reset, because
// changes may have been missed meanwhile.
type DirWatch struct {
	mu      sync.Mutex
	applied uint64        // highest revision handed to fn
	moved   chan struct{} // closed and replaced when applied grows
	ready   chan struct{} // closed when the initial values were handed over
	once    sync.Once
}

// watchRetry is the pause before a watch that ended is started again.
const watchRetry = 250 * time.Millisecond

// WatchDir calls fn, from one goroutine, with every change of the given
// kinds of keys until ctx ends. With initial, fn first gets the current
// value of every such key (Ready tells when it has); without, only changes
// made after WatchDir returned. reset is called (may be nil) after the watch
// had to be started again.
func (b *Broker) WatchDir(ctx context.Context, kinds []string, initial bool, fn func(DirChange), reset func()) (*DirWatch, error) {
	w := &DirWatch{moved: make(chan struct{}), ready: make(chan struct{})}
	kw, err := b.watchKeys(ctx, kinds, initial)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			stop := context.AfterFunc(ctx, func() { _ = kw.Stop() })
			stopOnRestart := b.afterStoreRestart(func() { _ = kw.Stop() })
			w.consume(kw, fn)
			stop()
			stopOnRestart()
			_ = kw.Stop()
			for {
				if ctx.Err() != nil {
					return
				}
				time.Sleep(watchRetry)
				if kw, err = b.watchKeys(ctx, kinds, initial); err == nil {
					break
				}
				b.log.Warn("directory watch not restarted", "kinds", kinds, "err", err)
			}
			b.log.Info("directory watch restarted", "kinds", kinds)
			if reset != nil {
				// Changes made while no watch ran are never delivered
				// (updates only), so a Wait for one of them would wait in
				// vain (a ban right after the store recovered timed out).
				// reset enforces the state as of now: everything up to the
				// bucket's revision read before it counts as applied.
				floor, ferr := b.dirRevision(ctx)
				reset()
				if ferr == nil {
					w.advance(floor)
				}
			}
		}
	}()
	if !initial {
		w.once.Do(func() { close(w.ready) })
	}
	return w, nil
}

func (b *Broker) watchKeys(ctx context.Context, kinds []string, initial bool) (jetstream.KeyWatcher, error) {
	keys := make([]string, len(kinds))
	for i, k := range kinds {
		keys[i] = k + ".>"
	}
	var opts []jetstream.WatchOpt
	if !initial {
		opts = append(opts, jetstream.UpdatesOnly())
	}
	kw, err := b.dir.WatchFiltered(ctx, keys, opts...)
	if err != nil {
		return nil, unavailable("watch directory", err)
	}
	return kw, nil
}

// consume hands kw's entries to fn until kw ends.
func (w *DirWatch) consume(kw jetstream.KeyWatcher, fn func(DirChange)) {
	for e := range kw.Updates() {
		if e == nil {
			w.once.Do(func() { close(w.ready) })
			continue
		}
		if ch, ok := parseDirKey(e.Key()); ok {
			ch.Value = e.Value()
			ch.Deleted = e.Operation() != jetstream.KeyValuePut
			ch.Rev = e.Revision()
			fn(ch)
		}
		w.advance(e.Revision())
	}
}

// advance records that every change up to rev has been handled.
func (w *DirWatch) advance(rev uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if rev > w.applied {
		w.applied = rev
		close(w.moved)
		w.moved = make(chan struct{})
	}
}

// dirRevision is the directory bucket's latest revision.
func (b *Broker) dirRevision(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := b.dir.Status(ctx)
	if err != nil {
		return 0, err
	}
	kvs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return 0, errors.New("directory status without stream info")
	}
	return kvs.StreamInfo().State.LastSeq, nil
}

// parseDirKey splits kind.room[.user].
func parseDirKey(key string) (DirChange, bool) {
	parts := strings.Split(key, ".")
	switch len(parts) {
	case 2:
		return DirChange{Kind: parts[0], Room: natter.RoomID(parts[1])}, true
	case 3:
		return DirChange{Kind: parts[0], Room: natter.RoomID(parts[1]), User: natter.UserID(parts[2])}, true
	}
	return DirChange{}, false
}

// Ready is closed once the initial values have been handed to fn.
func (w *DirWatch) Ready() <-chan struct{} { return w.ready }

// Wait returns once fn has been handed the change of revision rev (or a
// later one), or ctx's error.
func (w *DirWatch) Wait(ctx context.Context, rev uint64) error {
	for {
		w.mu.Lock()
		done, moved := w.applied >= rev, w.moved
		w.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return natter.Errorf(natter.EUNAVAILABLE, "directory change not yet applied: %v", ctx.Err())
		}
	}
}
