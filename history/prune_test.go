package history_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/history"
)

// Pruning old records takes what the projection derived from them along:
// a pruned message is no longer found by search, its mentions no longer
// count, and the reactions on it are gone, while newer ones stay.
func TestPruneTakesTheProjection(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old := time.Now().Add(-48 * time.Hour).UTC()
	recent := time.Now().UTC()
	recs := []natter.Message{
		{Room: "r", Seq: 1, Prev: 0, Epoch: "e", From: "alice", Text: "ancient walrus @bob", ClientID: "1", Time: old, Mentions: []natter.UserID{"bob"}},
		{Room: "r", Seq: 2, Prev: 1, Epoch: "e", From: "bob", ClientID: "2", Time: old, Kind: natter.KindReact, Target: 1, Emoji: "👍"},
		{Room: "r", Seq: 3, Prev: 2, Epoch: "e", From: "alice", Text: "recent walrus @bob", ClientID: "3", Time: recent, Mentions: []natter.UserID{"bob"}},
		{Room: "r", Seq: 4, Prev: 3, Epoch: "e", From: "bob", ClientID: "4", Time: recent, Kind: natter.KindReact, Target: 3, Emoji: "🎉"},
	}
	if _, err := s.AppendThrough(ctx, 4, recs); err != nil {
		t.Fatal(err)
	}
	hits := func() []uint64 {
		q, err := history.ParseQuery("walrus")
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Search(ctx, history.SearchQuery{ParsedQuery: q, Rooms: []natter.RoomID{"r"}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for _, h := range res.Hits {
			seqs = append(seqs, h.Seq)
		}
		return seqs
	}
	if got := hits(); len(got) != 2 {
		t.Fatalf("search before the prune found %v, want both messages", got)
	}
	n, err := s.Prune(ctx, "r", time.Now().Add(-time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("Prune = %d, %v; want the 2 old records", n, err)
	}
	if got := hits(); len(got) != 1 || got[0] != 3 {
		t.Errorf("search after the prune found %v, want only seq 3", got)
	}
	a, err := s.Activity(ctx, "r", 0, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if a.Mentions != 1 {
		t.Errorf("bob's unread mentions after the prune = %d, want 1 (the old one pruned)", a.Mentions)
	}
	// Nothing of the pruned records is left in the file's tables, even
	// where queries would not show it (the index holds their trigrams).
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for q, want := range map[string]int{
		`SELECT count(*) FROM search WHERE rowid < 3`:     0,
		`SELECT count(*) FROM mentions WHERE seq < 3`:     0,
		`SELECT count(*) FROM reactions WHERE target < 3`: 0,
		`SELECT count(*) FROM reactions`:                  1,
	} {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil || n != want {
			t.Errorf("%s = %d, %v; want %d", q, n, err, want)
		}
	}
	m, _, err := s.Get(ctx, "r", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Reactions) != 1 || m.Reactions[0].Emoji != "🎉" {
		t.Errorf("reactions on the kept message = %+v, want 🎉", m.Reactions)
	}
}
