package history

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/natter-chat/natter"
)

// Search limits.
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
	// maxCandidates bounds the index hits one search examines (a hit the
	// index finds may fail a term's word-boundary rule or a short term).
	maxCandidates = 2000
	// defaultScanWindow bounds the messages one search reads when the
	// index cannot narrow it (only terms of one or two characters, or
	// none).
	defaultScanWindow = 20000
	// snippetRunes is about how much text a snippet shows.
	snippetRunes = 160
)

// SearchQuery is a search over some rooms.
type SearchQuery struct {
	ParsedQuery
	// Rooms are the rooms to search: the caller's, already authorised.
	Rooms []natter.RoomID
	// After and Before bound the messages' times (zero: unbounded).
	After, Before time.Time
	// Cursor continues a previous result (its Next); 0 starts at the newest.
	Cursor uint64
	Limit  int
}

// SearchResult is one page of hits, newest first.
type SearchResult struct {
	Hits []Hit `json:"hits"`
	// Next is the cursor of the following page, when HasMore.
	Next    string `json:"next,omitempty"`
	HasMore bool   `json:"has_more"`
}

// Hit is one message found.
type Hit struct {
	Room    natter.RoomID `json:"room"`
	Seq     uint64        `json:"seq"`
	From    natter.UserID `json:"from"`
	Time    time.Time     `json:"ts"`
	Thread  uint64        `json:"thread,omitempty"`
	Snippet string        `json:"snippet"`
	// Highlights are the matches in Snippet as [start, end) offsets in
	// UTF-16 code units (what JavaScript strings index).
	Highlights [][2]int `json:"highlights"`
}

// candidate is a message a search considers.
type candidate struct {
	room   string
	seq    int64
	from   string
	text   string
	ts     int64
	thread int64
}

// Search finds the messages matching q, newest first.
func (s *Store) Search(ctx context.Context, q SearchQuery) (SearchResult, error) {
	res := SearchResult{Hits: []Hit{}}
	if q.Limit <= 0 {
		q.Limit = DefaultSearchLimit
	}
	q.Limit = min(q.Limit, MaxSearchLimit)
	if len(q.Rooms) == 0 || q.Cursor == 1 {
		return res, nil
	}
	cursor := int64(math.MaxInt64)
	if q.Cursor > 0 && q.Cursor <= math.MaxInt64 {
		cursor = int64(q.Cursor)
	}
	var long []string
	for _, t := range q.Terms {
		if w, ok := t.indexTerm(); ok {
			long = append(long, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
		}
	}
	var err error
	if len(long) > 0 && !s.noSearch {
		err = s.searchIndex(ctx, q, strings.Join(long, " AND "), cursor, &res)
	} else {
		err = s.searchScan(ctx, q, cursor, &res)
	}
	if err != nil {
		return SearchResult{}, fmt.Errorf("history: search: %w", err)
	}
	return res, nil
}

// filters is the SQL for q's conditions on messages m, with its arguments.
func (q SearchQuery) filters() (string, []any) {
	var b strings.Builder
	args := make([]any, 0, len(q.Rooms)+3)
	b.WriteString(` AND m.kind = '' AND m.deleted_by IS NULL AND m.room IN (` + inList(len(q.Rooms)) + `)`)
	for _, r := range q.Rooms {
		args = append(args, string(r))
	}
	if q.From != "" {
		b.WriteString(` AND m.from_user = ?`)
		args = append(args, string(q.From))
	}
	if !q.After.IsZero() {
		b.WriteString(` AND m.ts > ?`)
		args = append(args, q.After.UnixNano())
	}
	if !q.Before.IsZero() {
		b.WriteString(` AND m.ts < ?`)
		args = append(args, q.Before.UnixNano())
	}
	return b.String(), args
}

// searchIndex walks the index's hits for match, newest first, checking
// each against every term, until the page is full or maxCandidates were
// examined.
func (s *Store) searchIndex(ctx context.Context, q SearchQuery, match string, cursor int64, res *SearchResult) error {
	where, args := q.filters()
	query := `SELECT m.room, m.seq, m.from_user, COALESCE(m.cur_text, m.text), m.ts, m.thread
		FROM search s JOIN messages m INDEXED BY messages_seq ON m.seq = s.rowid
		WHERE search MATCH ? AND s.rowid < ?` + where + ` ORDER BY s.rowid DESC LIMIT ?`
	for examined := 0; examined < maxCandidates; {
		batch := min(4*q.Limit, maxCandidates-examined)
		cands, err := s.candidates(ctx, query, append(append([]any{match, cursor}, args...), batch)...)
		if err != nil {
			return err
		}
		examined += len(cands)
		for _, c := range cands {
			cursor = c.seq
			if q.accept(c, res) && len(res.Hits) == q.Limit {
				res.HasMore, res.Next = true, fmt.Sprint(c.seq)
				return nil
			}
		}
		if len(cands) < batch {
			return nil // the index has no more
		}
	}
	res.HasMore, res.Next = true, fmt.Sprint(cursor)
	return nil
}

// searchScan reads the searched rooms' messages below cursor, newest
// first, at most the scan window of them, and checks each against every term:
// for queries the trigram index cannot narrow.
func (s *Store) searchScan(ctx context.Context, q SearchQuery, cursor int64, res *SearchResult) error {
	where, args := q.filters()
	// The window's floor: the highest, over the searched rooms, of each
	// room's k-th newest record below the cursor. Above it each room has
	// at most k records, so the window holds at most about the scan
	// window's worth, found in each room's primary key (a walk of the seq
	// index would also step over every other room's records).
	window := defaultScanWindow
	if s.scanWindow > 0 {
		window = s.scanWindow
	}
	k := max(window/len(q.Rooms), 20)
	var floor int64
	for _, room := range q.Rooms {
		var seq int64
		err := s.r.QueryRowContext(ctx, `SELECT seq FROM messages WHERE room = ? AND seq < ?
			ORDER BY seq DESC LIMIT 1 OFFSET ?`, string(room), cursor, k-1).Scan(&seq)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		floor = max(floor, seq)
	}
	cands, err := s.candidates(ctx, `SELECT m.room, m.seq, m.from_user, COALESCE(m.cur_text, m.text), m.ts, m.thread
		FROM messages m WHERE m.seq < ? AND m.seq >= ?`+where+` ORDER BY m.seq DESC`,
		append([]any{cursor, floor}, args...)...)
	if err != nil {
		return err
	}
	for _, c := range cands {
		if q.accept(c, res) && len(res.Hits) == q.Limit {
			res.HasMore, res.Next = true, fmt.Sprint(c.seq)
			return nil
		}
	}
	if floor > 1 {
		// The window ended, perhaps before the rooms' history did.
		res.HasMore, res.Next = true, fmt.Sprint(floor)
	}
	return nil
}

func (s *Store) candidates(ctx context.Context, query string, args ...any) ([]candidate, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.room, &c.seq, &c.from, &c.text, &c.ts, &c.thread); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// accept adds c to res if every term matches its text.
func (q SearchQuery) accept(c candidate, res *SearchResult) bool {
	text := []rune(c.text)
	folded := []rune(fold(c.text))
	var ranges [][2]int
	for _, t := range q.Terms {
		m := t.match(folded, 8)
		if len(m) == 0 {
			return false
		}
		ranges = append(ranges, m...)
	}
	snippet, highlights := snippetOf(text, ranges)
	res.Hits = append(res.Hits, Hit{
		Room: natter.RoomID(c.room), Seq: uint64(c.seq), From: natter.UserID(c.from),
		Time: fromUnixNano(c.ts), Thread: uint64(c.thread), Snippet: snippet, Highlights: highlights,
	})
	return true
}

// snippetOf cuts about snippetRunes of text around the first match and
// returns it with the matches inside it, in UTF-16 offsets.
func snippetOf(text []rune, ranges [][2]int) (string, [][2]int) {
	first := len(text)
	for _, r := range ranges {
		first = min(first, r[0])
	}
	start := max(0, first-snippetRunes/3)
	end := min(len(text), start+snippetRunes)
	start = max(0, min(start, end-snippetRunes))
	var prefix, suffix []rune
	if start > 0 {
		prefix = []rune("…")
	}
	if end < len(text) {
		suffix = []rune("…")
	}
	cut := append(append(append([]rune{}, prefix...), text[start:end]...), suffix...)
	// UTF-16 offset of each rune of cut.
	offs := make([]int, len(cut)+1)
	for i, r := range cut {
		offs[i+1] = offs[i] + utf16.RuneLen(r)
	}
	shift := len(prefix) - start
	highlights := [][2]int{}
	for _, r := range sortRanges(ranges) {
		a, b := r[0]+shift, r[1]+shift
		if a < len(prefix) || b > len(cut)-len(suffix) {
			continue // outside the snippet
		}
		highlights = append(highlights, [2]int{offs[a], offs[b]})
	}
	return string(cut), highlights
}

// sortRanges orders ranges by start and merges overlapping ones.
func sortRanges(ranges [][2]int) [][2]int {
	out := slices.Clone(ranges)
	slices.SortFunc(out, func(a, b [2]int) int { return cmp.Compare(a[0], b[0]) })
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && r[0] <= merged[n-1][1] {
			merged[n-1][1] = max(merged[n-1][1], r[1])
			continue
		}
		merged = append(merged, r)
	}
	return merged
}
