package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natter-chat/natter/client"
)

// The server closes the SDK client's connection (its token expired: 4001)
// while others keep sending. The client reconnects with a new token,
// resumes the room from its last seq: every record once, in order; a send
// queued meanwhile is stored once; a resend whose original the replay
// shows is settled from the replay, not stored again.
func TestSDKResumeAfterServerClose(t *testing.T) {
	checkSDKLeaks(t)
	s := startServer(t, "", fastRecords)
	ctx := ctxFor(t, 60*time.Second)
	tokens := &sdkTokens{s: s, user: "alice", life: 2 * time.Second, gate: make(chan struct{})}
	alice := s.dialSDK(ctx, t, client.Config{Token: tokens.source, RenewBefore: -1})
	if _, err := alice.Join(ctx, "sdk"); err != nil {
		t.Fatal(err)
	}
	bob := s.connectV2(ctx, "bob")
	bob.join(ctx, "sdk", -1, "")
	for i := range 3 {
		bob.send(ctx, "sdk", cid("b", i), fmt.Sprint("before ", i))
	}
	var seqs []uint64
	track := func(evs []client.Event) {
		for _, ev := range evs {
			seqs = append(seqs, recordOf(ev).Seq)
		}
	}
	track(collectRecords(t, ctx, alice, "sdk", 3, nil))

	d := sdkEvent[*client.Disconnected](t, ctx, alice)
	var ce *client.CloseError
	if !errors.As(d.Err, &ce) || ce.Code != 4001 || ce.Reason != "token expired" {
		t.Fatalf("disconnected with %v, want 4001 token expired", d.Err)
	}
	// Alice is held before her reconnect. Bob sends; another connection of
	// alice stores "lost-ack" (as if her own send had been stored and its
	// ack lost with the connection).
	for i := 3; i < 6; i++ {
		bob.send(ctx, "sdk", cid("b", i), fmt.Sprint("while away ", i))
	}
	raw := s.connectV2(ctx, "alice")
	raw.join(ctx, "sdk", -1, "")
	orig := raw.send(ctx, "sdk", "lost-ack", "stored once")
	raw.Close()
	type sent struct {
		ack client.Ack
		err error
	}
	queued, resent := make(chan sent, 1), make(chan sent, 1)
	go func() {
		a, err := alice.Send(ctx, "sdk", "sent while away")
		queued <- sent{a, err}
	}()
	go func() {
		a, err := alice.Send(ctx, "sdk", "stored once", client.WithCID("lost-ack"))
		resent <- sent{a, err}
	}()
	// Both calls wait in the client, unwritten, before alice may reconnect.
	waitFor(t, ctx, func() bool { return strings.Count(clientGoroutines(), "client.(*Client).do(") >= 2 })
	close(tokens.gate)

	if c := sdkEvent[*client.Connected](t, ctx, alice); !c.Reconnect {
		t.Fatalf("connected %+v, want a reconnect", c)
	}
	q := <-queued
	r := <-resent
	if q.err != nil || q.ack.Dup || q.ack.Seq == 0 {
		t.Fatalf("queued send: %+v %v", q.ack, q.err)
	}
	if r.err != nil || !r.ack.Dup || r.ack.Seq != orig.Seq {
		t.Fatalf("resend of lost-ack: %+v %v, want dup of %d", r.ack, r.err, orig.Seq)
	}
	track(collectRecords(t, ctx, alice, "sdk", 5, nil)) // 3 of bob, lost-ack, the queued one
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("alice's records out of order or doubled: %v", seqs)
		}
	}
	// Bob saw each of alice's messages once.
	got := bob.messages(ctx, "sdk", 8) // his 6 and alice's 2
	n := map[string]int{}
	for _, m := range got {
		n[m.CID]++
	}
	if n["lost-ack"] != 1 || n[q.ack.CID] != 1 {
		t.Fatalf("bob got %v", n)
	}
	if tokens.count() < 2 {
		t.Fatalf("token source called %d times", tokens.count())
	}
	// Nothing more arrives: no duplicate after the fact.
	ping, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	for {
		select {
		case ev := <-alice.Events():
			if r := recordOf(ev); r != nil {
				t.Fatalf("extra record %+v", r)
			}
			continue
		case <-ping.Done():
		}
		break
	}
}

// A restart of the server: the client reconnects once it is back, resumes,
// and a send made while it was down is stored once.
func TestSDKReconnectAfterRestart(t *testing.T) {
	checkSDKLeaks(t)
	dir := t.TempDir()
	s := startServer(t, dir, fastRecords)
	ctx := ctxFor(t, 60*time.Second)
	tokens := &sdkTokens{s: s, user: "alice", life: time.Hour}
	alice := s.dialSDK(ctx, t, client.Config{Token: tokens.source})
	if _, err := alice.Join(ctx, "up"); err != nil {
		t.Fatal(err)
	}
	first, err := alice.Send(ctx, "up", "before")
	if err != nil {
		t.Fatal(err)
	}
	collectRecords(t, ctx, alice, "up", 1, nil)
	addr := s.m.Addr
	if i := len("http://"); len(s.m.URL) > i {
		addr = s.m.URL[i:]
	}
	s.stop()
	d := sdkEvent[*client.Disconnected](t, ctx, alice)
	var ce *client.CloseError
	if !errors.As(d.Err, &ce) || ce.Code != 1001 {
		t.Fatalf("disconnected with %v, want 1001", d.Err)
	}
	done := make(chan error, 1)
	var ack client.Ack
	go func() {
		var err error
		ack, err = alice.Send(ctx, "up", "while down")
		done <- err
	}()
	s2 := startServer(t, dir, fastRecords, func(m *Main) { m.Addr = addr })
	tokens.mu.Lock()
	tokens.s = s2
	tokens.mu.Unlock()
	if err := <-done; err != nil || ack.Dup || ack.Seq <= first.Seq {
		t.Fatalf("send while down: %+v %v", ack, err)
	}
	evs := collectRecords(t, ctx, alice, "up", 1, nil)
	if m, ok := evs[0].(*client.Message); !ok || m.Seq != ack.Seq || m.Prev != first.Seq || m.Text != "while down" {
		t.Fatalf("after restart got %+v, want seq %d prev %d", evs[0], ack.Seq, first.Seq)
	}
	bob := s2.connectV2(ctx, "bob")
	bob.join(ctx, "up", 0, "")
	if got := bob.messages(ctx, "up", 2); got[0].Seq != first.Seq || got[1].Seq != ack.Seq {
		t.Fatalf("room holds %+v", got)
	}
}

// A client whose tokens live 3s stays on one connection for longer: it
// renews the token in place before each expires.
func TestSDKTokenRenewal(t *testing.T) {
	checkSDKLeaks(t)
	s := startServer(t, "", fastRecords)
	ctx := ctxFor(t, 60*time.Second)
	tokens := &sdkTokens{s: s, user: "alice", life: 3 * time.Second}
	alice := s.dialSDK(ctx, t, client.Config{Token: tokens.source})
	if _, err := alice.Join(ctx, "renew"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, ctx, func() bool { return tokens.count() >= 3 && time.Since(start) > 4*time.Second })
	if _, err := alice.Send(ctx, "renew", "still here"); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case ev := <-alice.Events():
			if d, ok := ev.(*client.Disconnected); ok {
				t.Fatalf("disconnected: %v", d.Err)
			}
			if _, ok := ev.(*client.Message); ok {
				return
			}
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
}

// Every change kind arrives as its own typed event, as do typing and
// receipts.
func TestSDKTypedEvents(t *testing.T) {
	checkSDKLeaks(t)
	s := startServer(t, "", fastRecords)
	ctx := ctxFor(t, 60*time.Second)
	alice := s.dialSDK(ctx, t, client.Config{Token: (&sdkTokens{s: s, user: "alice", life: time.Hour}).source})
	bob := s.dialSDK(ctx, t, client.Config{Token: (&sdkTokens{s: s, user: "bob", life: time.Hour}).source})
	if _, err := alice.Join(ctx, "typed"); err != nil {
		t.Fatal(err)
	}
	if j, err := bob.Join(ctx, "typed"); err != nil || j.Owner != "alice" {
		t.Fatalf("bob joined %+v %v", j, err)
	}
	m, err := alice.Send(ctx, "typed", "hello @bob")
	must(t, err)
	_, err = alice.Edit(ctx, "typed", m.Seq, "hello everyone")
	must(t, err)
	_, err = bob.React(ctx, "typed", m.Seq, "👍")
	must(t, err)
	if a, err := bob.React(ctx, "typed", m.Seq, "👍"); err != nil || !a.Noop {
		t.Fatalf("second react: %+v %v, want noop", a, err)
	}
	_, err = bob.Unreact(ctx, "typed", m.Seq, "👍")
	must(t, err)
	topic := "plans"
	_, err = alice.SetTopic(ctx, "typed", &topic, nil)
	must(t, err)
	_, err = alice.Delete(ctx, "typed", m.Seq)
	must(t, err)
	if _, err := bob.Edit(ctx, "typed", m.Seq, "nope"); client.ErrorCode(err) != "not_found" {
		t.Fatalf("edit of a deleted message: %v, want not_found", err)
	}

	evs := collectRecords(t, ctx, bob, "typed", 6, nil)
	msg, ok0 := evs[0].(*client.Message)
	ed, ok1 := evs[1].(*client.Edit)
	re, ok2 := evs[2].(*client.Reaction)
	un, ok3 := evs[3].(*client.Reaction)
	tc, ok4 := evs[4].(*client.TopicChange)
	del, ok5 := evs[5].(*client.Delete)
	if !ok0 || !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		t.Fatalf("events %T %T %T %T %T %T", evs[0], evs[1], evs[2], evs[3], evs[4], evs[5])
	}
	if msg.Text != "hello @bob" || len(msg.Mentions) != 1 || msg.Mentions[0] != "bob" || msg.From != "alice" {
		t.Errorf("message %+v", msg)
	}
	if ed.Target != m.Seq || ed.Text != "hello everyone" {
		t.Errorf("edit %+v", ed)
	}
	if re.Target != m.Seq || re.Emoji != "👍" || re.Remove || re.From != "bob" || !un.Remove {
		t.Errorf("reactions %+v %+v", re, un)
	}
	if tc.Topic == nil || *tc.Topic != "plans" || tc.Name != nil {
		t.Errorf("topic %+v", tc)
	}
	if del.Target != m.Seq || del.From != "alice" {
		t.Errorf("delete %+v", del)
	}

	must(t, alice.Typing("typed"))
	if ty := sdkEvent[*client.Typing](t, ctx, bob); ty.User != "alice" || ty.Room != "typed" {
		t.Errorf("typing %+v", ty)
	}
	must(t, alice.Read(ctx, "typed", del.Seq))
	if rc := sdkEvent[*client.Receipt](t, ctx, bob); rc.User != "alice" || rc.Seq != del.Seq {
		t.Errorf("receipt %+v", rc)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A send refused by the user's send rate (rate_limited: nothing stored) is
// retried with the same cid until it is stored; each is stored once.
func TestSDKRetriesRateLimited(t *testing.T) {
	checkSDKLeaks(t)
	s := startServer(t, "", func(m *Main) {
		fastRecords(m)
		m.Quota.UserRate, m.Quota.UserBurst = 5, 1
	})
	ctx := ctxFor(t, 60*time.Second)
	alice := s.dialSDK(ctx, t, client.Config{Token: (&sdkTokens{s: s, user: "alice", life: time.Hour}).source})
	if _, err := alice.Join(ctx, "rate"); err != nil {
		t.Fatal(err)
	}
	seqs := map[uint64]bool{}
	for i := range 6 {
		a, err := alice.Send(ctx, "rate", fmt.Sprint("fast ", i))
		if err != nil || a.Dup || seqs[a.Seq] {
			t.Fatalf("send %d: %+v %v", i, a, err)
		}
		seqs[a.Seq] = true
	}
	bob := s.connectV2(ctx, "bob")
	bob.join(ctx, "rate", 0, "")
	got := bob.messages(ctx, "rate", 6)
	for i, m := range got {
		if !seqs[m.Seq] || m.Text != fmt.Sprint("fast ", i) {
			t.Fatalf("room holds %+v", got)
		}
	}
	if extra, err := bob.Next(ctxFor(t, 300*time.Millisecond)); err == nil && extra.Type == "msg" {
		t.Fatalf("a seventh message: %+v", extra)
	}
}

// Sends in flight while the server restarts: some are written on the
// connection that is closing and get no ack, some wait while it is down.
// Every call ends with an ack, and the room holds each message once.
func TestSDKSendsThroughRestart(t *testing.T) {
	checkSDKLeaks(t)
	dir := t.TempDir()
	s := startServer(t, dir, fastRecords)
	ctx := ctxFor(t, 90*time.Second)
	tokens := &sdkTokens{s: s, user: "alice", life: time.Hour}
	alice := s.dialSDK(ctx, t, client.Config{Token: tokens.source})
	if _, err := alice.Join(ctx, "busy"); err != nil {
		t.Fatal(err)
	}
	const senders, each = 4, 15
	var mu sync.Mutex
	acks := map[string]client.Ack{}
	errs := make(chan error, senders)
	for g := range senders {
		go func() {
			for i := range each {
				cid := fmt.Sprintf("g%d-%d", g, i)
				a, err := alice.Send(ctx, "busy", cid, client.WithCID(cid))
				if err != nil {
					errs <- fmt.Errorf("%s: %w", cid, err)
					return
				}
				mu.Lock()
				acks[cid] = a
				mu.Unlock()
			}
			errs <- nil
		}()
	}
	acked := func() int { mu.Lock(); defer mu.Unlock(); return len(acks) }
	waitFor(t, ctx, func() bool { return acked() >= 10 })
	addr := strings.TrimPrefix(s.m.URL, "http://")
	s.stop()
	s2 := startServer(t, dir, fastRecords, func(m *Main) { m.Addr = addr })
	tokens.mu.Lock()
	tokens.s = s2
	tokens.mu.Unlock()
	for range senders {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	seqs := map[uint64]string{}
	dups := 0
	for _, a := range acks {
		if a.Dup {
			dups++
		}
	}
	t.Logf("%d of %d acks were Dup (stored before the restart, acked after it)", dups, len(acks))
	for cid, a := range acks {
		if a.Seq == 0 || seqs[a.Seq] != "" {
			t.Fatalf("%s acked %+v (seq also %q)", cid, a, seqs[a.Seq])
		}
		seqs[a.Seq] = cid
	}
	// Alice's own view: each once, in order, across the restart.
	var last uint64
	for _, ev := range collectRecords(t, ctx, alice, "busy", senders*each, nil) {
		m := ev.(*client.Message)
		if m.Seq <= last || seqs[m.Seq] != m.CID {
			t.Fatalf("alice got %d (%s) after %d", m.Seq, m.CID, last)
		}
		last = m.Seq
	}
	bob := s2.connectV2(ctx, "bob")
	bob.join(ctx, "busy", 0, "")
	got := bob.messages(ctx, "busy", senders*each)
	for _, m := range got {
		if seqs[m.Seq] != m.CID {
			t.Fatalf("room holds %d %s, not acked so", m.Seq, m.CID)
		}
	}
	if extra, err := bob.Next(ctxFor(t, 300*time.Millisecond)); err == nil && extra.Type == "msg" {
		t.Fatalf("a message more: %+v", extra)
	}
}

// A program that stored its position resumes from it with From; Leave
// stops the room; Delivered moves the cursor a Join without From starts
// at; Request runs any other op.
func TestSDKPositionsAndRequests(t *testing.T) {
	checkSDKLeaks(t)
	s := startServer(t, "", fastRecords)
	ctx := ctxFor(t, 60*time.Second)
	tok := (&sdkTokens{s: s, user: "alice", life: time.Hour}).source
	if _, err := client.Dial(ctx, client.Config{URL: s.wsURL(), Token: client.StaticToken("bogus")}); client.ErrorCode(err) != "unauthorized" {
		t.Fatalf("Dial with a bad token: %v, want unauthorized", err)
	}
	alice := s.dialSDK(ctx, t, client.Config{Token: tok})
	raw, err := alice.Request(ctx, map[string]any{"op": "create", "room": "pos", "kind": "private"})
	if err != nil || !strings.Contains(string(raw), `"type":"created"`) {
		t.Fatalf("create: %s %v", raw, err)
	}
	if _, err := alice.Request(ctx, map[string]any{"op": "create", "room": "pos", "kind": "bogus"}); client.ErrorCode(err) != "invalid" {
		t.Fatalf("bad create: %v, want invalid", err)
	}
	j, err := alice.Join(ctx, "pos")
	must(t, err)
	var acks []client.Ack
	for i := range 4 {
		a, err := alice.Send(ctx, "pos", fmt.Sprint("m", i))
		must(t, err)
		acks = append(acks, a)
	}
	collectRecords(t, ctx, alice, "pos", 4, nil)
	must(t, alice.Delivered(ctx, "pos", acks[2].Seq))
	must(t, alice.Leave(ctx, "pos"))
	if l := sdkEvent[*client.Left](t, ctx, alice); l.Room != "pos" || l.Err != nil {
		t.Fatalf("left %+v", l)
	}
	if _, err := alice.Send(ctx, "pos", "not joined"); client.ErrorCode(err) != "forbidden" {
		t.Fatalf("send after leave: %v, want forbidden", err)
	}

	// A second program of alice: from a stored position, then from the cursor.
	again := s.dialSDK(ctx, t, client.Config{Token: tok})
	j2, err := again.Join(ctx, "pos", client.From(acks[1].Seq, j.Epoch))
	must(t, err)
	if j2.After != acks[1].Seq || j2.Last != acks[3].Seq || j2.Reset {
		t.Fatalf("joined %+v", j2)
	}
	evs := collectRecords(t, ctx, again, "pos", 2, nil)
	if evs[0].(*client.Message).Seq != acks[2].Seq || evs[1].(*client.Message).Seq != acks[3].Seq {
		t.Fatalf("from a position: %+v %+v", evs[0], evs[1])
	}
	must(t, again.Leave(ctx, "pos"))
	j3, err := again.Join(ctx, "pos")
	must(t, err)
	if j3.After != acks[2].Seq {
		t.Fatalf("joined from the cursor at %d, want %d", j3.After, acks[2].Seq)
	}
	if m := collectRecords(t, ctx, again, "pos", 1, nil)[0].(*client.Message); m.Seq != acks[3].Seq || m.Text != "m3" {
		t.Fatalf("from the cursor: %+v", m)
	}
	// A stale epoch replays the room from the start, marked Reset.
	must(t, again.Leave(ctx, "pos"))
	j4, err := again.Join(ctx, "pos", client.From(acks[3].Seq, "not-the-epoch"))
	if err != nil || !j4.Reset || j4.After != 0 {
		t.Fatalf("stale epoch: %+v %v", j4, err)
	}
	if n := len(collectRecords(t, ctx, again, "pos", 4, nil)); n != 4 {
		t.Fatalf("replayed %d", n)
	}
}

// A burst of sends far over the connection's frame rate: the client paces
// its frames to ready.limits, so the server drops none (a dropped frame
// gets no reply at all) and every call is acked.
func TestSDKPacesToTheFrameRate(t *testing.T) {
	checkSDKLeaks(t)
	s := startServer(t, "", func(m *Main) {
		fastRecords(m)
		m.Rate, m.Burst = 20, 10
	})
	ctx := ctxFor(t, 60*time.Second)
	alice := s.dialSDK(ctx, t, client.Config{Token: (&sdkTokens{s: s, user: "alice", life: time.Hour}).source})
	if _, err := alice.Join(ctx, "pace"); err != nil {
		t.Fatal(err)
	}
	const n = 40
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := alice.Send(ctx, "pace", fmt.Sprint("burst ", i))
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	collectRecords(t, ctx, alice, "pace", n, func(ev client.Event) {
		if e, ok := ev.(*client.ServerError); ok {
			t.Fatalf("server refused a frame: %v", e.Err)
		}
	})
}

// wss:// through a TLS-terminating proxy in front of the server, as
// PROTOCOL.md section 1 has it.
func TestSDKThroughTLSProxy(t *testing.T) {
	checkSDKLeaks(t)
	s := startServer(t, "", fastRecords)
	ctx := ctxFor(t, 30*time.Second)
	front := httptest.NewUnstartedServer(nil) // only for its certificate
	front.StartTLS()
	front.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", front.TLS)
	if err != nil {
		t.Fatal(err)
	}
	backend := strings.TrimPrefix(s.m.URL, "http://")
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer in.Close()
				out, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				defer out.Close()
				go func() { io.Copy(out, in); out.(*net.TCPConn).CloseWrite() }()
				io.Copy(in, out)
			})
		}
	})
	roots := x509.NewCertPool()
	roots.AddCert(front.Certificate())
	c, err := client.Dial(ctx, client.Config{
		URL:   "wss://" + ln.Addr().String() + "/ws",
		Token: (&sdkTokens{s: s, user: "alice", life: time.Hour}).source,
		TLS:   &tls.Config{RootCAs: roots, ServerName: "example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Join(ctx, "tls"); err != nil {
		t.Fatal(err)
	}
	if a, err := c.Send(ctx, "tls", "over TLS"); err != nil || a.Seq == 0 {
		t.Fatalf("send: %+v %v", a, err)
	}
	if _, err := client.Dial(ctx, client.Config{URL: "wss://" + ln.Addr().String() + "/ws",
		Token: client.StaticToken("x")}); err == nil {
		t.Fatal("dialled with an unknown certificate")
	}
}
