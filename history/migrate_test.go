package history

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/natter-chat/natter"
)

// schemaV0 is the schema as main created it before versions were recorded
// (history/store.go, user_version 0), frozen here: the migration test
// must start from the files that release wrote, whatever the code says now.
var schemaV0 = []string{
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
}

// writeV0 creates a history.db as the unversioned release did: its schema
// in WAL mode.
func writeV0(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range schemaV0 {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
}

// dump returns the schema and every row of every ordinary table, to
// compare a database before and after an operation.
func dump(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "version %d\n", v)
	rows, err := db.Query(`SELECT type, name, COALESCE(sql, '') FROM sqlite_schema ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var typ, name, sql string
		if err := rows.Scan(&typ, &name, &sql); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s: %s\n", typ, name, sql)
		if typ == "table" && !strings.HasPrefix(name, "search") && !strings.HasPrefix(name, "sqlite_") {
			tables = append(tables, name)
		}
	}
	rows.Close()
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", table, vals)
		}
		rows.Close()
	}
	return b.String()
}

// A history.db written by the release before schema versions opens with
// this code: it is migrated in place to the latest version, serves the
// same messages (now with the projection's fields, all empty), finds them
// in search, and opening it again changes nothing.
func TestMigrateFromUnversioned(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	writeV0(t, path)
	want := stream("e1", 120, "general", "random")
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	for _, msgs := range want {
		for _, m := range msgs {
			// The release's insertMessage, as it was.
			if _, err := db.Exec(`INSERT OR IGNORE INTO messages
				(room, seq, prev, epoch, from_user, text, cid, ts)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, string(m.Room), int64(m.Seq), int64(m.Prev),
				m.Epoch, string(m.From), m.Text, m.ClientID, unixNano(m.Time)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for k, v := range map[string]string{epochKey: "e1", positionKey: "120"} {
		if _, err := db.Exec(`INSERT INTO meta (key, value) VALUES (?, ?)`, k, v); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for room, msgs := range want {
		got := all(t, s, room)
		if !reflect.DeepEqual(got, msgs) {
			t.Fatalf("%s after migration: %v, want %v", room, seqs(got), seqs(msgs))
		}
		m, history, err := s.Get(ctx, room, msgs[3].Seq)
		if err != nil || m.Text != msgs[3].Text || m.Edited != nil || m.Deleted || len(history) != 0 {
			t.Fatalf("Get %s/%d = %+v %v %v", room, msgs[3].Seq, m, history, err)
		}
	}
	if pos, err := s.Position(ctx); err != nil || pos != 120 {
		t.Fatalf("position = %d, %v; want 120", pos, err)
	}
	if epoch, err := s.Epoch(ctx); err != nil || epoch != "e1" {
		t.Fatalf("epoch = %q, %v", epoch, err)
	}
	// The migration indexed the archived messages.
	if got := searchSeqs(t, s, `"msg 77"`, "general", "random"); !slices.Equal(got, []uint64{77}) {
		t.Fatalf("search after migration = %v, want [77]", got)
	}
	// New records apply to migrated messages.
	edit := want["general"][0]
	edit.Seq, edit.Kind, edit.Target, edit.Text = 121, "edit", want["general"][0].Seq, "edited"
	if err := s.Append(ctx, []natter.Message{edit}); err != nil {
		t.Fatal(err)
	}
	if m, _, err := s.Get(ctx, "general", edit.Target); err != nil || m.Text != "edited" || m.Edited == nil {
		t.Fatalf("edit of a migrated message: %+v, %v", m, err)
	}
	s.Close()

	before := dump(t, path)
	if !strings.HasPrefix(before, fmt.Sprintf("version %d\n", len(migrations))) {
		t.Fatalf("after migration: %.40s, want version %d", before, len(migrations))
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if after := dump(t, path); after != before {
		t.Fatalf("reopening changed the database:\nbefore %s\nafter %s", before, after)
	}
}

// Each migration is one transaction: one that fails leaves the database at
// the version before it, with nothing of the failed one applied.
func TestMigrationIsAtomic(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	writeV0(t, path)
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A table in the way of migration 2's: it fails on its last statements.
	if _, err := db.Exec(`CREATE TABLE room_state (x)`); err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db); err == nil {
		t.Fatal("migration over a conflicting table succeeded")
	}
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != 1 {
		t.Fatalf("version = %d, %v; want 1", v, err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM pragma_table_info('messages') WHERE name = 'kind'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("migration 2 half applied: kind column count %d, %v", n, err)
	}
}

// A database from a newer version is refused rather than misread.
func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openStore(t)
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a newer schema: %v, want refusal", err)
	}
}
