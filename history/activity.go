package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/natter-chat/natter"
)

// Activity is what a room list shows of a room beyond its counts.
type Activity struct {
	Mentions    int        // unread mentions of the user (see Store.Activity)
	Topic, Name string     // as last set by topic records
	LastTime    *time.Time // of the room's last message; nil if none
}

// Activity returns room's topic and name, the time of its last message,
// and how many messages after the read cursor read mention user or @room,
// sent by others and not deleted. Mentions of a user made while they were
// not a member count once they are one, if after their read cursor.
func (s *Store) Activity(ctx context.Context, room natter.RoomID, read uint64, user natter.UserID) (Activity, error) {
	var a Activity
	err := s.r.QueryRowContext(ctx, `SELECT topic, name FROM room_state WHERE room = ?`, string(room)).Scan(&a.Topic, &a.Name)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("history: room state %s: %w", room, err)
	}
	var ts int64
	err = s.r.QueryRowContext(ctx, `SELECT ts FROM messages WHERE room = ? AND kind = ''
		ORDER BY seq DESC LIMIT 1`, string(room)).Scan(&ts)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return a, fmt.Errorf("history: last message of %s: %w", room, err)
	default:
		t := fromUnixNano(ts)
		a.LastTime = &t
	}
	if read >= math.MaxInt64 {
		return a, nil
	}
	// CROSS JOIN keeps mentions the outer loop: a room's few mentions,
	// not its messages after the cursor.
	err = s.r.QueryRowContext(ctx, `SELECT COUNT(DISTINCT n.seq) FROM mentions n
		CROSS JOIN messages m ON m.room = n.room AND m.seq = n.seq
		WHERE n.user IN (?1, ?2) AND n.room = ?3 AND n.seq > ?4 AND m.from_user <> ?1`,
		string(user), string(natter.RoomMention), string(room), int64(read)).Scan(&a.Mentions)
	if err != nil {
		return a, fmt.Errorf("history: mentions in %s: %w", room, err)
	}
	return a, nil
}
