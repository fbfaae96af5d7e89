package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/natter-chat/natter"
)

// Message is a message as the history API serves it: the record
// (natter.Message, with its current text) and its projected state.
type Message struct {
	natter.Message
	// Edited is the time of the last edit; nil if never edited.
	Edited *time.Time `json:"edited,omitempty"`
	// Deleted messages keep their place (seq, from, ts) and lose their
	// text, mentions and reactions.
	Deleted   bool          `json:"deleted,omitempty"`
	DeletedBy natter.UserID `json:"deleted_by,omitempty"`
	Reactions []Reaction    `json:"reactions,omitempty"`
	// Reply is the quoted message of a reply (ReplyTo), so that a client
	// can show the quote without a second request; nil if the archive
	// does not hold it.
	Reply *Quote `json:"reply,omitempty"`
	// ThreadSummary is set on a thread root that has replies.
	ThreadSummary *ThreadSummary `json:"thread_summary,omitempty"`
}

// Reaction is one emoji on a message: who reacted with it, in order.
type Reaction struct {
	Emoji string          `json:"emoji"`
	Count int             `json:"count"`
	Users []natter.UserID `json:"users"`
}

// Quote is the part of a quoted message a reply shows.
type Quote struct {
	Seq     uint64        `json:"seq"`
	From    natter.UserID `json:"from"`
	Text    string        `json:"text"` // at most maxQuoteRunes
	Deleted bool          `json:"deleted,omitempty"`
}

// ThreadSummary summarises a thread root's replies that are not deleted.
type ThreadSummary struct {
	Replies      int             `json:"replies"`
	Last         time.Time       `json:"last"`
	Participants []natter.UserID `json:"participants"` // first maxParticipants repliers, by first reply
}

// Version is an earlier text of an edited message.
type Version struct {
	Text string    `json:"text"`
	Time time.Time `json:"ts"`
}

const (
	maxQuoteRunes   = 200
	maxParticipants = 10
)

// messageColumns are what scanMessage reads, from messages.
const messageColumns = `room, seq, prev, epoch, from_user, COALESCE(cur_text, text), cid, ts,
	reply_to, thread, also_room, mentions, edited, deleted_by, replies, last_reply`

// scanMessage reads one row of messageColumns.
func scanMessage(rows interface{ Scan(...any) error }) (Message, error) {
	var (
		m                              Message
		seq, prev, ts, replyTo, thread int64
		edited, replies, lastReply     int64
		room, from, mentions           string
		deletedBy                      sql.NullString
		alsoRoom                       bool
	)
	if err := rows.Scan(&room, &seq, &prev, &m.Epoch, &from, &m.Text, &m.ClientID, &ts,
		&replyTo, &thread, &alsoRoom, &mentions, &edited, &deletedBy, &replies, &lastReply); err != nil {
		return m, err
	}
	m.Room, m.From = natter.RoomID(room), natter.UserID(from)
	m.Seq, m.Prev, m.Time = uint64(seq), uint64(prev), fromUnixNano(ts)
	m.ReplyTo, m.Thread, m.AlsoRoom = uint64(replyTo), uint64(thread), alsoRoom
	if mentions != "" {
		if err := json.Unmarshal([]byte(mentions), &m.Mentions); err != nil {
			return m, fmt.Errorf("mentions of %d: %w", seq, err)
		}
	}
	if edited != 0 {
		t := fromUnixNano(edited)
		m.Edited = &t
	}
	if deletedBy.Valid {
		m.Deleted, m.DeletedBy = true, natter.UserID(deletedBy.String)
	}
	if replies > 0 {
		m.ThreadSummary = &ThreadSummary{Replies: int(replies), Last: fromUnixNano(lastReply)}
	}
	return m, nil
}

// queryMessages runs query (selecting messageColumns) and scans its rows.
func (s *Store) queryMessages(ctx context.Context, query string, args ...any) ([]Message, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// decorate adds to msgs, all of room, what lives outside their rows:
// reactions, reply quotes and thread participants. Each is one query per
// message at most, on a primary key or index, for a page's worth.
func (s *Store) decorate(ctx context.Context, room natter.RoomID, msgs []Message) error {
	for i := range msgs {
		m := &msgs[i]
		var err error
		// A deleted root keeps its thread.
		if m.ThreadSummary != nil {
			if m.ThreadSummary.Participants, err = s.participants(ctx, room, m.Seq); err != nil {
				return err
			}
		}
		if m.Deleted {
			continue
		}
		if m.Reactions, err = s.reactions(ctx, room, m.Seq); err != nil {
			return err
		}
		if m.ReplyTo > 0 {
			if m.Reply, err = s.quote(ctx, room, m.ReplyTo); err != nil {
				return err
			}
		}
	}
	return nil
}

// reactions aggregates a message's reactions: emoji in the order of their
// first present reaction, users in the order they reacted.
func (s *Store) reactions(ctx context.Context, room natter.RoomID, seq uint64) ([]Reaction, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT emoji, user FROM reactions
		WHERE room = ? AND target = ? AND present = 1
		ORDER BY MIN(seq) OVER (PARTITION BY emoji), seq`, string(room), int64(seq))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Reaction
	for rows.Next() {
		var emoji, user string
		if err := rows.Scan(&emoji, &user); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Emoji != emoji {
			out = append(out, Reaction{Emoji: emoji})
		}
		r := &out[len(out)-1]
		r.Count++
		r.Users = append(r.Users, natter.UserID(user))
	}
	return out, rows.Err()
}

// quote returns the quoted message seq of room, nil if not archived.
func (s *Store) quote(ctx context.Context, room natter.RoomID, seq uint64) (*Quote, error) {
	var (
		q         Quote
		from      string
		deletedBy sql.NullString
	)
	err := s.r.QueryRowContext(ctx, `SELECT from_user, COALESCE(cur_text, text), deleted_by FROM messages
		WHERE room = ? AND seq = ? AND kind = ''`, string(room), int64(seq)).Scan(&from, &q.Text, &deletedBy)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	q.Seq, q.From, q.Deleted = seq, natter.UserID(from), deletedBy.Valid
	if r := []rune(q.Text); len(r) > maxQuoteRunes {
		q.Text = string(r[:maxQuoteRunes])
	}
	return &q, nil
}

// participants returns the first maxParticipants users who replied in the
// thread of root (replies not deleted), by first reply.
func (s *Store) participants(ctx context.Context, room natter.RoomID, root uint64) ([]natter.UserID, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT from_user FROM messages
		WHERE room = ? AND thread > 0 AND thread = ? AND kind = '' AND deleted_by IS NULL
		GROUP BY from_user ORDER BY MIN(seq) LIMIT ?`, string(room), int64(root), maxParticipants)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []natter.UserID{}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, natter.UserID(u))
	}
	return out, rows.Err()
}

// Get returns message seq of room with its earlier texts (oldest first;
// none once deleted). It is ENOTFOUND unless seq is a message of room.
func (s *Store) Get(ctx context.Context, room natter.RoomID, seq uint64) (Message, []Version, error) {
	if err := room.Validate(); err != nil {
		return Message{}, nil, err
	}
	if seq == 0 || seq > 1<<63-1 {
		return Message{}, nil, natter.Errorf(natter.ENOTFOUND, "no message %d in %s", seq, room)
	}
	msgs, err := s.queryMessages(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE room = ? AND seq = ? AND kind = ''`, string(room), int64(seq))
	if err != nil {
		return Message{}, nil, fmt.Errorf("history: message %s/%d: %w", room, seq, err)
	}
	if len(msgs) == 0 {
		return Message{}, nil, natter.Errorf(natter.ENOTFOUND, "no message %d in %s", seq, room)
	}
	if err := s.decorate(ctx, room, msgs); err != nil {
		return Message{}, nil, fmt.Errorf("history: message %s/%d: %w", room, seq, err)
	}
	m := msgs[0]
	history := []Version{}
	if m.Deleted || m.Edited == nil {
		return m, history, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT text, ts FROM (
			SELECT text, ts, seq FROM messages WHERE room = ?1 AND seq = ?2
			UNION ALL
			SELECT text, ts, seq FROM messages WHERE room = ?1 AND target > 0 AND target = ?2 AND kind = 'edit')
		ORDER BY seq`, string(room), int64(seq))
	if err != nil {
		return Message{}, nil, fmt.Errorf("history: edits of %s/%d: %w", room, seq, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v Version
		var ts int64
		if err := rows.Scan(&v.Text, &ts); err != nil {
			return Message{}, nil, fmt.Errorf("history: edits of %s/%d: %w", room, seq, err)
		}
		v.Time = fromUnixNano(ts)
		history = append(history, v)
	}
	if err := rows.Err(); err != nil {
		return Message{}, nil, fmt.Errorf("history: edits of %s/%d: %w", room, seq, err)
	}
	// The last version is the current text.
	return m, history[:max(0, len(history)-1)], nil
}

// inList is "?, ?, …" for n parameters.
func inList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
