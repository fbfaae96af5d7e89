package history

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the archive's schema versions, in order: migrations[i]
// takes a database from version i to i+1 (PRAGMA user_version). Each runs
// in one transaction with the version bump, so a crash leaves a database at
// one version or the next, never between. A released migration is never
// edited: a change to the schema is a new migration at the end.
//
// Version 1 is the schema every archive had before versions were recorded
// (user_version 0). Its statements keep IF NOT EXISTS, so applying it to
// such a file changes nothing but the version.
var migrations = []migration{
	{"messages and meta", []string{
		`CREATE TABLE IF NOT EXISTS messages (
			room      TEXT    NOT NULL,
			seq       INTEGER NOT NULL,
			prev      INTEGER NOT NULL,
			epoch     TEXT    NOT NULL,
			from_user TEXT    NOT NULL,
			text      TEXT    NOT NULL,
			cid       TEXT    NOT NULL,
			ts        INTEGER NOT NULL, -- unix nanoseconds; 0 for the zero time
			PRIMARY KEY (room, seq)
		) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS meta (
			key   TEXT PRIMARY KEY,
			value TEXT NOT NULL
		)`,
	}, nil},
	{"record kinds and the message projection", []string{
		// The record's own fields (natter.Message), as the stream has them.
		// messages.text stays the record's text: a message's original text,
		// an edit's new text; "" once erased by a deletion.
		`ALTER TABLE messages ADD COLUMN kind      TEXT    NOT NULL DEFAULT ''`,
		`ALTER TABLE messages ADD COLUMN target    INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE messages ADD COLUMN reply_to  INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE messages ADD COLUMN thread    INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE messages ADD COLUMN also_room INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE messages ADD COLUMN mentions  TEXT    NOT NULL DEFAULT ''`, // JSON array, "" for none
		`ALTER TABLE messages ADD COLUMN emoji     TEXT    NOT NULL DEFAULT ''`,
		`ALTER TABLE messages ADD COLUMN remove    INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE messages ADD COLUMN topic     TEXT`, // NULL: unchanged
		`ALTER TABLE messages ADD COLUMN name      TEXT`,
		// The projection of a message row (kind ''): its current state.
		// cur_text is the text of its latest edit (NULL: never edited),
		// edited that edit's time; deleted_by is set by its tombstone;
		// replies and last_reply summarise its thread. erased marks a row
		// whose text a deletion removed (the message and its edits): the
		// stream no longer holds it either.
		`ALTER TABLE messages ADD COLUMN cur_text   TEXT`,
		`ALTER TABLE messages ADD COLUMN edited     INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE messages ADD COLUMN deleted_by TEXT`,
		`ALTER TABLE messages ADD COLUMN replies    INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE messages ADD COLUMN last_reply INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE messages ADD COLUMN erased     INTEGER NOT NULL DEFAULT 0`,
		// Change records by target, thread replies by root: partial, so
		// that plain messages cost nothing.
		`CREATE INDEX messages_target ON messages (room, target, seq) WHERE target > 0`,
		`CREATE INDEX messages_thread ON messages (room, thread, seq) WHERE thread > 0`,
		// Reactions: each (message, emoji, user)'s state is that of its
		// latest react record (seq), so records applied out of order (an
		// audit's repair) end in the same state.
		`CREATE TABLE reactions (
			room    TEXT    NOT NULL,
			target  INTEGER NOT NULL,
			emoji   TEXT    NOT NULL,
			user    TEXT    NOT NULL,
			seq     INTEGER NOT NULL,
			present INTEGER NOT NULL,
			PRIMARY KEY (room, target, emoji, user)
		) WITHOUT ROWID`,
		// Mentions of users in messages that are not deleted, for unread
		// mention counts; user '@room' for @room.
		`CREATE TABLE mentions (
			user TEXT    NOT NULL,
			room TEXT    NOT NULL,
			seq  INTEGER NOT NULL,
			PRIMARY KEY (user, room, seq)
		) WITHOUT ROWID`,
		// Room topic and name, each with the seq of the record that set it.
		`CREATE TABLE room_state (
			room      TEXT PRIMARY KEY,
			topic     TEXT    NOT NULL DEFAULT '',
			topic_seq INTEGER NOT NULL DEFAULT 0,
			name      TEXT    NOT NULL DEFAULT '',
			name_seq  INTEGER NOT NULL DEFAULT 0
		) WITHOUT ROWID`,
	}, nil},
	{"full-text search", []string{
		// Contentless: the text lives in messages once; rowid is the
		// record's stream sequence (unique across rooms), and
		// messages_seq finds its row.
		searchTable,
		`CREATE INDEX messages_seq ON messages (seq)`,
	}, fillSearch},
}

// searchTable is the full-text index (search_index.go).
const searchTable = `CREATE VIRTUAL TABLE search USING fts5(text, content='', contentless_delete=1, tokenize='trigram')`

// migration is one schema version: statements, then an optional step in Go.
type migration struct {
	name  string
	stmts []string
	fill  func(ctx context.Context, tx *sql.Tx) error
}

// migrate brings db to the latest version. A database newer than this code
// is refused: its schema may mean things this version would get wrong.
func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program's %d", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		if err := migrateTo(ctx, db, v+1); err != nil {
			return err
		}
	}
	return nil
}

// migrateTo applies migrations[v-1] and sets the version to v, in one
// transaction.
func migrateTo(ctx context.Context, db *sql.DB, v int) (err error) {
	m := migrations[v-1]
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %d (%s): %w", v, m.name, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			err = fmt.Errorf("migration %d (%s): %w", v, m.name, err)
		}
	}()
	for _, stmt := range m.stmts {
		if _, err = tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if m.fill != nil {
		if err = m.fill(ctx, tx); err != nil {
			return err
		}
	}
	// PRAGMA takes no parameters; v is an int.
	if _, err = tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v)); err != nil {
		return err
	}
	return tx.Commit()
}
