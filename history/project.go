package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/natter-chat/natter"
)

// The projection: every record is stored in messages (the room's chain, as
// the stream had it) and, in the same transaction, applied to the current
// state of the message it belongs to. Applying happens only when the record
// is first stored, so a redelivered record changes nothing; and each step
// recomputes its result from the stored records rather than patching the
// previous state, so records stored out of stream order (an audit's repair
// restoring an old edit after a newer one) end in the state stream order
// gives. Records may name targets the archive never stored (retention
// dropped them before the archive started, or a deletion erased them first):
// they are stored and apply to nothing until the target arrives, if it ever
// does.

// insertRecord stores a record unless (room, seq) is already stored.
const insertRecord = `INSERT OR IGNORE INTO messages
	(room, seq, prev, epoch, from_user, text, cid, ts,
	 kind, target, reply_to, thread, also_room, mentions, emoji, remove, topic, name)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// applied is what storing records did, beyond storing them, and the
// statements the transaction prepared (a batch runs the same few many
// times).
type applied struct {
	stmts map[string]*sql.Stmt

	inserted int // records not stored before
	// ahead: the records are in order and after every stored one
	// (Store.write), so nothing stored refers to a new message.
	ahead bool
	// unseen counts tombstones whose target the archive never stored: the
	// deletion erased it from the stream before the archive read it.
	unseen int
	erased bool // some text was erased: the WAL still holds it
}

// project stores m and applies it to the projection, if it was not stored
// yet.
func (s *Store) project(ctx context.Context, tx *sql.Tx, m *natter.Message, out *applied) error {
	mentions := ""
	if len(m.Mentions) > 0 {
		b, err := json.Marshal(m.Mentions)
		if err != nil {
			return err
		}
		mentions = string(b)
	}
	text := m.Text
	if m.Kind == natter.KindDelete {
		text = "" // a tombstone carries no text, whatever a record says
	}
	p := projector{s: s, ctx: ctx, tx: tx, room: string(m.Room), out: out}
	res, err := p.exec(insertRecord, string(m.Room), int64(m.Seq), int64(m.Prev),
		m.Epoch, string(m.From), text, m.ClientID, unixNano(m.Time),
		m.Kind, int64(m.Target), int64(m.ReplyTo), int64(m.Thread), m.AlsoRoom, mentions,
		m.Emoji, m.Remove, m.Topic, m.Name)
	if err != nil {
		return fmt.Errorf("%s/%d: %w", m.Room, m.Seq, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // stored before: applied then
	}
	out.inserted++
	switch m.Kind {
	case natter.KindMessage:
		err = p.message(m)
	case natter.KindEdit:
		err = p.edit(m)
	case natter.KindDelete:
		var found bool
		found, err = p.erase(int64(m.Target), string(m.From))
		if err == nil && !found {
			out.unseen++
		}
	case natter.KindReact:
		err = p.react(m)
	case natter.KindTopic:
		err = p.topic(m)
	}
	// Other kinds (from a newer version) are kept in the chain and apply
	// to nothing here.
	if err != nil {
		return fmt.Errorf("%s/%d (%q): %w", m.Room, m.Seq, m.Kind, err)
	}
	return nil
}

// projector applies records of one room inside one transaction.
type projector struct {
	s    *Store
	ctx  context.Context
	tx   *sql.Tx
	room string
	out  *applied
}

// stmt returns query prepared in the transaction, once per transaction.
func (p projector) stmt(query string) (*sql.Stmt, error) {
	if st, ok := p.out.stmts[query]; ok {
		return st, nil
	}
	st, err := p.tx.PrepareContext(p.ctx, query)
	if err != nil {
		return nil, err
	}
	if p.out.stmts == nil {
		p.out.stmts = map[string]*sql.Stmt{}
	}
	p.out.stmts[query] = st
	return st, nil
}

func (p projector) exec(query string, args ...any) (sql.Result, error) {
	st, err := p.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(p.ctx, args...)
}

// queryRow scans the first row of query into dest (sql.ErrNoRows if none).
func (p projector) queryRow(query string, args []any, dest ...any) error {
	st, err := p.stmt(query)
	if err != nil {
		return err
	}
	return st.QueryRowContext(p.ctx, args...).Scan(dest...)
}

// close releases the statements a transaction prepared.
func (a *applied) close() {
	for _, st := range a.stmts {
		st.Close()
	}
	a.stmts = nil
}

// deletedBy returns who deleted message seq ("" if nobody): its tombstone
// decides, whether or not the message itself is stored.
func (p projector) deletedBy(seq int64) (string, error) {
	var by string
	err := p.queryRow(`SELECT from_user FROM messages
		WHERE room = ? AND target > 0 AND target = ? AND kind = 'delete' ORDER BY seq LIMIT 1`, []any{p.room, seq}, &by)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return by, err
}

// message applies a new message: its mentions, its index entry, any edits
// or tombstone stored before it (out of order), and its thread's summary.
// In stream order nothing refers to a new message yet, which one query
// tells.
func (p projector) message(m *natter.Message) error {
	seq := int64(m.Seq)
	var changes, replies int
	if p.out.ahead {
		// Nothing to look up.
	} else if err := p.queryRow(`SELECT
			(SELECT COUNT(*) FROM messages WHERE room = ?1 AND target > 0 AND target = ?2),
			(SELECT COUNT(*) FROM messages WHERE room = ?1 AND thread > 0 AND thread = ?2)`,
		[]any{p.room, seq}, &changes, &replies); err != nil {
		return err
	}
	by := ""
	if changes > 0 {
		var err error
		if by, err = p.deletedBy(seq); err != nil {
			return err
		}
	}
	switch {
	case by != "":
		if _, err := p.erase(seq, by); err != nil {
			return err
		}
	case changes > 0:
		if err := p.refreshText(seq, true); err != nil {
			return err
		}
	case !p.s.noSearch && m.Text != "":
		if _, err := p.exec(`INSERT INTO search (rowid, text) VALUES (?, ?)`, seq, m.Text); err != nil {
			return err
		}
	}
	if by == "" {
		for _, u := range m.Mentions {
			if _, err := p.exec(`INSERT OR IGNORE INTO mentions (user, room, seq) VALUES (?, ?, ?)`,
				string(u), p.room, seq); err != nil {
				return err
			}
		}
	}
	if m.Thread > 0 {
		if err := p.refreshThread(int64(m.Thread)); err != nil {
			return err
		}
	}
	if replies > 0 {
		// A root stored after its replies (out of order) gets its summary.
		return p.refreshThread(seq)
	}
	return nil
}

// edit applies an edit record to its target; an edit of a deleted message
// loses its text at once.
func (p projector) edit(m *natter.Message) error {
	by, err := p.deletedBy(int64(m.Target))
	if err != nil {
		return err
	}
	if by != "" {
		_, err := p.exec(`UPDATE messages SET text = '', erased = 1 WHERE room = ? AND seq = ?`, p.room, int64(m.Seq))
		return err
	}
	return p.refreshText(int64(m.Target), false)
}

// refreshText sets message seq's current text and edit time from its
// latest edit (by seq), and its index entry from that text. fresh says the
// message was just stored, with no index entry yet.
func (p projector) refreshText(seq int64, fresh bool) error {
	if _, err := p.exec(`UPDATE messages SET (cur_text, edited) =
			(SELECT e.text, e.ts FROM messages e
			 WHERE e.room = ?1 AND e.target > 0 AND e.target = ?2 AND e.kind = 'edit' ORDER BY e.seq DESC LIMIT 1)
		WHERE room = ?1 AND seq = ?2 AND kind = '' AND deleted_by IS NULL
		  AND EXISTS (SELECT 1 FROM messages e WHERE e.room = ?1 AND e.target > 0 AND e.target = ?2 AND e.kind = 'edit')`,
		p.room, seq); err != nil {
		return err
	}
	if p.s.noSearch {
		return nil
	}
	if !fresh {
		if _, err := p.exec(`DELETE FROM search WHERE rowid = ?`, seq); err != nil {
			return err
		}
	}
	_, err := p.exec(`INSERT INTO search (rowid, text)
		SELECT seq, COALESCE(cur_text, text) FROM messages
		WHERE room = ? AND seq = ? AND kind = '' AND deleted_by IS NULL AND COALESCE(cur_text, text) <> ''`,
		p.room, seq)
	return err
}

// erase applies a deletion of message seq by by: the message and the texts
// of its edits are removed (the stream erases them too), and so are its
// reactions, mentions and index entry. It reports whether the message was
// stored.
func (p projector) erase(seq int64, by string) (bool, error) {
	// Its edits go whether or not the message is stored.
	if _, err := p.exec(`UPDATE messages SET text = '', erased = 1
		WHERE room = ? AND target > 0 AND target = ? AND kind = 'edit'`, p.room, seq); err != nil {
		return false, err
	}
	var mentions string
	var thread int64
	err := p.queryRow(`SELECT mentions, thread FROM messages
		WHERE room = ? AND seq = ? AND kind = ''`, []any{p.room, seq}, &mentions, &thread)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if mentions != "" {
		var users []string
		if err := json.Unmarshal([]byte(mentions), &users); err != nil {
			return false, err
		}
		for _, u := range users {
			if _, err := p.exec(`DELETE FROM mentions WHERE user = ? AND room = ? AND seq = ?`, u, p.room, seq); err != nil {
				return false, err
			}
		}
	}
	for _, stmt := range []string{
		`UPDATE messages SET text = '', cur_text = NULL, edited = 0, mentions = '', erased = 1,
			deleted_by = COALESCE(deleted_by, ?3) WHERE room = ?1 AND seq = ?2`,
		`DELETE FROM reactions WHERE room = ?1 AND target = ?2`,
	} {
		if _, err := p.exec(stmt, p.room, seq, by); err != nil {
			return false, err
		}
	}
	if !p.s.noSearch {
		if _, err := p.exec(`DELETE FROM search WHERE rowid = ?`, seq); err != nil {
			return false, err
		}
	}
	p.out.erased = true
	if thread > 0 {
		if err := p.refreshThread(thread); err != nil {
			return false, err
		}
	}
	return true, p.refreshThread(seq)
}

// refreshThread recomputes root's thread summary from its replies that are
// not deleted.
func (p projector) refreshThread(root int64) error {
	_, err := p.exec(`UPDATE messages SET
			replies = (SELECT COUNT(*) FROM messages r
				WHERE r.room = ?1 AND r.thread > 0 AND r.thread = ?2 AND r.kind = '' AND r.deleted_by IS NULL),
			last_reply = COALESCE((SELECT MAX(r.ts) FROM messages r
				WHERE r.room = ?1 AND r.thread > 0 AND r.thread = ?2 AND r.kind = '' AND r.deleted_by IS NULL), 0)
		WHERE room = ?1 AND seq = ?2 AND kind = ''
		  AND (replies > 0 OR EXISTS (SELECT 1 FROM messages r WHERE r.room = ?1 AND r.thread > 0 AND r.thread = ?2))`,
		p.room, root)
	return err
}

// react records the latest reaction record of (target, emoji, user);
// reactions to a deleted message are dropped.
func (p projector) react(m *natter.Message) error {
	by, err := p.deletedBy(int64(m.Target))
	if err != nil || by != "" {
		return err
	}
	_, err = p.exec(`INSERT INTO reactions (room, target, emoji, user, seq, present)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (room, target, emoji, user) DO UPDATE
		SET seq = excluded.seq, present = excluded.present WHERE excluded.seq > reactions.seq`,
		p.room, int64(m.Target), m.Emoji, string(m.From), int64(m.Seq), !m.Remove)
	return err
}

// topic records a room's topic and name, each from its latest record.
func (p projector) topic(m *natter.Message) error {
	if _, err := p.exec(`INSERT OR IGNORE INTO room_state (room) VALUES (?)`, p.room); err != nil {
		return err
	}
	if m.Topic != nil {
		if _, err := p.exec(`UPDATE room_state SET topic = ?, topic_seq = ? WHERE room = ? AND topic_seq < ?`,
			*m.Topic, int64(m.Seq), p.room, int64(m.Seq)); err != nil {
			return err
		}
	}
	if m.Name != nil {
		if _, err := p.exec(`UPDATE room_state SET name = ?, name_seq = ? WHERE room = ? AND name_seq < ?`,
			*m.Name, int64(m.Seq), p.room, int64(m.Seq)); err != nil {
			return err
		}
	}
	return nil
}

// dropProjection removes the projection of records no longer stored (a new
// stream epoch deleted the old one's rows) and rebuilds the search index
// from what is left.
func dropProjection(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range []string{
		`DELETE FROM mentions WHERE NOT EXISTS
			(SELECT 1 FROM messages m WHERE m.room = mentions.room AND m.seq = mentions.seq)`,
		`DELETE FROM reactions WHERE NOT EXISTS
			(SELECT 1 FROM messages m WHERE m.room = reactions.room AND m.seq = reactions.seq)`,
		`DELETE FROM room_state WHERE
			NOT EXISTS (SELECT 1 FROM messages m WHERE m.room = room_state.room AND m.seq = room_state.topic_seq) AND
			NOT EXISTS (SELECT 1 FROM messages m WHERE m.room = room_state.room AND m.seq = room_state.name_seq)`,
		`INSERT INTO search (search) VALUES ('delete-all')`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return fillSearch(ctx, tx)
}
