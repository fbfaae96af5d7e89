package broker

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

func TestSessions(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	here, there := twoViews(t, ctx, b)
	var mu sync.Mutex
	var told []natter.UserID
	stop := there.OnRevoke(func(u natter.UserID) {
		mu.Lock()
		told = append(told, u)
		mu.Unlock()
	})
	defer stop()

	now := time.Now()
	old := natter.Claims{User: "alice", Session: "s1", IssuedAt: now.Add(-time.Minute)}
	sameSecond := natter.Claims{User: "alice", Session: "s2", IssuedAt: now.Truncate(time.Second)}
	kept := natter.Claims{User: "alice", Session: "s3", IssuedAt: now.Add(-time.Minute)}
	later := natter.Claims{User: "alice", Session: "s4", IssuedAt: now.Add(time.Second)}
	noIat := natter.Claims{User: "alice", Session: "s5"}
	bob := natter.Claims{User: "bob", Session: "s1", IssuedAt: now.Add(-time.Minute)}
	for _, c := range []natter.Claims{old, sameSecond, kept, later, noIat, bob} {
		if err := here.Check(c); err != nil {
			t.Fatalf("Check(%+v) before any revocation: %v", c, err)
		}
	}

	// Log out of one session: only that session, only that user's.
	if err := here.RevokeSession(ctx, "alice", "s1"); err != nil {
		t.Fatal(err)
	}
	if err := here.Check(old); natter.ErrorCode(err) != natter.EUNAUTHORIZED {
		t.Errorf("revoked session on the revoking node: %v", err)
	}
	for _, c := range []natter.Claims{sameSecond, bob} {
		if err := here.Check(c); err != nil {
			t.Errorf("Check(%+v) after another session's logout: %v", c, err)
		}
	}
	waitUntil(t, func() bool { return there.Check(old) != nil })
	if err := here.RevokeSession(ctx, "alice", ""); natter.ErrorCode(err) != natter.EINVALID {
		t.Errorf("RevokeSession without a sid: %v", err)
	}

	// A password change from s3 at now: every older token or one of the
	// same second goes, except s3's; tokens issued after stay.
	if err := here.RevokeUser(ctx, "alice", now, "s3"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []natter.Claims{sameSecond, noIat} {
		if err := here.Check(c); natter.ErrorCode(err) != natter.EUNAUTHORIZED {
			t.Errorf("Check(%+v) after RevokeUser: %v; want unauthorized", c, err)
		}
	}
	for _, c := range []natter.Claims{kept, later, bob} {
		if err := here.Check(c); err != nil {
			t.Errorf("Check(%+v) after RevokeUser: %v; want accepted", c, err)
		}
	}
	if got := here.RevokedThrough("alice"); got != now.Unix() {
		t.Errorf("RevokedThrough = %d; want %d", got, now.Unix())
	}
	waitUntil(t, func() bool { return there.Check(sameSecond) != nil })
	mu.Lock()
	if len(told) != 2 || told[0] != "alice" || told[1] != "alice" {
		t.Errorf("OnRevoke calls: %v; want [alice alice]", told)
	}
	mu.Unlock()

	// A node started later loads what is in the bucket before it answers.
	late, err := b.OpenSessions(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if late.Check(old) == nil || late.Check(sameSecond) == nil || late.Check(kept) != nil {
		t.Errorf("a new view disagrees: old %v, same second %v, kept %v", late.Check(old), late.Check(sameSecond), late.Check(kept))
	}

	// Entries older than the TTL are pruned from the view.
	late.prune(now.Add(2 * time.Hour))
	if late.Check(old) != nil || late.Check(sameSecond) != nil {
		t.Errorf("expired revocations still apply: %v, %v", late.Check(old), late.Check(sameSecond))
	}

	// The wrapping verifier refuses revoked tokens and passes the rest.
	v := here.Verifier(fixedVerifier{old})
	if _, err := v.Verify("x"); natter.ErrorCode(err) != natter.EUNAUTHORIZED {
		t.Errorf("Verifier passed a revoked token: %v", err)
	}
	if c, err := here.Verifier(fixedVerifier{later}).Verify("x"); err != nil || c.Session != "s4" {
		t.Errorf("Verifier refused a live token: %+v, %v", c, err)
	}
}

type fixedVerifier struct{ c natter.Claims }

func (f fixedVerifier) Verify(string) (natter.Claims, error) { return f.c, nil }

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The view goes on following the bucket when its watch has to start again
// (here: the embedded JetStream restarted after a store fault, which ends
// the watch's consumer): a revocation made afterwards is seen, and one made
// before is not announced a second time when the restarted watch re-reads it.
func TestSessionsWatchRestarts(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	here, there := twoViews(t, ctx, b)
	var mu sync.Mutex
	told := map[natter.UserID]int{}
	stop := there.OnRevoke(func(u natter.UserID) {
		mu.Lock()
		told[u]++
		mu.Unlock()
	})
	defer stop()
	count := func(u natter.UserID) int {
		mu.Lock()
		defer mu.Unlock()
		return told[u]
	}

	dave := natter.Claims{User: "dave", Session: "d1", IssuedAt: time.Now().Add(-time.Minute)}
	if err := here.RevokeSession(ctx, "dave", "d1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the other view to see dave's logout", func() bool { return there.Check(dave) != nil && count("dave") == 1 })

	b.restarts.fire()
	carol := natter.Claims{User: "carol", Session: "c1", IssuedAt: time.Now().Add(-time.Minute)}
	if err := here.RevokeUser(ctx, "carol", time.Now(), ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the other view to see carol's revocation after the restart", func() bool {
		return there.Check(carol) != nil && count("carol") == 1
	})
	if n := count("dave"); n != 1 {
		t.Errorf("dave's logout announced %d times, want 1", n)
	}
}

// twoViews opens two views of one sessions bucket: two nodes of a cluster.
func twoViews(t *testing.T, ctx context.Context, b *testBroker) (here, there *Sessions) {
	t.Helper()
	views := make([]*Sessions, 2)
	for i := range views {
		s, err := b.OpenSessions(ctx, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		views[i] = s
	}
	return views[0], views[1]
}
