package history

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/natter-chat/natter"
)

func TestParseQuery(t *testing.T) {
	for q, want := range map[string]ParsedQuery{
		`hello`:                   {Terms: []Term{{Text: "hello"}}},
		`  Hello   WORLD `:        {Terms: []Term{{Text: "hello"}, {Text: "world"}}},
		`"Big  Cat" cat*`:         {Terms: []Term{{Text: "big cat"}, {Text: "cat", Prefix: true}}},
		`from:alice in:general x`: {Terms: []Term{{Text: "x"}}, From: "alice", In: "general"},
		`"from:alice"`:            {Terms: []Term{{Text: "from:alice"}}},
		`東京 天気`:                   {Terms: []Term{{Text: "東京"}, {Text: "天気"}}},
		`- , hi`:                  {Terms: []Term{{Text: "hi"}}},
		`👍`:                       {Terms: []Term{{Text: "👍"}}},
		``:                        {},
	} {
		got, err := ParseQuery(q)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseQuery(%q) = %+v, %v; want %+v", q, got, err, want)
		}
	}
	for _, q := range []string{
		`"open`, `from:`, `from:a.b`, `in:a*b`, `from:a from:b`, `""`, `*`,
		string(make([]byte, MaxQueryBytes+1)), "\xff", "a\x00b", `a b c d e f g h i j k l m n o p q`,
	} {
		if _, err := ParseQuery(q); natter.ErrorCode(err) != natter.EINVALID {
			t.Errorf("ParseQuery(%q) = %v, want invalid", q, err)
		}
	}
}

// searchStore archives texts as messages of room "general" from alice
// (seq = index+1), and texts of "secret" from bob after them.
func searchStore(t *testing.T, general []string, secret ...string) *Store {
	t.Helper()
	s, _ := openStore(t)
	var msgs []natter.Message
	for i, text := range general {
		msgs = append(msgs, rec(uint64(i+1), "alice", "", 0, text))
	}
	for i, text := range secret {
		m := rec(uint64(len(general)+i+1), "bob", "", 0, text)
		m.Room = "secret"
		msgs = append(msgs, m)
	}
	if err := s.Append(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	return s
}

func searchSeqs(t *testing.T, s *Store, q string, rooms ...natter.RoomID) []uint64 {
	t.Helper()
	p, err := ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	if rooms == nil {
		rooms = []natter.RoomID{"general"}
	}
	res, err := s.Search(context.Background(), SearchQuery{ParsedQuery: p, Rooms: rooms, Limit: MaxSearchLimit})
	if err != nil {
		t.Fatal(err)
	}
	out := []uint64{}
	for _, h := range res.Hits {
		out = append(out, h.Seq)
	}
	return out
}

var searchTexts = []string{
	"The quick brown fox",                   // 1
	"concatenate these strings",             // 2
	"a cat sat on the mat",                  // 3
	"Catalogue of cats",                     // 4
	"東京の天気は晴れです",                            // 5 Japanese
	"我爱北京天安门",                               // 6 Chinese
	"서울 날씨가 좋아요",                            // 7 Korean
	"party time 🎉🎉 tonight",                 // 8
	"deploy to 東京 region today",             // 9 mixed
	"big cat\nand a small one",              // 10
	"猫",                                     // 11 one character
	"release v2.0 notes: see https://x.y/z", // 12
}

func TestSearchLanguages(t *testing.T) {
	s := searchStore(t, searchTexts)
	for q, want := range map[string][]uint64{
		"cat":              {10, 3},    // whole word: not concatenate, catalogue, cats
		"cat*":             {10, 4, 3}, // prefix, case-insensitive: not concatenate
		"CATS":             {4},        //
		"quick fox":        {1},        // every term
		"quick cat":        {},         //
		`"big cat"`:        {10},       // phrase
		`"cat sat"`:        {3},        //
		"天気":               {5},        // 2 characters: the fallback
		"東京":               {9, 5},     // in Japanese and in mixed text
		"東京の天気":            {5},        // 5 characters: the index
		"北京":               {6},        //
		"天安门":              {6},        // 3: the index
		"爱":                {6},        // 1 character
		"猫":                {11},       //
		"날씨":               {7},        // Korean, 2
		"서울":               {7},        //
		"🎉":                {8},        // emoji
		"deploy 東京":        {9},        // mixed
		"region 天気":        {},         //
		"v2.0":             {12},       // punctuation inside a term
		"https://x.y/z":    {12},       //
		"e":                {},         // a letter inside words is no word
		"from:alice cat":   {10, 3},    //
		"from:bob cat":     {},         //
		"quick in:general": {1},        //
		"晴れ":               {5},        //
		"concatenate":      {2},        //
		"conca*":           {2},        //
		"string*":          {2},        //
	} {
		got := searchSeqs(t, s, q)
		if !slices.Equal(got, want) {
			t.Errorf("search %q = %v, want %v", q, got, want)
		}
	}
	// from: alone lists the user's messages, newest first.
	if got := searchSeqs(t, s, "from:alice"); len(got) != len(searchTexts) || got[0] != uint64(len(searchTexts)) {
		t.Errorf("from:alice = %v", got)
	}
}

func TestSearchSnippetAndHighlights(t *testing.T) {
	long := ""
	for range 40 {
		long += "filler words here "
	}
	s := searchStore(t, []string{"Ünïcode 東京 and CATS and cat", long + "needle at the end"})
	ctx := context.Background()
	p, _ := ParseQuery("cat 東京")
	res, err := s.Search(ctx, SearchQuery{ParsedQuery: p, Rooms: []natter.RoomID{"general"}})
	if err != nil || len(res.Hits) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	h := res.Hits[0]
	u := utf16.Encode([]rune(h.Snippet))
	var marked []string
	for _, r := range h.Highlights {
		marked = append(marked, string(utf16.Decode(u[r[0]:r[1]])))
	}
	if want := []string{"東京", "cat"}; h.Snippet != "Ünïcode 東京 and CATS and cat" || !reflect.DeepEqual(marked, want) {
		t.Fatalf("snippet %q highlights %v = %q, want %q", h.Snippet, h.Highlights, marked, want)
	}
	p, _ = ParseQuery("needle")
	res, err = s.Search(ctx, SearchQuery{ParsedQuery: p, Rooms: []natter.RoomID{"general"}})
	if err != nil || len(res.Hits) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	h = res.Hits[0]
	u = utf16.Encode([]rune(h.Snippet))
	if len([]rune(h.Snippet)) > snippetRunes+2 || h.Snippet[:3] != "…" || len(h.Highlights) != 1 ||
		string(utf16.Decode(u[h.Highlights[0][0]:h.Highlights[0][1]])) != "needle" {
		t.Fatalf("long text: snippet %q highlights %v", h.Snippet, h.Highlights)
	}
}

// Search finds a message's current text: an edit replaces what it finds,
// a deletion removes it, in the transaction that stores the record.
func TestSearchFollowsEditsAndDeletions(t *testing.T) {
	ctx := context.Background()
	s := searchStore(t, []string{"original wording", "to be deleted soon", "短い"})
	if got := searchSeqs(t, s, "wording"); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("before: %v", got)
	}
	if err := s.Append(ctx, []natter.Message{
		rec(4, "alice", natter.KindEdit, 1, "revised phrasing"),
		rec(5, "alice", natter.KindDelete, 2, ""),
		rec(6, "alice", natter.KindEdit, 3, "長い"),
	}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]uint64{
		"wording": {}, "revised": {1}, "deleted": {}, "soon": {}, "短い": {}, "長い": {3},
	} {
		if got := searchSeqs(t, s, q); !slices.Equal(got, want) {
			t.Errorf("after: %q = %v, want %v", q, got, want)
		}
	}
	// The index itself holds no entry for the deleted message.
	var n int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM search WHERE rowid = 2`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("index rows for the deleted message: %d, %v", n, err)
	}
}

// A walk with the cursor returns every hit once, newest first, for the
// index and for the bounded scan (a window smaller than the rooms).
func TestSearchCursorWalk(t *testing.T) {
	ctx := context.Background()
	var texts []string
	for i := range 60 {
		if i%3 == 0 {
			texts = append(texts, fmt.Sprintf("needle 猫 number %d", i))
		} else {
			texts = append(texts, fmt.Sprintf("hay %d", i))
		}
	}
	s := searchStore(t, texts, "needle 猫 in secret")
	s.scanWindow = 7 // floor: max(7/1, 20) per room
	var want []uint64
	for i := 60; i >= 1; i-- {
		if (i-1)%3 == 0 {
			want = append(want, uint64(i))
		}
	}
	for _, q := range []string{"needle", "猫"} {
		p, _ := ParseQuery(q)
		var got []uint64
		sq := SearchQuery{ParsedQuery: p, Rooms: []natter.RoomID{"general"}, Limit: 3}
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatalf("%q: no end", q)
			}
			res, err := s.Search(ctx, sq)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range res.Hits {
				got = append(got, h.Seq)
			}
			if !res.HasMore {
				break
			}
			var c uint64
			fmt.Sscan(res.Next, &c)
			sq.Cursor = c
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q walk = %v, want %v", q, got, want)
		}
	}
}

// Over HTTP: only rooms the caller is a member of now are searched.
func TestSearchEndpoint(t *testing.T) {
	s := searchStore(t, []string{"lunch plans", "more lunch"}, "secret lunch")
	dm := natter.DMRoom("alice", "carol")
	m := rec(10, "carol", "", 0, "dm lunch")
	m.Room = dm
	if err := s.Append(context.Background(), []natter.Message{m}); err != nil {
		t.Fatal(err)
	}
	dir := &directory{
		rooms: map[natter.RoomID]natter.Room{
			"general": {ID: "general", Kind: natter.Public},
			"secret":  {ID: "secret", Kind: natter.Private, Owner: "bob"},
			dm:        {ID: dm, Kind: natter.Direct, Users: []natter.UserID{"alice", "carol"}},
		},
		members: map[natter.RoomID][]natter.UserID{
			"general": {"alice", "bob", "dave"},
			"secret":  {"bob"},
			dm:        {"alice", "carol"},
		},
	}
	srv := httptest.NewServer(NewHandler(s, dir, tokens{"tok-alice": "alice", "tok-bob": "bob", "tok-dave": "dave"}, nil))
	t.Cleanup(srv.Close)
	f := &fixture{url: srv.URL}
	hits := func(token, query string) []string {
		t.Helper()
		res := decode[SearchResult](t, f.get(t, "/api/search?"+query, token))
		var out []string
		for _, h := range res.Hits {
			out = append(out, fmt.Sprintf("%s/%d", h.Room, h.Seq))
		}
		return out
	}
	q := "q=" + url.QueryEscape("lunch")
	if got, want := hits("Bearer tok-alice", q), []string{string(dm) + "/10", "general/2", "general/1"}; !slices.Equal(got, want) {
		t.Errorf("alice: %v, want %v", got, want)
	}
	if got, want := hits("Bearer tok-bob", q), []string{"secret/3", "general/2", "general/1"}; !slices.Equal(got, want) {
		t.Errorf("bob: %v, want %v", got, want)
	}
	if got, want := hits("Bearer tok-dave", q), []string{"general/2", "general/1"}; !slices.Equal(got, want) {
		t.Errorf("dave: %v, want %v", got, want)
	}
	for _, query := range []string{q + "&room=secret", "q=" + url.QueryEscape("lunch in:secret"), q + "&room=" + string(dm)} {
		if got := hits("Bearer tok-dave", query); len(got) != 0 {
			t.Errorf("dave with %s: %v", query, got)
		}
	}
	// Removed from secret: bob no longer finds it.
	dir.members["secret"] = nil
	if got := hits("Bearer tok-bob", q); slices.Contains(got, "secret/3") {
		t.Errorf("bob after removal: %v", got)
	}
	if got := hits("Bearer tok-alice", q+"&from=carol"); !slices.Equal(got, []string{string(dm) + "/10"}) {
		t.Errorf("from=carol: %v", got)
	}
	if got := hits("Bearer tok-alice", q+"&after="+at(2).Add(-time.Millisecond).Format(time.RFC3339Nano)); !slices.Equal(got, []string{string(dm) + "/10", "general/2"}) {
		t.Errorf("after: %v", got)
	}
	if got := hits("Bearer tok-alice", q+"&before="+at(2).Format(time.RFC3339Nano)); !slices.Equal(got, []string{"general/1"}) {
		t.Errorf("before: %v", got)
	}
	if got := hits("Bearer tok-alice", q+"&limit=1"); !slices.Equal(got, []string{string(dm) + "/10"}) {
		t.Errorf("limit=1: %v", got)
	}
	for _, bad := range []string{"", "q=", "q=%22open", q + "&limit=0", q + "&limit=x", q + "&cursor=x", q + "&cursor=0",
		q + "&before=yesterday", q + "&from=a.b", q + "&room=a*", "q=" + url.QueryEscape("x from:a") + "&from=b"} {
		wantError(t, f.get(t, "/api/search?"+bad, "Bearer tok-alice"), http.StatusBadRequest, natter.EINVALID)
	}
	wantError(t, f.get(t, "/api/search?"+q, ""), http.StatusUnauthorized, natter.EUNAUTHORIZED)
}

// The migration that adds the index fills it from the archive, and the
// index is rebuilt at start if it is missing.
func TestSearchIndexRebuiltIfMissing(t *testing.T) {
	s, path := openStore(t)
	appendAll(t, s, stream("e1", 30, "general", "random"))
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TABLE search`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := searchSeqs(t, s, `"msg 22"`, "general", "random"); !slices.Equal(got, []uint64{22}) {
		t.Fatalf("search after rebuild = %v", got)
	}
}
