package main

import (
	"testing"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/edge/wsclient"
)

func replyTo(seq, thread uint64) wsclient.Reply { return wsclient.Reply{ReplyTo: seq, Thread: thread} }

// Every op that changes a message or a room, with its authorisation, its
// resend and its errors, seen by a version 2 member and a version 1 one.
func TestRecordOpsAuthorised(t *testing.T) {
	s := startServer(t, "", fastRecords)
	ctx := ctxFor(t, 60*time.Second)
	alice, bob, carol := s.connectV2(ctx, "alice"), s.connectV2(ctx, "bob"), s.connectV2(ctx, "carol")
	old := s.connect(ctx, "dave") // version 1
	alice.request(ctx, map[string]any{"op": "create", "room": "club", "kind": "private"})
	for _, u := range []string{"bob", "dave"} {
		alice.request(ctx, map[string]any{"op": "add", "room": "club", "user": u})
	}
	pa, pb := newProjection(), newProjection()
	pa.Last = alice.join(ctx, "club", 0, "").After
	pb.Last = bob.join(ctx, "club", 0, "").After
	oldJoin := old.join(ctx, "club", 0, "")

	m1 := alice.send(ctx, "club", "m1", "hello @bob and @room")
	m2 := bob.send(ctx, "club", "m2", "hi @alice, @room")
	pa.follow(t, ctx, alice, "club", m2.Seq)
	if got := pa.Msgs[m1.Seq].Mentions; len(got) != 2 || got[0] != "bob" || got[1] != "@room" {
		t.Errorf("owner's message mentions %v, want [bob @room]", got)
	}
	if got := pa.Msgs[m2.Seq].Mentions; len(got) != 1 || got[0] != "alice" {
		t.Errorf("member's message mentions %v, want [alice]: @room is the owner's", got)
	}

	// edit: only the author; a resend is the same record.
	ev, err := bob.Edit(ctx, "club", m1.Seq, "e-bob", "not mine")
	refused(t, "bob edits alice's message", ev, err, natter.EFORBIDDEN)
	e1 := alice.ok(alice.Edit(ctx, "club", m1.Seq, "e1", "hello @bob (edited)"))
	if again := alice.ok(alice.Edit(ctx, "club", m1.Seq, "e1", "hello @bob (edited)")); !again.Dup || again.Seq != e1.Seq {
		t.Errorf("edit resend acked %+v, want dup of %d", again, e1.Seq)
	}

	// react: any member; add twice is a no-op; a non-member is refused.
	r1 := bob.ok(bob.React(ctx, "club", m1.Seq, "r1", "👍", false))
	if again := bob.ok(bob.React(ctx, "club", m1.Seq, "r1", "👍", false)); !again.Dup || again.Seq != r1.Seq {
		t.Errorf("react resend acked %+v, want dup of %d", again, r1.Seq)
	}
	if noop := bob.ok(bob.React(ctx, "club", m1.Seq, "r2", "👍", false)); !noop.Noop || noop.Seq != 0 {
		t.Errorf("second add acked %+v, want noop", noop)
	}
	alice.ok(alice.React(ctx, "club", m1.Seq, "r3", "👍", false))
	bob.ok(bob.React(ctx, "club", m1.Seq, "r4", ":tada:", false))
	bob.ok(bob.React(ctx, "club", m1.Seq, "r5", ":tada:", true))
	if noop := bob.ok(bob.React(ctx, "club", m1.Seq, "r6", ":tada:", true)); !noop.Noop {
		t.Errorf("removing an absent reaction acked %+v, want noop", noop)
	}
	ev, err = carol.React(ctx, "club", m1.Seq, "c1", "👍", false)
	refused(t, "non-member reacts", ev, err, natter.EFORBIDDEN)
	if _, err := carol.Join(ctx, "club", -1, ""); natter.EFORBIDDEN != errCode(t, err) {
		t.Fatalf("carol joins a private room: %v", err)
	}
	ev, err = bob.React(ctx, "club", e1.Seq, "r7", "👍", false)
	refused(t, "react to an edit record", ev, err, natter.ENOTFOUND)

	// delete: author, owner or admin; a member cannot delete others'.
	ev, err = bob.Delete(ctx, "club", m1.Seq, "d-bob")
	refused(t, "bob deletes alice's message", ev, err, natter.EFORBIDDEN)
	d2 := alice.ok(alice.Delete(ctx, "club", m2.Seq, "d2")) // the owner deletes bob's
	if again := alice.ok(alice.Delete(ctx, "club", m2.Seq, "d2")); !again.Dup || again.Seq != d2.Seq {
		t.Errorf("delete resend acked %+v, want dup of %d", again, d2.Seq)
	}
	ev, err = bob.Delete(ctx, "club", m2.Seq, "d2-again")
	refused(t, "delete of a deleted message", ev, err, natter.ENOTFOUND)
	ev, err = bob.Edit(ctx, "club", m2.Seq, "e-del", "x")
	refused(t, "edit of a deleted message", ev, err, natter.ENOTFOUND)
	ev, err = bob.React(ctx, "club", m2.Seq, "r-del", "👍", false)
	refused(t, "react to a deleted message", ev, err, natter.ENOTFOUND)

	// send with reply_to and thread.
	reply := alice.ok(alice.SendReply(ctx, "club", "rp1", "quoting", replyTo(m1.Seq, 0)))
	if again := alice.ok(alice.SendReply(ctx, "club", "rp1", "quoting", replyTo(m1.Seq, 0))); !again.Dup || again.Seq != reply.Seq {
		t.Errorf("reply resend acked %+v, want dup of %d", again, reply.Seq)
	}
	th := bob.ok(bob.SendReply(ctx, "club", "th1", "in thread", replyTo(0, m1.Seq)))
	bob.ok(bob.SendReply(ctx, "club", "th2", "in thread, also room", wsclient.Reply{Thread: m1.Seq, AlsoRoom: true}))
	ev, err = bob.SendReply(ctx, "club", "th3", "nested", replyTo(0, th.Seq))
	refused(t, "thread under a thread reply", ev, err, natter.EINVALID)
	ev, err = bob.SendReply(ctx, "club", "rp2", "to deleted", replyTo(m2.Seq, 0))
	refused(t, "reply to a deleted message", ev, err, natter.ENOTFOUND)
	ev, err = bob.SendReply(ctx, "club", "rp3", "to nothing", replyTo(th.Seq+1000, 0))
	refused(t, "reply to no message", ev, err, natter.ENOTFOUND)
	ev, err = bob.SendReply(ctx, "club", "rp4", "to an edit", replyTo(e1.Seq, 0))
	refused(t, "reply to an edit record", ev, err, natter.ENOTFOUND)
	bob.join(ctx, "lobby", -1, "")
	other := bob.send(ctx, "lobby", "o1", "elsewhere")
	ev, err = bob.SendReply(ctx, "club", "rp5", "to another room", replyTo(other.Seq, 0))
	refused(t, "reply to another room's message", ev, err, natter.ENOTFOUND)
	ev, err = bob.Edit(ctx, "club", other.Seq, "e-other", "x")
	refused(t, "edit of another room's message", ev, err, natter.ENOTFOUND)

	// topic: owner or admin only; written to the directory.
	topic, name := "plans <b>& more</b>", "The Club"
	ev, err = bob.SetTopic(ctx, "club", "t-bob", &topic, nil)
	refused(t, "member sets the topic", ev, err, natter.EFORBIDDEN)
	tp := alice.ok(alice.SetTopic(ctx, "club", "t1", &topic, &name))
	if again := alice.ok(alice.SetTopic(ctx, "club", "t1", &topic, &name)); !again.Dup || again.Seq != tp.Seq {
		t.Errorf("topic resend acked %+v, want dup of %d", again, tp.Seq)
	}
	r, err := s.m.broker.Room(ctx, "club")
	if err != nil || r.Topic != topic || r.Name != name {
		t.Errorf("directory entry %+v %v, want topic and name", r, err)
	}

	// Both version 2 members end with the same projection.
	last := tp.Seq
	pa.follow(t, ctx, alice, "club", last)
	pb.follow(t, ctx, bob, "club", last)
	if pa.View() != pb.View() {
		t.Errorf("projections differ:\nalice\n%s\nbob\n%s", pa.View(), pb.View())
	}
	m := pa.Msgs[m1.Seq]
	if m.Text != "hello @bob (edited)" || !m.Edited || len(m.Reactions) != 1 || len(m.Reactions[0].Users) != 2 {
		t.Errorf("m1 projected as %+v", m)
	}
	if !pa.Msgs[m2.Seq].Deleted || pa.Msgs[reply.Seq].ReplyTo != m1.Seq || pa.Msgs[th.Seq].Thread != m1.Seq {
		t.Errorf("projection:\n%s", pa.View())
	}

	// The version 1 member got the messages only, chained over them.
	prev := oldJoin.After
	for {
		ev := old.messages(ctx, "club", 1)[0]
		if ev.Kind != "" || ev.Target != 0 || ev.Emoji != "" {
			t.Fatalf("version 1 connection got a change record %+v", ev)
		}
		if ev.Prev != prev {
			t.Fatalf("version 1: msg %d has prev %d, want %d", ev.Seq, ev.Prev, prev)
		}
		prev = ev.Seq
		if ev.CID == "th2" {
			break
		}
	}
}
