package history

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/natter-chat/natter"
)

// FuzzSearchQuery parses arbitrary search parameters as GET /api/search
// does and runs every query it accepts against a real archive with
// mixed-script texts. It must never panic, refuse only with invalid, keep
// to its limits, and every hit must be a message of a searched room whose
// highlights lie inside its snippet.
func FuzzSearchQuery(f *testing.F) {
	s, err := Open(filepath.Join(f.TempDir(), "history.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	var msgs []natter.Message
	for i, text := range searchTexts {
		msgs = append(msgs, rec(uint64(i+1), "alice", "", 0, text))
	}
	if err := s.Append(context.Background(), msgs); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"q=cat", "q=cat*", "q=%22big+cat%22", "q=from:alice+in:general+x", "q=%E6%9D%B1%E4%BA%AC",
		"q=%E7%8C%AB&limit=1&cursor=5", "q=a&before=2026-01-02&after=2025-01-01T00:00:00Z", "q=%22",
		"q=%F0%9F%8E%89", "q=from:a.b", "q=x&room=general&from=alice", "q=***+%22%22",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := searchQuery(v)
		if err != nil {
			wantInvalid(t, err)
			return
		}
		if len(q.Terms) > MaxQueryTerms {
			t.Fatalf("%d terms", len(q.Terms))
		}
		for _, term := range q.Terms {
			if term.Text == "" || !utf8.ValidString(term.Text) {
				t.Fatalf("term %q", term.Text)
			}
		}
		q.Rooms = []natter.RoomID{"general"}
		res, err := s.Search(context.Background(), q)
		if err != nil {
			t.Fatalf("search %q: %v", raw, err)
		}
		if len(res.Hits) > max(q.Limit, DefaultSearchLimit) || res.Hits == nil {
			t.Fatalf("%d hits for limit %d", len(res.Hits), q.Limit)
		}
		for _, h := range res.Hits {
			if h.Room != "general" || h.Seq == 0 || h.Seq > uint64(len(searchTexts)) {
				t.Fatalf("hit %+v", h)
			}
			n := len(utf16.Encode([]rune(h.Snippet)))
			for _, r := range h.Highlights {
				if r[0] < 0 || r[0] >= r[1] || r[1] > n {
					t.Fatalf("highlight %v outside snippet of %d units", r, n)
				}
			}
		}
	})
}
