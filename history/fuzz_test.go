package history

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/natter-chat/natter"
)

// FuzzQuery parses arbitrary query strings as the history API does (the
// messages page and the public room listing) and runs every page query it
// accepts against a real archive. It must never panic, refuse only with
// invalid, and every page must be what the query asked for: in order, on
// the right side of its cursor, within the limit, with has_more true
// exactly when more is there.
func FuzzQuery(f *testing.F) {
	s, err := Open(filepath.Join(f.TempDir(), "history.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	byRoom := stream("e1", 40, "lobby", "other")
	var all []natter.Message
	for _, msgs := range byRoom {
		all = append(all, msgs...)
	}
	if err := s.Append(context.Background(), all); err != nil {
		f.Fatal(err)
	}
	lobby := byRoom["lobby"]

	f.Add("after=0&limit=200")
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw) // net/http's r.URL.Query() ignores errors too
		if n, err := publicRoomsLimit(v); err != nil {
			wantInvalid(t, err)
		} else if n < 1 || n > maxPublicRooms {
			t.Fatalf("public rooms limit %d", n)
		}
		q, err := pageQuery(v)
		if err != nil {
			wantInvalid(t, err)
			return
		}
		if q.Limit < 1 || q.Limit > MaxPageSize || (q.Before > 0 && q.After > 0) {
			t.Fatalf("query %+v", q)
		}
		msgs, more, err := s.page(context.Background(), "lobby", 0, q)
		if err != nil {
			t.Fatalf("page %+v: %v", q, err)
		}
		// The reference: the stored messages on the query's side of its
		// cursor, the nearest Limit of them.
		var side []natter.Message
		for _, m := range lobby {
			if (q.Before > 0 && m.Seq < q.Before) || (q.Before == 0 && m.Seq > q.After) {
				side = append(side, m)
			}
		}
		want, wantMore := side, false
		if len(side) > q.Limit {
			wantMore = true
			if q.Before > 0 {
				want = side[len(side)-q.Limit:]
			} else {
				want = side[:q.Limit]
			}
		}
		if !equalMessages(records(msgs), want) || more != wantMore {
			t.Fatalf("page %+v = %d messages (more %v), want %d (more %v)", q, len(msgs), more, len(want), wantMore)
		}
	})
}

func wantInvalid(t *testing.T, err error) {
	t.Helper()
	if natter.ErrorCode(err) != natter.EINVALID {
		t.Fatalf("error %v is not invalid", err)
	}
}
