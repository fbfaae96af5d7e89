package history

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/natter-chat/natter"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Store is the SQLite archive of chat messages. It is safe for concurrent use.
//
// It holds two pools on the same file. Writes go through a single connection:
// SQLite admits one writer at a time anyway, and serialising in Go turns lock
// contention into queueing instead of SQLITE_BUSY errors. Reads go through a
// separate query-only pool, which WAL mode lets run alongside the writer, so
// history requests never wait behind the archiver.
type Store struct {
	w *sql.DB
	r *sql.DB
	// noSearch leaves the full-text index alone: only for the benchmark
	// that measures what the index costs.
	noSearch bool
	// scanWindow, if > 0, replaces defaultScanWindow (for tests).
	scanWindow int
}

// busyTimeoutMS bounds how long a connection waits for a lock held by another
// connection (e.g. a WAL checkpoint) before failing with SQLITE_BUSY.
const busyTimeoutMS = 5000

// Open opens the archive at path, creating the file and schema if missing.
// path must be a file path: ":memory:" would give each pool its own empty
// database.
func Open(path string) (*Store, error) {
	// The driver treats everything after the first '?' as DSN parameters, so
	// such a path would silently open a different file.
	if path == "" || strings.Contains(path, "?") {
		return nil, fmt.Errorf("history: invalid database path %q", path)
	}
	if err := restrict(path); err != nil {
		return nil, err
	}

	// journal_mode=WAL is persistent in the file, so setting it on the writer
	// is enough; synchronous=NORMAL is safe under WAL (a power loss may drop
	// the last commits, never corrupt), and the archive can be refilled from
	// the stream. _txlock=immediate takes the write lock at BEGIN, so a
	// transaction never fails halfway on lock upgrade. secure_delete
	// overwrites what a deletion removes, in the file's free pages too: a
	// deleted message's text must be gone, not merely unlinked.
	w, err := sql.Open("sqlite", fmt.Sprintf(
		"%s?_pragma=busy_timeout(%d)&_pragma=secure_delete(1)&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate",
		path, busyTimeoutMS))
	if err != nil {
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	if err := migrate(context.Background(), w); err != nil {
		w.Close()
		return nil, fmt.Errorf("history: %s: %w", path, err)
	}
	if err := ensureSearch(context.Background(), w); err != nil {
		w.Close()
		return nil, fmt.Errorf("history: %s: %w", path, err)
	}

	// The read pool is opened only after the writer has switched the file to
	// WAL; query_only makes a stray write through it an error, not a second
	// writer.
	r, err := sql.Open("sqlite", fmt.Sprintf(
		"%s?_pragma=busy_timeout(%d)&_query_only=1", path, busyTimeoutMS))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.Ping(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	return &Store{w: w, r: r}, nil
}

// restrict makes the database and its WAL files readable by their owner
// only, whatever the umask and the data dir's mode: they hold every
// private message. SQLite creates -wal and -shm with the database file's
// mode, so creating that file 0600 first is enough for new archives;
// older ones are tightened.
func restrict(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("history: open %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("history: %w", err)
		}
	}
	return nil
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Append archives msgs in one transaction and applies them to the
// projection (project.go). It is idempotent on (room, seq): the archiver
// may redeliver after a crash, and a record archived twice is stored and
// applied once (the first copy wins).
//
// Call SetEpoch before appending messages of a new stream epoch; otherwise a
// new message could be ignored as a duplicate of an old-epoch row.
func (s *Store) Append(ctx context.Context, msgs []natter.Message) error {
	_, err := s.write(ctx, "append", msgs, func(*sql.Tx) error { return nil })
	return err
}

// write validates msgs and stores and applies them (ignoring rows already
// stored) in one transaction with whatever more does.
func (s *Store) write(ctx context.Context, what string, msgs []natter.Message, more func(*sql.Tx) error) (done applied, err error) {
	if err := validate(msgs); err != nil {
		return done, err
	}

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return done, fmt.Errorf("history: %s: %w", what, err)
	}
	defer func() {
		done.close()
		if err != nil {
			tx.Rollback()
		}
	}()
	if done.ahead, err = ahead(ctx, tx, msgs); err != nil {
		return done, fmt.Errorf("history: %s: %w", what, err)
	}
	for i := range msgs {
		if err = s.project(ctx, tx, &msgs[i], &done); err != nil {
			return done, fmt.Errorf("history: %s %w", what, err)
		}
	}
	if err = more(tx); err != nil {
		return done, fmt.Errorf("history: %s: %w", what, err)
	}
	if err = tx.Commit(); err != nil {
		return done, fmt.Errorf("history: %s: %w", what, err)
	}
	if done.erased {
		s.dropWAL(ctx)
	}
	return done, nil
}

// ahead says whether msgs are in seq order and all after every stored
// record: then no stored record refers to any of them (a change follows
// its target in the stream), which spares the projection a look-up per
// message. The archive's feed is so, except after an audit's repair.
func ahead(ctx context.Context, tx *sql.Tx, msgs []natter.Message) (bool, error) {
	if len(msgs) == 0 || !slices.IsSortedFunc(msgs, func(a, b natter.Message) int { return cmp.Compare(a.Seq, b.Seq) }) {
		return false, nil
	}
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM messages`).Scan(&last); err != nil {
		return false, err
	}
	return msgs[0].Seq > uint64(last), nil
}

// dropWAL checkpoints the WAL and truncates it after a deletion: the WAL
// holds earlier images of the pages the deleted text was on, until
// overwritten. Best effort: a reader holding an old snapshot makes the
// checkpoint stop short, and then the WAL's frames are overwritten by later
// writes (docs/SECURITY.md says so).
func (s *Store) dropWAL(ctx context.Context) {
	_, _ = s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
}

func validate(msgs []natter.Message) error {
	for _, m := range msgs {
		if err := m.Room.Validate(); err != nil {
			return err
		}
		// Seq 0 means "before the first message" in queries and cannot be
		// a message; SQLite integers are signed 64-bit.
		if m.Seq == 0 || m.Seq > math.MaxInt64 || m.Prev > math.MaxInt64 ||
			m.Target > math.MaxInt64 || m.ReplyTo > math.MaxInt64 || m.Thread > math.MaxInt64 {
			return natter.Errorf(natter.EINVALID, "message %s/%d: sequence out of range", m.Room, m.Seq)
		}
	}
	return nil
}

// epochKey is the meta row holding the stream epoch the archive belongs to.
const epochKey = "epoch"

// Epoch returns the stream epoch the archive belongs to, "" if none was set.
func (s *Store) Epoch(ctx context.Context) (string, error) {
	var epoch string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, epochKey).Scan(&epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("history: epoch: %w", err)
	}
	return epoch, nil
}

// SetEpoch records the stream epoch the archive belongs to. If it differs
// from the stored one, the stream was recreated: its sequences restart, so
// rows from any other epoch would collide with (and shadow) new messages and
// are deleted in the same transaction. Rows already carrying the new epoch
// are kept. Setting the stored epoch again is a no-op.
func (s *Store) SetEpoch(ctx context.Context, epoch string) (err error) {
	if epoch == "" {
		return natter.Errorf(natter.EINVALID, "epoch must not be empty")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("history: set epoch: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var cur string
	err = tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, epochKey).Scan(&cur)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("history: set epoch: %w", err)
	case cur == epoch:
		return tx.Rollback()
	}
	if _, err = tx.ExecContext(ctx, `DELETE FROM messages WHERE epoch <> ?`, epoch); err != nil {
		return fmt.Errorf("history: set epoch: %w", err)
	}
	if err = dropProjection(ctx, tx); err != nil {
		return fmt.Errorf("history: set epoch: %w", err)
	}
	// The position was in the old stream.
	if _, err = tx.ExecContext(ctx, `DELETE FROM meta WHERE key = ?`, positionKey); err != nil {
		return fmt.Errorf("history: set epoch: %w", err)
	}
	if _, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, epochKey, epoch); err != nil {
		return fmt.Errorf("history: set epoch: %w", err)
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("history: set epoch: %w", err)
	}
	return nil
}

// unixNano stores the zero time as 0, because time.Time{}.UnixNano is
// undefined (year 1 overflows int64 nanoseconds).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
