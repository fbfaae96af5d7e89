package edge

import (
	"fmt"
	"strings"
	"testing"

	"github.com/natter-chat/natter"
)

func TestMentions(t *testing.T) {
	many := ""
	for i := 0; i < natter.MaxMentions+5; i++ {
		many += fmt.Sprintf("@u%d ", i)
	}
	cases := []struct {
		text   string
		roomOK bool
		want   string
	}{
		{"hi @bob", false, "[bob]"},
		{"@alice and @bob, @alice again", false, "[alice bob]"},
		{"mail bob@example.com", false, "[]"},
		{"(@carol) @dave. @erin-x!", false, "[carol dave erin-x]"},
		{"@bobé @日本 @", false, "[]"},
		{"é@bob", false, "[]"},
		{"x_@bob", false, "[]"},
		{"—@bob", false, "[bob]"},
		{"@@bob", false, "[bob]"},
		{"@room hello", false, "[]"},
		{"@room hello @bob", true, "[@room bob]"},
		{"@" + strings.Repeat("a", 65), false, "[]"},
		{"@" + strings.Repeat("a", 64), false, "[" + strings.Repeat("a", 64) + "]"},
		{many, false, "first"},
	}
	for _, tc := range cases {
		got := mentions(tc.text, tc.roomOK)
		if tc.want == "first" {
			if len(got) != natter.MaxMentions || got[0] != "u0" {
				t.Errorf("%d mentions kept of %d, first %q", len(got), natter.MaxMentions+5, got[0])
			}
			continue
		}
		if s := fmt.Sprint(got); s != tc.want {
			t.Errorf("mentions(%q, %v) = %s, want %s", tc.text, tc.roomOK, s, tc.want)
		}
	}
}

// FuzzMentions: for any text, every mention is a valid user id (or @room,
// only when allowed) that the text holds after an '@', none twice, at
// most MaxMentions.
func FuzzMentions(f *testing.F) {
	for _, s := range []string{"hi @bob", "@room @a @b", "a@b @c-d_e! @\xff@x", "@" + strings.Repeat("z", 70)} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, roomOK bool) {
		got := mentions(text, roomOK)
		if len(got) > natter.MaxMentions {
			t.Fatalf("%d mentions", len(got))
		}
		seen := map[natter.UserID]bool{}
		for _, u := range got {
			if seen[u] {
				t.Fatalf("%q twice", u)
			}
			seen[u] = true
			if u == natter.RoomMention {
				if !roomOK || !strings.Contains(text, "@room") {
					t.Fatalf("@room from %q (allowed %v)", text, roomOK)
				}
				continue
			}
			if !safeID(string(u)) || !strings.Contains(text, "@"+string(u)) {
				t.Fatalf("mention %q from %q", u, text)
			}
		}
	})
}
