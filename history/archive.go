package history

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/metrics"
)

// Source is where the archive copies messages from: the broker's stream.
type Source interface {
	Epoch() string
	// Archive feeds fn the stream after position from in contiguous
	// batches (after < seq <= last; what is not in msgs is not in the
	// stream), through the durable consumer (broker.Archive).
	Archive(ctx context.Context, durable string, from uint64, fn func(after, last uint64, msgs []natter.Message) error) error
	// RoomCounts is the stream's first and last sequence and each room's
	// number of messages in it.
	RoomCounts(ctx context.Context) (first, last uint64, counts map[natter.RoomID]uint64, err error)
	// StreamLast is the stream's last sequence.
	StreamLast(ctx context.Context) (uint64, error)
	// ReadRoom reads room's chain after after up to upTo, Prev set.
	ReadRoom(ctx context.Context, room natter.RoomID, after, upTo uint64, fn func(natter.Message) error) (uint64, error)
}

// DefaultAuditInterval is how often an archive is compared with the stream.
const DefaultAuditInterval = 5 * time.Minute

// Archiver copies the stream into a Store and audits the copy.
//
// The copy is gap-proof by construction: the archive has a position (the
// stream sequence through which it holds everything the stream held) and
// stores a batch only if it continues that position, in the same
// transaction that moves it; the source fills any hole in its deliveries
// from the stream. Each message's Prev is the room's previous archived
// message, which the position makes the room's previous message in the
// stream.
//
// The audit, at start and every AuditInterval, is the safety net for
// archives written otherwise (by an older version, restored from a
// backup): it compares each room's message count in the archive with the
// stream's and reads any room that falls short from the stream, restoring
// what is missing (natter_archive_repairs_total, one log line per room).
// Messages the stream no longer holds cannot be restored; the audit does
// not count them as missing.
//
// Deletions: a tombstone's target and the target's edits are erased from
// the stream once the tombstone is stored. The archive keeps their rows in
// the chain, with their text removed (erased), so the chain stays whole
// and the audit compares only rows that are not erased with the stream.
// If the archive reaches the target only after it was erased, the broker
// finds the sequence missing and skips it (natter_archive_skipped_total,
// "retention limits or deletion"); the tombstone that follows names the
// target, and the archive counts it in natter_archive_erased_unseen_total:
// a missing record whose tombstone the archive holds is not a loss.
type Archiver struct {
	Store   *Store
	Source  Source
	Durable string
	// AuditInterval: 0 means DefaultAuditInterval; negative, only the
	// audit at start.
	AuditInterval time.Duration
	Log           *slog.Logger
	Metrics       *metrics.Metrics

	pos atomic.Uint64
	// mu serialises the feed's writes and the audit's repairs, and guards
	// last.
	mu   sync.Mutex
	last map[natter.RoomID]uint64 // rooms' last archived seq, as far as known

	statusMu sync.Mutex // guards what follows
	audited  time.Time
	repaired uint64 // by all audits
}

// ArchiveStatus is what /readyz says about an archive.
type ArchiveStatus struct {
	Position  uint64
	LastAudit time.Time // zero before the first audit completed
	Repaired  uint64    // messages restored by audits since start
}

// Status returns the archive's position and audit record.
func (a *Archiver) Status() ArchiveStatus {
	a.statusMu.Lock()
	defer a.statusMu.Unlock()
	return ArchiveStatus{Position: a.pos.Load(), LastAudit: a.audited, Repaired: a.repaired}
}

// Run archives until ctx ends. A batch in progress is finished first: its
// writes must not be cut halfway by shutdown.
func (a *Archiver) Run(ctx context.Context) error {
	if a.Log == nil {
		a.Log = slog.New(slog.DiscardHandler)
	}
	if a.Metrics == nil {
		a.Metrics = metrics.New()
	}
	if err := a.Store.SetEpoch(ctx, a.Source.Epoch()); err != nil {
		return fmt.Errorf("history: epoch: %w", err)
	}
	pos, err := a.Store.Position(ctx)
	if err != nil {
		return err
	}
	a.pos.Store(pos)
	a.last = map[natter.RoomID]uint64{}

	auditCtx, stopAudit := context.WithCancel(ctx)
	audits := make(chan struct{})
	go func() { defer close(audits); a.audits(auditCtx) }()
	defer func() { stopAudit(); <-audits }()

	work := context.WithoutCancel(ctx)
	return a.Source.Archive(ctx, a.Durable, pos, func(after, last uint64, msgs []natter.Message) error {
		return a.store(work, after, last, msgs)
	})
}

// store archives one batch if it continues the archive's position.
func (a *Archiver) store(ctx context.Context, after, last uint64, msgs []natter.Message) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if pos := a.pos.Load(); after != pos {
		return fmt.Errorf("history: batch %d..%d does not continue the archive at %d", after+1, last, pos)
	}
	// Work on a copy of the room positions: if the write fails, the batch
	// comes again and must see the positions from before it.
	next := map[natter.RoomID]uint64{}
	for i := range msgs {
		m := &msgs[i]
		prev, ok := next[m.Room]
		if !ok {
			prev, ok = a.last[m.Room]
		}
		if !ok {
			var err error
			if prev, err = a.Store.Last(ctx, m.Room); err != nil {
				return err
			}
		}
		if m.Seq > prev {
			m.Prev = prev
			next[m.Room] = m.Seq
		}
	}
	unseen, err := a.Store.AppendThrough(ctx, last, msgs)
	if err != nil {
		return err
	}
	// The broker skipped (and counted) these; their tombstones say they
	// were deleted, not lost.
	a.Metrics.ArchiveErased.Add(float64(unseen))
	for r, seq := range next {
		a.last[r] = seq
	}
	a.pos.Store(last)
	return nil
}

// audits runs the audit at start and every interval until ctx ends; a
// failed audit is tried again sooner.
func (a *Archiver) audits(ctx context.Context) {
	interval := a.AuditInterval
	if interval == 0 {
		interval = DefaultAuditInterval
	}
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		err := a.Audit(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			a.Log.Warn("history archive audit failed; trying again", "err", err)
			wait = 10 * time.Second
			if interval > 0 {
				wait = min(wait, interval)
			}
		case interval < 0:
			return
		default:
			wait = interval
		}
	}
}

// Audit compares each room's archived messages with the stream's (their
// number, and whether each one's Prev is the archived message before it)
// and restores what the archive lacks. It first waits for the archive to
// reach the stream's last sequence as of the comparison.
func (a *Archiver) Audit(ctx context.Context) error {
	first, _, counts, err := a.Source.RoomCounts(ctx)
	if err != nil {
		return err
	}
	// Messages stored while the counts were taken may be in them: compare
	// with the archive through a last sequence taken after them.
	last, err := a.Source.StreamLast(ctx)
	if err != nil {
		return err
	}
	for a.pos.Load() < last {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	have, err := a.Store.RoomCounts(ctx, first, last)
	if err != nil {
		return err
	}
	broken, err := a.Store.BrokenChains(ctx, first)
	if err != nil {
		return err
	}
	var repaired uint64
	for room, n := range counts {
		if have[room] >= n && !broken[room] {
			continue
		}
		k, err := a.repair(ctx, room, first, last, n-min(n, have[room]))
		repaired += uint64(k)
		if err != nil {
			return err
		}
	}
	a.statusMu.Lock()
	a.audited, a.repaired = time.Now(), a.repaired+repaired
	a.statusMu.Unlock()
	a.Metrics.ArchiveLastAudit.SetToCurrentTime()
	a.Log.Info("history archive audited", "rooms", len(counts), "through_seq", last, "repaired", repaired)
	return nil
}

// repair reads room's messages first <= seq <= last from the stream and
// stores those the archive lacks. It holds the feed back meanwhile, so that
// the feed's Prev for the room's next message sees the repaired chain.
func (a *Archiver) repair(ctx context.Context, room natter.RoomID, first, last uint64, missing uint64) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	after, err := a.Store.LastBefore(ctx, room, first)
	if err != nil {
		return 0, err
	}
	var (
		chunk               []natter.Message
		inserted, corrected int
		lo, hi              uint64 // range read
	)
	flush := func() error {
		n, c, err := a.Store.Repair(ctx, chunk)
		inserted, corrected = inserted+n, corrected+c
		chunk = chunk[:0]
		return err
	}
	_, err = a.Source.ReadRoom(ctx, room, after, last, func(m natter.Message) error {
		if lo == 0 {
			lo = m.Seq
		}
		hi = m.Seq
		if chunk = append(chunk, m); len(chunk) == 256 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	delete(a.last, room)
	if inserted > 0 || corrected > 0 {
		a.Metrics.ArchiveRepairs.Add(float64(inserted))
		a.Log.Warn("history archive repaired: restored messages it lacked from the stream",
			"room", room, "restored", inserted, "prev_corrected", corrected, "from_seq", lo, "to_seq", hi)
	} else if err == nil && missing > 0 {
		a.Log.Warn("history archive audit: room has fewer messages than the stream, but reading the stream found none missing; checking again at the next audit",
			"room", room, "missing", missing, "through_seq", last)
	}
	return inserted, err
}
