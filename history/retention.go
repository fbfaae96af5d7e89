package history

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/metrics"
)

// Prune deletes the archived messages of room older than before (of every
// room if room is ""), and returns how many it deleted.
func (s *Store) Prune(ctx context.Context, room natter.RoomID, before time.Time) (int64, error) {
	cut := before.UnixNano()
	if before.IsZero() || cut <= 0 {
		return 0, nil
	}
	q, args := `DELETE FROM messages WHERE ts > 0 AND ts < ?`, []any{cut}
	if room != "" {
		q, args = `DELETE FROM messages WHERE room = ? AND ts > 0 AND ts < ?`, []any{string(room), cut}
	}
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("history: prune: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// RetentionSource is what the retention sweep needs of the broker.
type RetentionSource interface {
	// Retentions is every room that has a retention of its own.
	Retentions(ctx context.Context) (map[natter.RoomID]time.Duration, error)
	// SweepRoom drops room's messages stored before cutoff from the stream.
	SweepRoom(ctx context.Context, room natter.RoomID, cutoff time.Time) (uint64, error)
}

// DefaultRetentionInterval is how often the retention sweep runs.
const DefaultRetentionInterval = time.Minute

// Retention keeps the archive (and, for rooms with a retention of their
// own, the stream) within its limits: MaxAge for the whole archive
// (--history-max-age), and each room's retention, which it first purges
// from the stream, then from the archive. In that order, the audit never
// finds a pruned message still in the stream, and never restores it.
type Retention struct {
	Store    *Store
	Source   RetentionSource
	MaxAge   time.Duration // 0: the archive keeps everything
	Interval time.Duration // 0: DefaultRetentionInterval
	Log      *slog.Logger
	Metrics  *metrics.Metrics
}

// Run sweeps at once and then every Interval until ctx ends.
func (r *Retention) Run(ctx context.Context) {
	every := r.Interval
	if every <= 0 {
		every = DefaultRetentionInterval
	}
	if r.Log == nil {
		r.Log = slog.Default()
	}
	if r.Metrics == nil {
		r.Metrics = metrics.New()
	}
	for {
		if err := r.Sweep(ctx, time.Now()); err != nil && ctx.Err() == nil {
			r.Log.Warn("retention sweep failed; trying again", "err", err, "in", every)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// Sweep applies the limits as of now.
func (r *Retention) Sweep(ctx context.Context, now time.Time) error {
	rooms, err := r.Source.Retentions(ctx)
	if err != nil {
		return err
	}
	for room, keep := range rooms {
		cutoff := now.Add(-keep)
		purged, err := r.Source.SweepRoom(ctx, room, cutoff)
		if err != nil {
			return err
		}
		pruned, err := r.Store.Prune(ctx, room, cutoff)
		if err != nil {
			return err
		}
		r.count(purged, pruned)
		if purged > 0 || pruned > 0 {
			r.Log.Info("room retention applied", "room", room, "retention", keep, "stream_purged", purged, "archive_pruned", pruned)
		}
	}
	if r.MaxAge > 0 && r.MaxAge < math.MaxInt64 {
		pruned, err := r.Store.Prune(ctx, "", now.Add(-r.MaxAge))
		if err != nil {
			return err
		}
		r.count(0, pruned)
		if pruned > 0 {
			r.Log.Info("history retention applied", "max_age", r.MaxAge, "archive_pruned", pruned)
		}
	}
	return nil
}

func (r *Retention) count(purged uint64, pruned int64) {
	r.Metrics.RetentionPurged.Add(float64(purged))
	r.Metrics.HistoryPruned.Add(float64(pruned))
}
