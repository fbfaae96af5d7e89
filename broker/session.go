package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
)

// sessionsBucket holds revoked sessions, so that every edge and every HTTP
// API refuses them:
//
//	user.<user id>  -> {"before": unix seconds, "keep": sid}: every token
//	                   of user issued at or before "before" is revoked,
//	                   except those of session "keep" (the one that
//	                   changed the password). Log out everywhere, password
//	                   change.
//	sid.<hash>      -> {"user": user id}: every token of one session (a
//	                   login and its refreshes) is revoked. Log out.
//
// The hash is of user and sid, so that any sid an external issuer sends is
// a valid key and two issuers' sids cannot collide. The bucket's TTL is the
// longest token lifetime the server accepts: by then every token an entry
// revokes has expired, so the bucket never grows without bound.
const sessionsBucket = "natter-sessions"

// ErrSessionEnded is the answer to a revoked token.
var errSessionEnded = natter.Errorf(natter.EUNAUTHORIZED, "session ended; log in again")

type userRevocation struct {
	Before int64  `json:"before"`
	Keep   string `json:"keep,omitempty"`
}

type sessionRevocation struct {
	User natter.UserID `json:"user"`
}

// Sessions is the revocation list: it writes revocations to the
// natter-sessions bucket and keeps an in-memory view of the bucket, fed by
// one KV watcher, that every token check reads. It is safe for concurrent
// use.
type Sessions struct {
	b      *Broker
	kv     jetstream.KeyValue
	ttl    time.Duration
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.RWMutex
	users   map[natter.UserID]userRevocation
	sids    map[string]time.Time // key -> when revoked
	rev     uint64               // the last bucket revision applied
	applied chan struct{}        // closed (and replaced) at every change
	listen  map[int]func(natter.UserID)
	nextID  int
}

// OpenSessions creates the natter-sessions bucket if needed (entries live
// ttl, the longest token lifetime accepted), loads every revocation in it
// and follows the bucket until Close. It returns once the view holds the
// whole bucket: a node must not accept a token revoked before it started.
func (b *Broker) OpenSessions(ctx context.Context, ttl time.Duration) (*Sessions, error) {
	kv, err := b.createBucketWith(ctx, jetstream.KeyValueConfig{
		Bucket: sessionsBucket, Description: "revoked sessions (logout, log out everywhere, password change)", TTL: ttl,
	})
	if err != nil {
		return nil, unavailable("sessions", err)
	}
	// The bucket keeps the TTL it was created with; one shorter than the
	// tokens' lifetime would forget revocations of tokens still valid.
	if st, err := kv.Status(ctx); err == nil && st.TTL() > 0 && st.TTL() < ttl {
		b.log.Warn("sessions bucket keeps revocations shorter than tokens may live; raise its max age (nats stream edit KV_natter-sessions --max-age)",
			"bucket", sessionsBucket, "ttl", st.TTL(), "token_max_lifetime", ttl)
	}
	wctx, cancel := context.WithCancel(context.Background())
	w, err := kv.WatchAll(wctx)
	if err != nil {
		cancel()
		return nil, unavailable("watch sessions", err)
	}
	s := &Sessions{
		b: b, kv: kv, ttl: ttl, cancel: cancel, done: make(chan struct{}),
		users: map[natter.UserID]userRevocation{}, sids: map[string]time.Time{},
		applied: make(chan struct{}), listen: map[int]func(natter.UserID){},
	}
	loaded := make(chan struct{})
	go s.follow(wctx, w, loaded)
	select {
	case <-loaded:
		return s, nil
	case <-ctx.Done():
		s.Close()
		return nil, unavailable("load sessions", ctx.Err())
	}
}

// Close stops following the bucket.
func (s *Sessions) Close() {
	s.cancel()
	<-s.done
}

// follow applies the bucket's entries as they come; the nil entry marks the
// end of what the bucket held when the watch began. A watch that ends
// while the view is still wanted (its consumer was lost: the connection
// closed and came back, or the embedded JetStream restarted after a store
// fault) is started again from the whole bucket, or revocations made from
// then on would be accepted here. Re-applying what the view already has
// is harmless; a revocation an operator deleted meanwhile stays in the
// view until its TTL (the safe side).
func (s *Sessions) follow(ctx context.Context, w jetstream.KeyWatcher, loaded chan struct{}) {
	defer close(s.done)
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	var once sync.Once
	for {
		stopOnRestart := s.b.afterStoreRestart(func() { _ = w.Stop() })
		s.consume(ctx, w, prune.C, func() { once.Do(func() { close(loaded) }) })
		stopOnRestart()
		_ = w.Stop()
		for {
			if ctx.Err() != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(watchRetry):
			}
			var err error
			if w, err = s.kv.WatchAll(ctx); err == nil {
				break
			}
			s.b.log.Warn("sessions watch not restarted", "err", err)
		}
		s.b.log.Info("sessions watch restarted")
	}
}

// consume applies w's entries until w or ctx ends; caughtUp is called at
// the nil entry.
func (s *Sessions) consume(ctx context.Context, w jetstream.KeyWatcher, prune <-chan time.Time, caughtUp func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				caughtUp()
				continue
			}
			s.mu.RLock()
			seen := e.Revision() <= s.rev
			s.mu.RUnlock()
			if user, ok := s.apply(e); ok && !seen {
				s.notify(user)
			}
		case now := <-prune:
			s.prune(now)
		}
	}
}

// apply records one bucket entry and reports whose sessions it revokes.
func (s *Sessions) apply(e jetstream.KeyValueEntry) (natter.UserID, bool) {
	s.mu.Lock()
	defer func() {
		s.rev = max(s.rev, e.Revision())
		close(s.applied)
		s.applied = make(chan struct{})
		s.mu.Unlock()
	}()
	put := e.Operation() == jetstream.KeyValuePut
	switch kind, rest, _ := strings.Cut(e.Key(), "."); kind {
	case "user":
		user := natter.UserID(rest)
		var r userRevocation
		if !put || json.Unmarshal(e.Value(), &r) != nil {
			// Deleted by an operator (or unreadable): nothing revoked.
			delete(s.users, user)
			return "", false
		}
		s.users[user] = r
		return user, true
	case "sid":
		var r sessionRevocation
		if !put || json.Unmarshal(e.Value(), &r) != nil {
			delete(s.sids, rest)
			return "", false
		}
		s.sids[rest] = e.Created()
		return r.User, true
	}
	return "", false
}

// prune drops entries the bucket's TTL has removed (expiry leaves no
// marker for the watcher to see): the tokens they revoked have expired.
func (s *Sessions) prune(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for u, r := range s.users {
		if now.Sub(time.Unix(r.Before, 0)) > s.ttl {
			delete(s.users, u)
		}
	}
	for k, at := range s.sids {
		if now.Sub(at) > s.ttl {
			delete(s.sids, k)
		}
	}
}

// OnRevoke calls fn(user) from the watcher whenever sessions of user are
// revoked (on this node or any other), until the returned stop is called.
// An edge uses it to close the connections that are revoked now.
func (s *Sessions) OnRevoke(fn func(natter.UserID)) (stop func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID
	s.nextID++
	s.listen[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.listen, id)
	}
}

func (s *Sessions) notify(user natter.UserID) {
	s.mu.RLock()
	fns := make([]func(natter.UserID), 0, len(s.listen))
	for _, fn := range s.listen {
		fns = append(fns, fn)
	}
	s.mu.RUnlock()
	for _, fn := range fns {
		fn(user)
	}
}

// Check returns an EUNAUTHORIZED error if c belongs to a revoked session.
// It reads only the in-memory view: cheap enough for every request and
// every sweep of open connections. A token without iat counts as issued
// before any user-wide revocation (it cannot prove otherwise).
func (s *Sessions) Check(c natter.Claims) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r, ok := s.users[c.User]; ok && (c.Session == "" || c.Session != r.Keep) && (c.IssuedAt.IsZero() || c.IssuedAt.Unix() <= r.Before) {
		return errSessionEnded
	}
	if c.Session != "" {
		if _, ok := s.sids[sessionKey(c.User, c.Session)]; ok {
			return errSessionEnded
		}
	}
	return nil
}

// RevokedThrough is the second through which user's tokens are revoked by
// the latest user-wide revocation (0 if none). A login must issue its
// token after that second, or the new token would be born revoked.
func (s *Sessions) RevokedThrough(user natter.UserID) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.users[user].Before
}

// RevokeSession revokes every token of user's session sid (log out). It
// returns once this node's view has it: the next request here is refused.
func (s *Sessions) RevokeSession(ctx context.Context, user natter.UserID, sid string) error {
	if sid == "" {
		return natter.Errorf(natter.EINVALID, "this token has no session id; log out everywhere instead")
	}
	return s.put(ctx, "sid."+sessionKey(user, sid), sessionRevocation{User: user})
}

// RevokeUser revokes every token of user issued at or before the second
// of now, except those of session keep (empty: none kept). Log out
// everywhere; a password change keeps the session that made it. It returns
// once this node's view has it.
func (s *Sessions) RevokeUser(ctx context.Context, user natter.UserID, now time.Time, keep string) error {
	if err := user.Validate(); err != nil {
		return err
	}
	return s.put(ctx, "user."+string(user), userRevocation{Before: now.Unix(), Keep: keep})
}

func (s *Sessions) put(ctx context.Context, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("broker: session revocation: %w", err)
	}
	rev, err := s.kv.Put(ctx, key, data)
	if err != nil {
		return unavailable("revoke session", err)
	}
	for {
		s.mu.RLock()
		done, applied := s.rev >= rev, s.applied
		s.mu.RUnlock()
		if done {
			return nil
		}
		select {
		case <-applied:
		case <-s.done:
			return unavailable("revoke session", errors.New("no longer following revocations"))
		case <-ctx.Done():
			return unavailable("revoke session", ctx.Err())
		}
	}
}

// sessionKey names a session in the bucket: hashed, so that any sid is a
// valid key, and with the user, so that two issuers' sids cannot collide.
func sessionKey(user natter.UserID, sid string) string {
	h := sha256.Sum256([]byte(string(user) + "\x00" + sid))
	return hex.EncodeToString(h[:16])
}

// Verifier wraps v so that tokens of revoked sessions are refused too.
func (s *Sessions) Verifier(v natter.TokenVerifier) natter.TokenVerifier {
	return checkedVerifier{v: v, s: s}
}

type checkedVerifier struct {
	v natter.TokenVerifier
	s *Sessions
}

func (cv checkedVerifier) Verify(token string) (natter.Claims, error) {
	c, err := cv.v.Verify(token)
	if err != nil {
		return natter.Claims{}, err
	}
	if err := cv.s.Check(c); err != nil {
		return natter.Claims{}, err
	}
	return c, nil
}
