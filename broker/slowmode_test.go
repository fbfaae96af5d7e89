package broker

import (
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

// Of many edges claiming one user's slot at once, exactly one wins; the
// others are told how long to wait, and the slot frees after the interval.
func TestClaimSlowSend(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	now := time.Now()
	const every = time.Minute
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait, err := b.ClaimSlowSend(ctx, "town", "carol", now, every)
			if err != nil {
				t.Error(err)
				return
			}
			if wait == 0 {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if wait > every {
				t.Errorf("wait %v, more than the interval", wait)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d claims won, want 1", wins)
	}
	if wait, err := b.ClaimSlowSend(ctx, "town", "carol", now.Add(every/2), every); err != nil || wait != every/2 {
		t.Errorf("claim half an interval later = %v, %v; want %v", wait, err, every/2)
	}
	if wait, err := b.ClaimSlowSend(ctx, "town", "carol", now.Add(every), every); err != nil || wait != 0 {
		t.Errorf("claim an interval later = %v, %v; want 0", wait, err)
	}
	if wait, err := b.ClaimSlowSend(ctx, "town", "dave", now, every); err != nil || wait != 0 {
		t.Errorf("another user's claim = %v, %v; want 0", wait, err)
	}
}

// Turning slow mode off drops the room's slots.
func TestSlowModeOffForgetsSlots(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	if _, _, err := b.CreateRoom(ctx, natter.Room{ID: "town", Kind: natter.Public, Owner: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ClaimSlowSend(ctx, "town", "carol", time.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Moderate(ctx, natter.ModAction{Action: natter.ActSlowMode, Room: "town", By: "alice"}); err != nil {
		t.Fatal(err)
	}
	if keys, err := b.listKeys(ctx, "slowsend.town."); err != nil || len(keys) != 0 {
		t.Errorf("slots after slow mode off: %v, %v", keys, err)
	}
	if wait, err := b.ClaimSlowSend(ctx, "town", "carol", time.Now(), time.Minute); err != nil || wait != 0 {
		t.Errorf("claim after slow mode off and on = %v, %v; want 0", wait, err)
	}
}
