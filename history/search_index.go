package history

import (
	"context"
	"database/sql"
	"fmt"
)

// The full-text index (table search, FTS5 with the trigram tokenizer) holds
// the current text of every message that is not deleted, under the
// message's stream sequence as rowid. The projection keeps it in step in
// the same transaction as each record (project.go); fillSearch builds it
// from the archive, for the migration that adds it and whenever it is
// found missing at start.

// fillSearch indexes every message's current text.
func fillSearch(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO search (rowid, text)
		SELECT seq, COALESCE(cur_text, text) FROM messages
		WHERE kind = '' AND deleted_by IS NULL AND COALESCE(cur_text, text) <> ''`)
	return err
}

// ensureSearch rebuilds the index if it is missing from a database whose
// version says it has one (dropped by hand to reclaim space, or lost to a
// tool that does not know FTS5).
func ensureSearch(ctx context.Context, db *sql.DB) (err error) {
	var n int
	if err := db.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'search'`).Scan(&n); err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	if n > 0 {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			err = fmt.Errorf("rebuilding search index: %w", err)
		}
	}()
	if _, err = tx.ExecContext(ctx, searchTable); err != nil {
		return err
	}
	if err = fillSearch(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}
