package broker

import (
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/natter-chat/natter"
)

// An edge hears every other edge's send reports but not its own, and a
// malformed report or entry is dropped rather than charged: a bad user id,
// a count that is not positive, a count past the cap (cut to the cap).
func TestSendReports(t *testing.T) {
	b := start(t)
	type heard struct {
		edge  string
		sends map[natter.UserID]int
	}
	var mu sync.Mutex
	logs := map[string][]heard{}
	for _, self := range []string{"a", "b"} {
		stop, err := b.FollowSends(self, func(edge string, sends map[natter.UserID]int) {
			mu.Lock()
			logs[self] = append(logs[self], heard{edge, sends})
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
	}
	if err := b.PublishSends("a", map[natter.UserID]int{"alice": 3}); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{
		"not json",
		`{"sends":{"bad.user":1,"bob":-2}}`,
		fmt.Sprintf(`{"sends":{"bad.user":1,"bob":0,"carol":%d,"dave":2}}`, maxSendCount+1),
	} {
		if err := b.nc.Publish(rateSubject("x"), []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	// One connection delivers in order: once a hears x's report, it would
	// have heard its own before it.
	waitFor(t, "reports", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(logs["a"]) >= 1 && len(logs["b"]) >= 2
	})
	fromX := heard{"x", map[natter.UserID]int{"carol": maxSendCount, "dave": 2}}
	want := map[string][]heard{"a": {fromX}, "b": {{"a", map[natter.UserID]int{"alice": 3}}, fromX}}
	mu.Lock()
	defer mu.Unlock()
	for self, w := range want {
		got := logs[self]
		if len(got) != len(w) {
			t.Fatalf("%s heard %v, want %v", self, got, w)
		}
		for i := range w {
			if got[i].edge != w[i].edge || !maps.Equal(got[i].sends, w[i].sends) {
				t.Errorf("%s heard %v, want %v", self, got, w)
			}
		}
	}
}
