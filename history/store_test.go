package history

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

func openStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// stream simulates the shared JetStream stream: seqs 1..n are spread over the
// given rooms round-robin with weights, so each room's seqs have gaps and the
// rooms interleave. It returns every room's messages in seq order.
func stream(epoch string, n int, rooms ...natter.RoomID) map[natter.RoomID][]natter.Message {
	out := make(map[natter.RoomID][]natter.Message)
	base := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	for seq := 1; seq <= n; seq++ {
		// Room 0 gets two of every three seqs, the others share the rest.
		room := rooms[0]
		if seq%3 == 0 {
			room = rooms[1+(seq/3)%(len(rooms)-1)]
		}
		var prev uint64
		if prior := out[room]; len(prior) > 0 {
			prev = prior[len(prior)-1].Seq
		}
		out[room] = append(out[room], natter.Message{
			Room: room, Seq: uint64(seq), Prev: prev, Epoch: epoch,
			From: natter.UserID(fmt.Sprintf("u%d", seq%5)), Text: fmt.Sprintf("msg %d", seq),
			ClientID: fmt.Sprintf("c%d", seq), Time: base.Add(time.Duration(seq) * time.Millisecond),
		})
	}
	return out
}

func appendAll(t *testing.T, s *Store, byRoom map[natter.RoomID][]natter.Message) {
	t.Helper()
	var all []natter.Message
	for _, msgs := range byRoom {
		all = append(all, msgs...)
	}
	if err := s.Append(context.Background(), all); err != nil {
		t.Fatal(err)
	}
}

// all reads a room's whole archive in one forward page.
func all(t *testing.T, s *Store, room natter.RoomID) []natter.Message {
	t.Helper()
	var out []natter.Message
	var after uint64
	for {
		page, err := s.Page(context.Background(), room, Query{After: after, Limit: MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, records(page)...)
		after = page[len(page)-1].Seq
	}
}

func TestAppendIsIdempotent(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	want := stream("e1", 30, "a", "b")["a"]

	if err := s.Append(ctx, want[:15]); err != nil {
		t.Fatal(err)
	}
	// Overlapping redelivery, with a changed copy that must not overwrite.
	again := append([]natter.Message(nil), want[10:]...)
	again[0].Text = "changed"
	if err := s.Append(ctx, again); err != nil {
		t.Fatal(err)
	}
	if got := all(t, s, "a"); !reflect.DeepEqual(got, want) {
		t.Fatalf("archive after overlapping redelivery:\n got %+v\nwant %+v", got, want)
	}
	if err := s.Append(ctx, want); err != nil {
		t.Fatal(err)
	}

	got := all(t, s, "a")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("archive after redelivery:\n got %+v\nwant %+v", got, want)
	}
	if loc := got[0].Time.Location(); loc != time.UTC {
		t.Errorf("time location = %v, want UTC", loc)
	}
}

func TestAppendRejectsInvalid(t *testing.T) {
	s, _ := openStore(t)
	for name, m := range map[string]natter.Message{
		"bad room":  {Room: "a.b", Seq: 1},
		"seq zero":  {Room: "a", Seq: 0},
		"seq range": {Room: "a", Seq: math.MaxInt64 + 1},
		"target":    {Room: "a", Seq: 8, Kind: natter.KindEdit, Target: math.MaxInt64 + 1},
		"reply_to":  {Room: "a", Seq: 8, ReplyTo: math.MaxUint64},
		"thread":    {Room: "a", Seq: 8, Thread: math.MaxInt64 + 1},
	} {
		t.Run(name, func(t *testing.T) {
			err := s.Append(context.Background(), []natter.Message{{Room: "a", Seq: 7}, m})
			if natter.ErrorCode(err) != natter.EINVALID {
				t.Fatalf("err = %v, want %s", err, natter.EINVALID)
			}
		})
	}
	// A rejected batch stores nothing.
	if got := all(t, s, "a"); len(got) != 0 {
		t.Fatalf("archive = %+v, want empty", got)
	}
}

func TestZeroTimeRoundTrips(t *testing.T) {
	s, _ := openStore(t)
	if err := s.Append(context.Background(), []natter.Message{{Room: "a", Seq: 1}}); err != nil {
		t.Fatal(err)
	}
	if got := all(t, s, "a"); len(got) != 1 || !got[0].Time.IsZero() {
		t.Fatalf("got %+v, want one message with zero time", got)
	}
}

// TestPageWalk walks a room whose seqs have gaps and interleave with other
// rooms, backwards and forwards, and checks the pages tile its history
// exactly: no message lost, none repeated, none from another room.
func TestPageWalk(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	byRoom := stream("e1", 400, "a", "b", "c")
	appendAll(t, s, byRoom)

	for _, room := range []natter.RoomID{"a", "b", "c"} {
		want := byRoom[room]
		for _, limit := range []int{1, 7, 50, len(want), MaxPageSize} {
			size := min(limit, MaxPageSize) // a's history is longer than MaxPageSize
			t.Run(fmt.Sprintf("%s/limit=%d", room, limit), func(t *testing.T) {
				var backward []natter.Message
				before := uint64(math.MaxUint64)
				for i := 0; ; i++ {
					page, err := s.Page(ctx, room, Query{Before: before, Limit: limit})
					if err != nil {
						t.Fatal(err)
					}
					if len(page) == 0 {
						break
					}
					// Only the last (oldest) page may be short.
					if len(page) > size || (len(page) < size && len(backward)+len(page) != len(want)) {
						t.Fatalf("page %d has %d messages, page size %d", i, len(page), size)
					}
					backward = append(records(page), backward...)
					before = page[0].Seq
				}
				if !reflect.DeepEqual(backward, want) {
					t.Fatalf("backward walk: got %d messages, want %d", len(backward), len(want))
				}

				var forward []natter.Message
				var after uint64
				for {
					page, err := s.Page(ctx, room, Query{After: after, Limit: limit})
					if err != nil {
						t.Fatal(err)
					}
					if len(page) == 0 {
						break
					}
					forward = append(forward, records(page)...)
					after = page[len(page)-1].Seq
				}
				if !reflect.DeepEqual(forward, want) {
					t.Fatalf("forward walk: got %d messages, want %d", len(forward), len(want))
				}
			})
		}
	}
}

func TestPageFromMiddle(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	byRoom := stream("e1", 60, "a", "b")
	appendAll(t, s, byRoom)
	a := byRoom["a"] // seqs 1 2 4 5 7 8 ...

	// Before a seq that belongs to another room (3, 6, ...) still pages a.
	got, err := s.Page(ctx, "a", Query{Before: 9, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint64{5, 7, 8}; !reflect.DeepEqual(seqs(records(got)), want) {
		t.Errorf("before 9: seqs %v, want %v", seqs(records(got)), want)
	}
	got, err = s.Page(ctx, "a", Query{After: 6, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint64{7, 8, 10}; !reflect.DeepEqual(seqs(records(got)), want) {
		t.Errorf("after 6: seqs %v, want %v", seqs(records(got)), want)
	}
	// Past the end and before the start are empty, not errors.
	for _, q := range []Query{{After: a[len(a)-1].Seq}, {Before: 1}, {After: math.MaxUint64}} {
		got, err := s.Page(ctx, "a", q)
		if err != nil || len(got) != 0 {
			t.Errorf("Page(%+v) = %v, %v; want empty", q, seqs(records(got)), err)
		}
	}
}

// records returns the records of a page's messages.
func records(msgs []Message) []natter.Message {
	out := make([]natter.Message, len(msgs))
	for i, m := range msgs {
		out[i] = m.Message
	}
	return out
}

func seqs(msgs []natter.Message) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

func TestPageLimit(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	byRoom := stream("e1", 500, "a", "b")
	appendAll(t, s, byRoom)

	for _, tc := range []struct{ limit, want int }{
		{0, DefaultPageSize},
		{-5, 1},
		{1, 1},
		{30, 30},
		{MaxPageSize, MaxPageSize},
		{MaxPageSize + 1, MaxPageSize},
		{1 << 30, MaxPageSize},
	} {
		for _, q := range []Query{{Limit: tc.limit}, {Before: math.MaxUint64, Limit: tc.limit}} {
			got, err := s.Page(ctx, "a", q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Errorf("Page(%+v) returned %d messages, want %d", q, len(got), tc.want)
			}
		}
	}
}

func TestPageRejects(t *testing.T) {
	s, _ := openStore(t)
	for name, tc := range map[string]struct {
		room natter.RoomID
		q    Query
	}{
		"before and after": {"a", Query{Before: 10, After: 2}},
		"bad room":         {"a>", Query{}},
		"empty room":       {"", Query{}},
	} {
		if _, err := s.Page(context.Background(), tc.room, tc.q); natter.ErrorCode(err) != natter.EINVALID {
			t.Errorf("%s: err = %v, want %s", name, err, natter.EINVALID)
		}
	}
}

func TestSetEpoch(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)

	if e, err := s.Epoch(ctx); err != nil || e != "" {
		t.Fatalf("fresh Epoch() = %q, %v; want empty", e, err)
	}
	if err := s.SetEpoch(ctx, ""); natter.ErrorCode(err) != natter.EINVALID {
		t.Fatalf("SetEpoch(\"\") = %v, want %s", err, natter.EINVALID)
	}
	if err := s.SetEpoch(ctx, "e1"); err != nil {
		t.Fatal(err)
	}
	old := stream("e1", 40, "a", "b")
	appendAll(t, s, old)

	// Same epoch: nothing happens.
	if err := s.SetEpoch(ctx, "e1"); err != nil {
		t.Fatal(err)
	}
	if got := all(t, s, "a"); !reflect.DeepEqual(got, old["a"]) {
		t.Fatalf("same epoch dropped messages: %d left of %d", len(got), len(old["a"]))
	}

	// New epoch: every old row goes, the new stream's seqs start again.
	if err := s.SetEpoch(ctx, "e2"); err != nil {
		t.Fatal(err)
	}
	for _, room := range []natter.RoomID{"a", "b"} {
		if got := all(t, s, room); len(got) != 0 {
			t.Fatalf("room %s kept %d messages across epochs", room, len(got))
		}
		if last, _ := s.Last(ctx, room); last != 0 {
			t.Fatalf("room %s Last = %d after epoch change", room, last)
		}
	}
	fresh := stream("e2", 10, "a", "b")
	appendAll(t, s, fresh)
	if got := all(t, s, "a"); !reflect.DeepEqual(got, fresh["a"]) {
		t.Fatalf("new epoch messages: got %+v, want %+v", got, fresh["a"])
	}

	// The epoch survives a restart.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if e, err := s2.Epoch(ctx); err != nil || e != "e2" {
		t.Fatalf("Epoch() after reopen = %q, %v; want e2", e, err)
	}
	if got := all(t, s2, "a"); !reflect.DeepEqual(got, fresh["a"]) {
		t.Fatalf("messages after reopen: got %d, want %d", len(got), len(fresh["a"]))
	}
}

func TestLastAndCountAfter(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	byRoom := stream("e1", 90, "a", "b", "c")
	appendAll(t, s, byRoom)
	a := byRoom["a"]

	last, err := s.Last(ctx, "a")
	if err != nil || last != a[len(a)-1].Seq {
		t.Fatalf("Last(a) = %d, %v; want %d", last, err, a[len(a)-1].Seq)
	}
	if last, err := s.Last(ctx, "nobody"); err != nil || last != 0 {
		t.Fatalf("Last(empty room) = %d, %v; want 0", last, err)
	}

	for _, tc := range []struct {
		room natter.RoomID
		seq  uint64
		want int
	}{
		{"a", 0, len(a)},
		{"a", a[0].Seq, len(a) - 1},
		{"a", a[10].Seq, len(a) - 11},
		{"a", 3, len(a) - 2}, // seq 3 is another room's: a has 1, 2 before it
		{"a", a[len(a)-1].Seq, 0},
		{"a", math.MaxUint64, 0},
		{"b", 0, len(byRoom["b"])},
		{"nobody", 0, 0},
	} {
		got, err := s.CountAfter(ctx, tc.room, tc.seq)
		if err != nil || got != tc.want {
			t.Errorf("CountAfter(%s, %d) = %d, %v; want %d", tc.room, tc.seq, got, err, tc.want)
		}
	}
}

// LastSeq is the highest seq over all rooms, whichever room holds it.
func TestLastSeq(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if got, err := s.LastSeq(ctx); err != nil || got != 0 {
		t.Fatalf("LastSeq(empty) = %d, %v; want 0", got, err)
	}
	appendAll(t, s, stream("e1", 90, "a", "b", "c")) // 90 is in b
	if got, err := s.LastSeq(ctx); err != nil || got != 90 {
		t.Fatalf("LastSeq = %d, %v; want 90", got, err)
	}
	// A room sorting before the others holding the newest message.
	if err := s.Append(ctx, []natter.Message{{Room: "0", Seq: 1000, Epoch: "e1"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LastSeq(ctx); err != nil || got != 1000 {
		t.Fatalf("LastSeq = %d, %v; want 1000", got, err)
	}
}

// TestConcurrentReadersDuringWrites checks that readers never fail or see a
// torn or shrinking archive while the writer appends.
func TestConcurrentReadersDuringWrites(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	want := stream("e1", 600, "a", "b")

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := 0; i < 600; i += 6 {
			batch := []natter.Message{}
			for _, room := range []natter.RoomID{"a", "b"} {
				for _, m := range want[room] {
					if m.Seq > uint64(i) && m.Seq <= uint64(i+6) {
						batch = append(batch, m)
					}
				}
			}
			if err := s.Append(ctx, batch); err != nil {
				t.Errorf("append: %v", err)
				return
			}
		}
	})
	for range 6 {
		wg.Go(func() {
			var prevLast uint64
			for reads := 0; ; reads++ {
				select {
				case <-done:
					if reads == 0 {
						t.Error("reader never ran")
					}
					return
				default:
				}
				last, err := s.Last(ctx, "a")
				if err != nil {
					t.Errorf("last: %v", err)
					return
				}
				if last < prevLast {
					t.Errorf("Last went backwards: %d after %d", last, prevLast)
					return
				}
				prevLast = last
				page, err := s.Page(ctx, "a", Query{Before: math.MaxUint64, Limit: 20})
				if err != nil {
					t.Errorf("page: %v", err)
					return
				}
				for i := 1; i < len(page); i++ {
					if page[i].Prev != page[i-1].Seq {
						t.Errorf("page has a gap: %d after %d (prev %d)", page[i].Seq, page[i-1].Seq, page[i].Prev)
						return
					}
				}
				if len(page) > 0 && page[len(page)-1].Seq < last {
					t.Errorf("page ends at %d, below Last %d read before it", page[len(page)-1].Seq, last)
					return
				}
			}
		})
	}
	wg.Wait()

	for _, room := range []natter.RoomID{"a", "b"} {
		if got := all(t, s, room); !reflect.DeepEqual(got, want[room]) {
			t.Fatalf("room %s: %d messages archived, want %d", room, len(got), len(want[room]))
		}
	}
}

func TestOpenRejectsQueryPath(t *testing.T) {
	for _, p := range []string{"", filepath.Join(t.TempDir(), "x.db?mode=memory")} {
		if s, err := Open(p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// One's own messages never count as unread.
func TestUnreadExcludesOwnMessages(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	msgs := []natter.Message{
		{Room: "r", Seq: 1, From: "alice", Text: "a", Epoch: "e"},
		{Room: "r", Seq: 2, From: "bob", Text: "b", Epoch: "e"},
		{Room: "r", Seq: 3, From: "alice", Text: "c", Epoch: "e"},
		{Room: "r", Seq: 4, From: "carol", Text: "d", Epoch: "e"},
	}
	if err := s.Append(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user natter.UserID
		read uint64
		want int
	}{{"alice", 0, 2}, {"bob", 0, 3}, {"alice", 2, 1}, {"dave", 0, 4}, {"carol", 4, 0}} {
		if got, err := s.Unread(ctx, "r", tc.read, tc.user); err != nil || got != tc.want {
			t.Errorf("Unread(%s after %d) = %d, %v; want %d", tc.user, tc.read, got, err, tc.want)
		}
	}
}

// The archive and its WAL files are the owner's only (0600), whatever the
// umask and the data dir's mode, and an older archive is tightened.
func TestDatabaseFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "history.db")
	check := func() {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("%s has mode %o, want 600", filepath.Base(p), mode)
			}
		}
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(context.Background(), []natter.Message{{Room: "a", Seq: 1}}); err != nil {
		t.Fatal(err)
	}
	check()
	s.Close()

	// An archive an older version left world-readable.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check()
}
