package broker

import (
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

func TestAccounts(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	acc := b.Accounts()

	// Nothing is created until an account is used.
	if _, err := b.js.KeyValue(ctx, accountsBucket); err == nil {
		t.Fatalf("bucket %s exists before first use", accountsBucket)
	}
	if _, err := acc.Get(ctx, "alice"); natter.ErrorCode(err) != natter.ENOTFOUND {
		t.Fatalf("Get before Create: %v, want %s", err, natter.ENOTFOUND)
	}

	alice := Account{User: "Alice", Hash: []byte("h1"), Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := acc.Create(ctx, alice); err != nil {
		t.Fatalf("Create: %v", err)
	}
	for _, name := range []natter.UserID{"Alice", "alice", "ALICE"} {
		got, err := acc.Get(ctx, name)
		if err != nil || got.User != "Alice" || string(got.Hash) != "h1" || !got.Created.Equal(alice.Created) {
			t.Errorf("Get(%s) = %+v, %v; want %+v", name, got, err, alice)
		}
	}
	// Taken, whatever the case; the first account is untouched.
	for _, name := range []natter.UserID{"Alice", "alice"} {
		if err := acc.Create(ctx, Account{User: name, Hash: []byte("h2")}); natter.ErrorCode(err) != natter.ECONFLICT {
			t.Errorf("Create(%s) again: %v, want %s", name, err, natter.ECONFLICT)
		}
	}
	if got, _ := acc.Get(ctx, "alice"); string(got.Hash) != "h1" {
		t.Errorf("hash after conflicting creates = %q, want h1", got.Hash)
	}
	// A second store on the same broker (another request, another node)
	// finds the same bucket.
	if got, err := b.Accounts().Get(ctx, "alice"); err != nil || got.User != "Alice" {
		t.Errorf("Get through a new store = %+v, %v", got, err)
	}
	// Malformed ids are refused before reaching KV (they would be KV key
	// syntax otherwise).
	if err := acc.Create(ctx, Account{User: "a.b", Hash: []byte("x")}); natter.ErrorCode(err) != natter.EINVALID {
		t.Errorf("Create(a.b): %v, want %s", err, natter.EINVALID)
	}
	if _, err := acc.Get(ctx, "a.*"); natter.ErrorCode(err) != natter.ENOTFOUND {
		t.Errorf("Get(a.*): %v, want %s", err, natter.ENOTFOUND)
	}
}

// Registrations racing for one name: exactly one wins.
func TestAccountsCreateRace(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			// Each racer has its own store, as separate nodes would.
			errs[i] = b.Accounts().Create(ctx, Account{User: natter.UserID([]string{"bob", "Bob"}[i%2]), Hash: []byte{byte(i)}})
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch natter.ErrorCode(err) {
		case "":
			won++
		case natter.ECONFLICT:
		default:
			t.Errorf("racer %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d registrations won, want 1", won)
	}
}

func TestAccountsSetPassword(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	acc := b.Accounts()
	if err := acc.SetPassword(ctx, "nobody", nil, []byte("h")); natter.ErrorCode(err) != natter.ENOTFOUND {
		t.Fatalf("SetPassword of a missing account: %v", err)
	}
	if err := acc.Create(ctx, Account{User: "Alice", Hash: []byte("h1")}); err != nil {
		t.Fatal(err)
	}
	if err := acc.SetPassword(ctx, "alice", []byte("h1"), []byte("h2")); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	// A change based on the old hash (a racing change) loses.
	if err := acc.SetPassword(ctx, "alice", []byte("h1"), []byte("h3")); natter.ErrorCode(err) != natter.ECONFLICT {
		t.Errorf("SetPassword from a stale hash: %v; want conflict", err)
	}
	if got, _ := acc.Get(ctx, "Alice"); string(got.Hash) != "h2" || got.User != "Alice" {
		t.Errorf("account after change = %+v; want hash h2, user Alice", got)
	}
}
