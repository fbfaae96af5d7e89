package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/edge/wsclient"
)

// roomScript edits, deletes and reacts to the messages of room: round i
// sends two messages, edits an earlier one, deletes another, reacts and
// un-reacts, with secrets in the text of what it deletes. It returns the
// last ack's seq and the secret texts.
func roomScript(t *testing.T, ctx context.Context, alice, bob *tclient, room, tag string, rounds int) (uint64, []string) {
	t.Helper()
	var seqs []uint64
	var secrets []string
	var last uint64
	for i := 0; i < rounds; i++ {
		a := alice.send(ctx, room, cid(tag+"a", i), fmt.Sprintf("%s alice %d", tag, i))
		secret := fmt.Sprintf("secret-%s-%d", tag, i)
		b := bob.send(ctx, room, cid(tag+"b", i), secret)
		seqs = append(seqs, a.Seq, b.Seq)
		last = b.Seq
		if i%2 == 0 {
			last = alice.ok(alice.Edit(ctx, room, a.Seq, cid(tag+"e", i), fmt.Sprintf("%s alice %d, edited", tag, i))).Seq
		}
		edited := fmt.Sprintf("secret-edit-%s-%d", tag, i)
		bob.ok(bob.Edit(ctx, room, b.Seq, cid(tag+"be", i), edited))
		secrets = append(secrets, secret, edited)
		last = bob.ok(bob.React(ctx, room, a.Seq, cid(tag+"r", i), "👍", false)).Seq
		if i > 0 {
			last = alice.ok(alice.React(ctx, room, seqs[2*(i-1)], cid(tag+"ra", i), ":tada:", false)).Seq
			last = bob.ok(bob.React(ctx, room, seqs[2*(i-1)], cid(tag+"rr", i), "👍", true)).Seq
		}
		last = bob.ok(bob.Delete(ctx, room, b.Seq, cid(tag+"d", i))).Seq
	}
	return last, secrets
}

// A client offline while messages are edited, deleted and reacted to
// resumes, from the room cache and (after a restart) from the stream, and
// ends with exactly the projection of a client that stayed online; a new
// client replaying the room from 0 too. Deleted texts, and their edits,
// are in no replay and not in the stream (direct get, a full read). (Their
// bytes stay in the stream's files: the delete is not a secure one, see
// broker.Erase.)
func TestRecordReplayMatchesLive(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, fastRecords)
	ctx := ctxFor(t, 90*time.Second)
	alice, bob, carol := s.connectV2(ctx, "alice"), s.connectV2(ctx, "bob"), s.connectV2(ctx, "carol")
	online, offline := newProjection(), newProjection()
	online.Last = alice.join(ctx, "lobby", 0, "").After
	bob.join(ctx, "lobby", 0, "")
	offline.Last = carol.join(ctx, "lobby", 0, "").After
	v1 := s.connect(ctx, "dave") // protocol version 1 throughout
	v1last := v1.join(ctx, "lobby", 0, "").After

	last, secrets := roomScript(t, ctx, alice, bob, "lobby", "one", 3)
	online.follow(t, ctx, alice, "lobby", last)
	offline.follow(t, ctx, carol, "lobby", last)
	carol.Close()
	epoch := s.m.broker.Epoch()

	// While carol is away: more of everything, also to messages she has.
	last, more := roomScript(t, ctx, alice, bob, "lobby", "two", 4)
	secrets = append(secrets, more...)
	online.follow(t, ctx, alice, "lobby", last)
	old := uint64(0)
	for seq, m := range offline.Msgs { // one she has, edited and deleted while she is away
		if m.From == "alice" && (old == 0 || seq < old) {
			old = seq
		}
	}
	last = alice.ok(alice.Edit(ctx, "lobby", old, "away-e", "edited while carol was away")).Seq
	last = alice.ok(alice.Delete(ctx, "lobby", old, "away-d")).Seq
	online.follow(t, ctx, alice, "lobby", last)

	carol = s.connectV2(ctx, "carol")
	if j := carol.join(ctx, "lobby", int64(offline.Last), epoch); j.After != offline.Last {
		t.Fatalf("carol resumed at %d, want %d", j.After, offline.Last)
	}
	evs := offline.follow(t, ctx, carol, "lobby", last)
	if online.View() != offline.View() {
		t.Fatalf("resumed from the cache:\n%s\nstayed online:\n%s", offline.View(), online.View())
	}
	checkNoSecrets(t, "resume from the cache", evs, secrets)
	fresh := newProjection()
	dan := s.connectV2(ctx, "dan")
	evs = fresh.follow(t, ctx, dan, "lobby", joinedAt(t, ctx, dan, "lobby", fresh, last))
	if fresh.View() != online.View() {
		t.Fatalf("replayed from 0:\n%s\nstayed online:\n%s", fresh.View(), online.View())
	}
	checkNoSecrets(t, "replay from 0 (cache)", evs, secrets)
	checkStreamHasNoSecrets(t, ctx, s, "lobby", secrets)

	// The version 1 client saw messages only, each prev the one before; it
	// resumes from its last message (the cache's records after it are
	// mostly changes) with the chain unbroken.
	v1last = followV1(t, ctx, v1, "lobby", v1last, "two", 3)
	v1.Close()
	alice.send(ctx, "lobby", "v1-gap", "while dave is away")
	v1 = s.connect(ctx, "dave")
	if j := v1.join(ctx, "lobby", int64(v1last), epoch); j.After != v1last {
		t.Fatalf("version 1 resumed at %d, want %d", j.After, v1last)
	}
	followV1(t, ctx, v1, "lobby", v1last, "v1-gap", -1)

	// Across a restart, with carol away again.
	carol.Close()
	last, more = roomScript(t, ctx, alice, bob, "lobby", "three", 2)
	secrets = append(secrets, more...)
	online.follow(t, ctx, alice, "lobby", last)
	s.stop()
	s = startServer(t, dir, fastRecords)
	carol = s.connectV2(ctx, "carol")
	carol.join(ctx, "lobby", int64(offline.Last), epoch)
	evs = offline.follow(t, ctx, carol, "lobby", last)
	if online.View() != offline.View() {
		t.Fatalf("resumed after a restart:\n%s\nstayed online:\n%s", offline.View(), online.View())
	}
	checkNoSecrets(t, "resume after a restart", evs, secrets)
	// A version 1 join after the restart (the cache starts afresh: the
	// stream is read) ends at the last message still in the stream.
	var lastMsg uint64
	for seq, m := range online.Msgs {
		if !m.Deleted {
			lastMsg = max(lastMsg, seq)
		}
	}
	if j := s.connect(ctx, "dave").join(ctx, "lobby", 0, ""); j.Last != lastMsg {
		t.Errorf("version 1 joined.last after a restart = %d, want %d", j.Last, lastMsg)
	}
	fresh = newProjection()
	eve := s.connectV2(ctx, "eve")
	evs = fresh.follow(t, ctx, eve, "lobby", joinedAt(t, ctx, eve, "lobby", fresh, last))
	if fresh.View() != online.View() {
		t.Fatalf("replayed from 0 after a restart:\n%s\nstayed online:\n%s", fresh.View(), online.View())
	}
	checkNoSecrets(t, "replay from 0 (stream)", evs, secrets)
	checkStreamHasNoSecrets(t, ctx, s, "lobby", secrets)
}

// followV1 reads the msg events of a version 1 client from after until
// the message with cid (prefix "<tag>b-<i>" if i >= 0, else cid itself),
// checking that each is a message and its prev the one before. It returns
// the last seq.
func followV1(t *testing.T, ctx context.Context, c *tclient, room string, after uint64, tag string, i int) uint64 {
	t.Helper()
	want := tag
	if i >= 0 {
		want = cid(tag+"b", i)
	}
	for {
		ev := c.messages(ctx, room, 1)[0]
		if ev.Kind != "" || ev.Target != 0 || ev.Emoji != "" || ev.Topic != nil {
			t.Fatalf("version 1 client got a change record %+v", ev)
		}
		if ev.Prev != after {
			t.Fatalf("version 1: msg %d has prev %d, want %d", ev.Seq, ev.Prev, after)
		}
		after = ev.Seq
		if ev.CID == want {
			return after
		}
	}
}

// joinedAt joins room from 0 for p and returns last, for follow.
func joinedAt(t *testing.T, ctx context.Context, c *tclient, room string, p *projection, last uint64) uint64 {
	t.Helper()
	p.Last = c.join(ctx, room, 0, "").After
	return last
}

func checkNoSecrets(t *testing.T, what string, evs []wsclient.Event, secrets []string) {
	t.Helper()
	for _, ev := range evs {
		for _, s := range secrets {
			if strings.Contains(ev.Text, s) {
				t.Fatalf("%s: record %d carries deleted text %q", what, ev.Seq, s)
			}
		}
	}
}

// checkStreamHasNoSecrets reads the whole room from the stream, and each
// seq by direct get.
func checkStreamHasNoSecrets(t *testing.T, ctx context.Context, s *server, room natter.RoomID, secrets []string) {
	t.Helper()
	var n int
	_, err := s.m.broker.ReadRoom(ctx, room, 0, 0, func(m natter.Message) error {
		n++
		for _, sec := range secrets {
			if strings.Contains(m.Text, sec) {
				return fmt.Errorf("stream record %d carries deleted text %q", m.Seq, sec)
			}
		}
		one, err := s.m.broker.Record(ctx, room, m.Seq)
		if err != nil || one.Text != m.Text {
			return fmt.Errorf("direct get of %d: %+v %v", m.Seq, one, err)
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("stream read (%d records): %v", n, err)
	}
}
