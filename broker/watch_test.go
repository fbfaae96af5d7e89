package broker

import (
	"context"
	"sync"
	"testing"

	"github.com/natter-chat/natter"
)

// A watch hands over the current keys first (with initial), then every
// change in order, and Wait returns once a given revision is applied.
func TestWatchDir(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	if _, err := b.dir.PutString(ctx, muteKey("town", "carol"), "{}"); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen []DirChange
	)
	record := func(ch DirChange) {
		mu.Lock()
		seen = append(seen, ch)
		mu.Unlock()
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mods, err := b.WatchDir(wctx, []string{"mute", "slow"}, true, record, nil)
	if err != nil {
		t.Fatal(err)
	}
	members, err := b.WatchDir(wctx, []string{"member"}, false, record, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-mods.Ready()
	<-members.Ready() // an updates-only watch misses what precedes it
	if _, err := b.PutMember(ctx, "town", "bob"); err != nil {
		t.Fatal(err)
	}
	rev, err := b.DeleteMember(ctx, "town", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := members.Wait(ctx, rev); err != nil {
		t.Fatal(err)
	}
	slow, err := b.dir.PutString(ctx, slowKey("town"), "30")
	if err != nil {
		t.Fatal(err)
	}
	if err := mods.Wait(ctx, slow); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []DirChange{
		{Kind: "mute", Room: "town", User: "carol"},
		{Kind: "member", Room: "town", User: "bob"},
		{Kind: "member", Room: "town", User: "bob", Deleted: true, Rev: rev},
		{Kind: "slow", Room: "town", Value: []byte("30"), Rev: slow},
	}
	if len(seen) != len(want) {
		t.Fatalf("seen %+v, want %+v", seen, want)
	}
	for i, w := range want {
		g := seen[i]
		if g.Kind != w.Kind || g.Room != w.Room || g.User != w.User || g.Deleted != w.Deleted || (w.Rev != 0 && g.Rev != w.Rev) ||
			(w.Value != nil && string(g.Value) != string(w.Value)) {
			t.Errorf("change %d = %+v, want %+v", i, g, w)
		}
	}
	// Waiting for a revision not yet written ends with the context.
	short, stop := context.WithCancel(ctx)
	stop()
	if err := mods.Wait(short, slow+100); natter.ErrorCode(err) != natter.EUNAVAILABLE {
		t.Errorf("Wait for a future revision = %v, want unavailable", err)
	}
}
