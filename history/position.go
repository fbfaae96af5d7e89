package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/natter-chat/natter"
)

// positionKey is the meta row holding the archive's position: the stream
// sequence through which it holds every message the stream had.
const positionKey = "position"

// Position returns the stream sequence through which the archive holds
// every message that the stream held when the archive got there. An
// archive written before positions were recorded stands at its highest
// sequence; the audit finds any hole below it.
func (s *Store) Position(ctx context.Context) (uint64, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, positionKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return s.LastSeq(ctx)
	}
	if err != nil {
		return 0, fmt.Errorf("history: position: %w", err)
	}
	pos, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("history: position %q: %w", v, err)
	}
	return pos, nil
}

// AppendThrough archives msgs and records position (see Position) in the
// same transaction: the archive never claims a stretch of the stream it
// has not stored. It returns how many of msgs were tombstones of messages
// the archive never stored (see Archiver).
func (s *Store) AppendThrough(ctx context.Context, position uint64, msgs []natter.Message) (unseen int, err error) {
	if position > math.MaxInt64 {
		return 0, natter.Errorf(natter.EINVALID, "position %d out of range", position)
	}
	done, err := s.write(ctx, "append", msgs, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, positionKey, strconv.FormatUint(position, 10))
		return err
	})
	return done.unseen, err
}

// Repair stores msgs, a stretch of one room's chain as the stream has it,
// inserting (and applying) those the archive lacks. It then sets the Prev
// of every archived record of the stretch, and of the room's first record
// after it, to the archived record before it, and returns how many
// records it inserted and how many Prevs that corrected.
//
// The Prevs come from the archive, not from msgs: a deletion erases
// records from the stream that the archive keeps (without their text), so
// the stream's chain skips records that the archive's chain holds.
func (s *Store) Repair(ctx context.Context, msgs []natter.Message) (inserted, corrected int, err error) {
	if len(msgs) == 0 {
		return 0, 0, nil
	}
	done, err := s.write(ctx, "repair", msgs, func(tx *sql.Tx) error {
		first, last := msgs[0], msgs[len(msgs)-1]
		res, err := tx.ExecContext(ctx, `UPDATE messages AS m SET prev = p.before
			FROM (SELECT seq, COALESCE(LAG(seq) OVER (ORDER BY seq),
					(SELECT COALESCE(MAX(seq), 0) FROM messages WHERE room = ?1 AND seq < ?2)) AS before
				FROM messages
				WHERE room = ?1 AND seq >= ?2 AND seq <= COALESCE(
					(SELECT MIN(seq) FROM messages WHERE room = ?1 AND seq > ?3), ?3)) AS p
			WHERE m.room = ?1 AND m.seq = p.seq AND m.prev <> p.before`,
			string(first.Room), int64(first.Seq), int64(last.Seq))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		corrected = int(n)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return done.inserted, corrected, nil
}

// BrokenChains returns the rooms whose archived messages with seq >= from
// do not form a chain: some message's Prev is not the room's archived
// message before it. A hole leaves one (the message after it points
// across it), as does a Prev computed wrongly.
func (s *Store) BrokenChains(ctx context.Context, from uint64) (map[natter.RoomID]bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT room FROM (
			SELECT room, prev, LAG(seq) OVER (PARTITION BY room ORDER BY seq) AS before
			FROM messages WHERE seq >= ?)
		WHERE before IS NOT NULL AND prev <> before`, int64(min(from, math.MaxInt64)))
	if err != nil {
		return nil, fmt.Errorf("history: chains: %w", err)
	}
	defer rows.Close()
	broken := map[natter.RoomID]bool{}
	for rows.Next() {
		var room string
		if err := rows.Scan(&room); err != nil {
			return nil, fmt.Errorf("history: chains: %w", err)
		}
		broken[natter.RoomID(room)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: chains: %w", err)
	}
	return broken, nil
}

// RoomCounts returns how many records each room has in the archive with
// from <= seq <= to, not counting those a deletion erased (the stream has
// erased them too).
func (s *Store) RoomCounts(ctx context.Context, from, to uint64) (map[natter.RoomID]uint64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT room, COUNT(*) FROM messages WHERE seq BETWEEN ? AND ? AND erased = 0 GROUP BY room`,
		int64(min(from, math.MaxInt64)), int64(min(to, math.MaxInt64)))
	if err != nil {
		return nil, fmt.Errorf("history: room counts: %w", err)
	}
	defer rows.Close()
	counts := map[natter.RoomID]uint64{}
	for rows.Next() {
		var room string
		var n int64
		if err := rows.Scan(&room, &n); err != nil {
			return nil, fmt.Errorf("history: room counts: %w", err)
		}
		counts[natter.RoomID(room)] = uint64(n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: room counts: %w", err)
	}
	return counts, nil
}

// LastBefore returns room's highest archived seq below seq, 0 if none.
func (s *Store) LastBefore(ctx context.Context, room natter.RoomID, seq uint64) (uint64, error) {
	var last int64
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM messages WHERE room = ? AND seq < ?`,
		string(room), int64(min(seq, math.MaxInt64))).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("history: last of %s before %d: %w", room, seq, err)
	}
	return uint64(last), nil
}
