package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Backup copies the archive at path, which a running server may be
// writing, into a new file at out with VACUUM INTO: one read transaction,
// so the copy is consistent (what was committed when it began), compacted,
// and in rollback-journal mode, a single file. out must not exist.
func Backup(ctx context.Context, path, out string) error {
	if strings.Contains(path, "?") {
		return fmt.Errorf("history: invalid database path %q", path)
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("history: backup %s exists already", out)
	}
	db, err := sql.Open("sqlite", fmt.Sprintf("%s?_pragma=busy_timeout(%d)", path, busyTimeoutMS))
	if err != nil {
		return fmt.Errorf("history: open %s: %w", path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
		return fmt.Errorf("history: backup of %s: %w", path, err)
	}
	return os.Chmod(out, 0o600)
}
