package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// accountsBucket holds the built-in accounts, one key per user:
//
//	<lowercased user id> -> Account (JSON)
//
// The key is lowercased so that "Alice" and "alice" cannot both be
// registered: two names that look the same in a member list must not be two
// people. The Account keeps the user id as registered.
const accountsBucket = "natter-accounts"

// Account is a built-in account: a user id and its password hash. The hash
// is opaque here (package account makes and checks it).
type Account struct {
	User    natter.UserID `json:"user"`
	Hash    []byte        `json:"hash"` // empty for an account made by an OpenID login
	Created time.Time     `json:"created"`
	// OIDC is "<issuer> <subject>" for an account made by an OpenID
	// login: the identity that owns the user id (empty: none).
	OIDC string `json:"oidc,omitempty"`
}

// Accounts stores built-in accounts in the natter-accounts bucket. The
// bucket is created on first use, so deployments that never enable accounts
// never have it. It is safe for concurrent use.
type Accounts struct {
	b  *Broker
	mu sync.Mutex
	kv jetstream.KeyValue
}

// Accounts returns b's account store.
func (b *Broker) Accounts() *Accounts { return &Accounts{b: b} }

func accountKey(u natter.UserID) string { return strings.ToLower(string(u)) }

// bucket returns the bucket, creating it if needed. A failure is not
// remembered: the next call tries again.
func (a *Accounts) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.kv != nil {
		return a.kv, nil
	}
	kv, err := a.b.createBucket(ctx, accountsBucket, "built-in user accounts and password hashes")
	if err != nil {
		return nil, unavailable("accounts", err)
	}
	a.kv = kv
	return kv, nil
}

// Create stores acc unless an account with the same user id, compared
// case-insensitively, exists: that is an ECONFLICT error. Creation is atomic
// (KV create), so two registrations racing for one name cannot both win.
func (a *Accounts) Create(ctx context.Context, acc Account) error {
	if err := acc.User.Validate(); err != nil {
		return err
	}
	kv, err := a.bucket(ctx)
	if err != nil {
		return err
	}
	data, err := json.Marshal(acc)
	if err != nil {
		return fmt.Errorf("broker: account %s: %w", acc.User, err)
	}
	_, err = kv.Create(ctx, accountKey(acc.User), data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return natter.Errorf(natter.ECONFLICT, "username %s is taken", acc.User)
	}
	if err != nil {
		return unavailable("create account", err)
	}
	return nil
}

// Get returns the account of user (compared case-insensitively), or an
// ENOTFOUND error.
func (a *Accounts) Get(ctx context.Context, user natter.UserID) (Account, error) {
	if err := user.Validate(); err != nil {
		return Account{}, natter.Errorf(natter.ENOTFOUND, "no such account")
	}
	kv, err := a.bucket(ctx)
	if err != nil {
		return Account{}, err
	}
	e, err := kv.Get(ctx, accountKey(user))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Account{}, natter.Errorf(natter.ENOTFOUND, "no such account")
	}
	if err != nil {
		return Account{}, unavailable("get account", err)
	}
	var acc Account
	if err := json.Unmarshal(e.Value(), &acc); err != nil {
		return Account{}, fmt.Errorf("broker: account %s: %w", user, err)
	}
	return acc, nil
}

// SetPassword replaces the password hash of user's account, if the account
// still has the hash old: two password changes racing cannot both win, and
// neither can undo a change made meanwhile (ECONFLICT). The account must
// exist (ENOTFOUND).
func (a *Accounts) SetPassword(ctx context.Context, user natter.UserID, old, hash []byte) error {
	if err := user.Validate(); err != nil {
		return natter.Errorf(natter.ENOTFOUND, "no such account")
	}
	kv, err := a.bucket(ctx)
	if err != nil {
		return err
	}
	e, err := kv.Get(ctx, accountKey(user))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return natter.Errorf(natter.ENOTFOUND, "no such account")
	}
	if err != nil {
		return unavailable("get account", err)
	}
	var acc Account
	if err := json.Unmarshal(e.Value(), &acc); err != nil {
		return fmt.Errorf("broker: account %s: %w", user, err)
	}
	if string(acc.Hash) != string(old) {
		return natter.Errorf(natter.ECONFLICT, "the password was changed meanwhile")
	}
	acc.Hash = hash
	data, err := json.Marshal(acc)
	if err != nil {
		return fmt.Errorf("broker: account %s: %w", user, err)
	}
	_, err = kv.Update(ctx, accountKey(user), data, e.Revision())
	if errors.Is(err, jetstream.ErrKeyExists) {
		return natter.Errorf(natter.ECONFLICT, "the password was changed meanwhile")
	}
	if err != nil {
		return unavailable("update account", err)
	}
	return nil
}
