package history

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/natter-chat/natter"
)

// Page sizes. A page is bounded so that one request cannot make the server
// read and encode a room's whole history.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Query selects a page of a room's history.
//
// If Before > 0 the page is the Limit messages with seq < Before (the newest
// of them; Before = math.MaxUint64 gives the room's latest page). Otherwise it
// is the Limit messages with seq > After (the oldest of them; After = 0 starts
// at the beginning). Either way messages come in ascending seq order. Setting
// both is an EINVALID error. Limit 0 means DefaultPageSize; other values are
// clamped to [1, MaxPageSize].
type Query struct {
	Before, After uint64
	Limit         int
}

func (q Query) normalize() (Query, error) {
	if q.Before > 0 && q.After > 0 {
		return q, natter.Errorf(natter.EINVALID, "before and after are mutually exclusive")
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultPageSize
	case q.Limit < 1:
		q.Limit = 1
	case q.Limit > MaxPageSize:
		q.Limit = MaxPageSize
	}
	return q, nil
}

// Page returns one page of room's archived history; see Query.
func (s *Store) Page(ctx context.Context, room natter.RoomID, q Query) ([]Message, error) {
	q, err := q.normalize()
	if err != nil {
		return nil, err
	}
	msgs, _, err := s.page(ctx, room, 0, q)
	return msgs, err
}

// ThreadPage returns one page of the replies in room's thread root; see
// Query.
func (s *Store) ThreadPage(ctx context.Context, room natter.RoomID, root uint64, q Query) ([]Message, bool, error) {
	q, err := q.normalize()
	if err != nil {
		return nil, false, err
	}
	if root == 0 || root > math.MaxInt64 {
		return []Message{}, false, nil
	}
	return s.page(ctx, room, root, q)
}

// page runs a normalized q over room's timeline (root 0: messages that are
// not thread replies, or are also sent to the room) or over the replies of
// thread root, and also reports whether another page exists in the same
// direction. It fetches one row more than asked for to know that without a
// second query. The result is never nil, so it encodes as []. Change
// records are never in pages: they are applied to the messages.
func (s *Store) page(ctx context.Context, room natter.RoomID, root uint64, q Query) (msgs []Message, more bool, err error) {
	if err := room.Validate(); err != nil {
		return nil, false, err
	}
	backward := q.Before > 0
	var bound int64
	cmp, order := "seq > ?", "ASC"
	if backward {
		// seq <= Before-1 rather than seq < Before, because Before may
		// exceed what a signed 64-bit SQLite integer can hold.
		bound = int64(min(q.Before-1, math.MaxInt64))
		cmp, order = "seq <= ?", "DESC"
	} else {
		if q.After >= math.MaxInt64 {
			return []Message{}, false, nil
		}
		bound = int64(q.After)
	}
	table, scope, args := "messages", `kind = '' AND (thread = 0 OR also_room = 1)`, []any{string(room), bound}
	if root > 0 {
		// Without the hint the planner walks the room's primary key.
		table = "messages INDEXED BY messages_thread"
		scope, args = `thread > 0 AND thread = ? AND kind = ''`, []any{string(room), bound, int64(root)}
	}
	args = append(args, q.Limit+1)
	msgs, err = s.queryMessages(ctx, `SELECT `+messageColumns+` FROM `+table+`
		WHERE room = ? AND `+cmp+` AND `+scope+` ORDER BY seq `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("history: page %s: %w", room, err)
	}
	if len(msgs) > q.Limit {
		// The extra row is the farthest one in the walking direction.
		msgs, more = msgs[:q.Limit], true
	}
	if msgs == nil {
		msgs = []Message{}
	}
	if backward {
		slices.Reverse(msgs)
	}
	if err := s.decorate(ctx, room, msgs); err != nil {
		return nil, false, fmt.Errorf("history: page %s: %w", room, err)
	}
	return msgs, more, nil
}

// Last returns the highest archived seq in room, 0 if it has none.
func (s *Store) Last(ctx context.Context, room natter.RoomID) (uint64, error) {
	var last int64
	err := s.r.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(seq), 0) FROM messages WHERE room = ?`, string(room)).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("history: last %s: %w", room, err)
	}
	return uint64(last), nil
}

// LastSeq returns the highest archived stream sequence of any room, 0 if
// the archive is empty: where the archive stands in the stream. It walks the
// distinct rooms through the primary key (a loose index scan) rather than
// reading every row, so it costs one seek per room.
func (s *Store) LastSeq(ctx context.Context) (uint64, error) {
	var last int64
	err := s.r.QueryRowContext(ctx, `
		WITH RECURSIVE rooms(room) AS (
			SELECT MIN(room) FROM messages
			UNION ALL
			SELECT (SELECT MIN(room) FROM messages WHERE room > rooms.room)
			FROM rooms WHERE room IS NOT NULL
		)
		SELECT COALESCE(MAX((SELECT MAX(seq) FROM messages WHERE messages.room = rooms.room)), 0)
		FROM rooms WHERE room IS NOT NULL`).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("history: last seq: %w", err)
	}
	return uint64(last), nil
}

// CountAfter returns how many archived messages in room have a seq greater
// than seq: the unread count for a read cursor at seq. It must count rows,
// not subtract sequences, because all rooms share one stream and a room's
// sequences have gaps.
func (s *Store) CountAfter(ctx context.Context, room natter.RoomID, seq uint64) (int, error) {
	if seq >= math.MaxInt64 {
		return 0, nil
	}
	var n int
	err := s.r.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM messages WHERE room = ? AND seq > ?`, string(room), int64(seq)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("history: count %s: %w", room, err)
	}
	return n, nil
}

// Unread counts the messages in room after the read cursor seq that user
// did not send: one's own messages are never unread, nor are change
// records, deleted messages, or thread replies not also sent to the room.
func (s *Store) Unread(ctx context.Context, room natter.RoomID, seq uint64, user natter.UserID) (int, error) {
	if seq >= math.MaxInt64 {
		return 0, nil
	}
	var n int
	err := s.r.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM messages WHERE room = ? AND seq > ? AND from_user <> ?
			AND kind = '' AND (thread = 0 OR also_room = 1) AND deleted_by IS NULL`,
		string(room), int64(seq), string(user)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("history: unread %s: %w", room, err)
	}
	return n, nil
}
