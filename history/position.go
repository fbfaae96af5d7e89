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
// has not stored.
func (s *Store) AppendThrough(ctx context.Context, position uint64, msgs []natter.Message) error {
	if position > math.MaxInt64 {
		return natter.Errorf(natter.EINVALID, "position %d out of range", position)
	}
	return s.write(ctx, "append", msgs, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, positionKey, strconv.FormatUint(position, 10))
		return err
	})
}

// Repair stores msgs, a stretch of one room's chain as the stream has it
// (each Prev the one before), inserting those the archive lacks and
// correcting the Prev of those it has, and of the room's first row after
// the stretch. It returns how many messages it inserted and how many
// Prevs it corrected.
func (s *Store) Repair(ctx context.Context, msgs []natter.Message) (inserted, corrected int, err error) {
	if len(msgs) == 0 {
		return 0, 0, nil
	}
	if err := validate(msgs); err != nil {
		return 0, 0, err
	}
	// Inserted one by one, to count what was missing.
	err = s.write(ctx, "repair", nil, func(tx *sql.Tx) error {
		for _, m := range msgs {
			res, err := tx.ExecContext(ctx, insertMessage, string(m.Room), int64(m.Seq), int64(m.Prev),
				m.Epoch, string(m.From), m.Text, m.ClientID, unixNano(m.Time))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				inserted++
				continue
			}
			res, err = tx.ExecContext(ctx, `UPDATE messages SET prev = ? WHERE room = ? AND seq = ? AND prev <> ?`,
				int64(m.Prev), string(m.Room), int64(m.Seq), int64(m.Prev))
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			corrected += int(n)
		}
		last := msgs[len(msgs)-1]
		_, err := tx.ExecContext(ctx, `UPDATE messages SET prev = ?1
			WHERE room = ?2 AND seq = (SELECT MIN(seq) FROM messages WHERE room = ?2 AND seq > ?1)`,
			int64(last.Seq), string(last.Room))
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return inserted, corrected, nil
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

// RoomCounts returns how many messages each room has in the archive with
// from <= seq <= to.
func (s *Store) RoomCounts(ctx context.Context, from, to uint64) (map[natter.RoomID]uint64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT room, COUNT(*) FROM messages WHERE seq BETWEEN ? AND ? GROUP BY room`,
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
