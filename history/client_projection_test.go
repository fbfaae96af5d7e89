package history

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/edge/wsclient"
)

// randomRecords is a room's stream of n records of every kind from a few
// users, with reactions toggled often (so that emoji runs end and begin
// again), edits that change mentions, and deletions.
func randomRecords(seed uint64, n int) []natter.Message {
	rng := rand.New(rand.NewPCG(seed, 11))
	users := []natter.UserID{"u0", "u1", "u2", "u3"}
	emoji := []string{"👍", "🎉", ":tada:"}
	var msgs []natter.Message
	var live []uint64
	for seq := uint64(1); seq <= uint64(n); seq++ {
		from := users[rng.IntN(len(users))]
		r := rec(seq, from, "", 0, fmt.Sprintf("text %d", seq))
		mentions := func() []natter.UserID {
			if rng.IntN(3) == 0 {
				return []natter.UserID{users[rng.IntN(len(users))]}
			}
			return nil
		}
		switch k := rng.IntN(20); {
		case k < 7 || len(live) == 0:
			r.Mentions = mentions()
			live = append(live, seq)
		case k < 10:
			r.Kind, r.Target, r.Text, r.Mentions = natter.KindEdit, live[rng.IntN(len(live))], fmt.Sprintf("edit %d", seq), mentions()
		case k < 11:
			i := rng.IntN(len(live))
			r.Kind, r.Target, r.Text = natter.KindDelete, live[i], ""
			live = append(live[:i], live[i+1:]...)
		default:
			r.Kind, r.Target, r.Text = natter.KindReact, live[rng.IntN(len(live))], ""
			r.Emoji, r.Remove = emoji[rng.IntN(len(emoji))], rng.IntN(2) == 0
		}
		msgs = append(msgs, r)
	}
	return msgs
}

// clientView is what a client that applied msgs in order shows.
func clientView(msgs []natter.Message) string {
	room := wsclient.NewRoom()
	for _, m := range msgs {
		ev := wsclient.Event{Type: "msg", Room: string(m.Room), Seq: m.Seq, From: string(m.From), Text: m.Text,
			Kind: m.Kind, Target: m.Target, ReplyTo: m.ReplyTo, Thread: m.Thread, AlsoRoom: m.AlsoRoom,
			Emoji: m.Emoji, Remove: m.Remove}
		for _, u := range m.Mentions {
			ev.Mentions = append(ev.Mentions, string(u))
		}
		room.Apply(ev)
	}
	room.Topic, room.Name = nil, nil
	return room.View()
}

// archiveView renders the archive's room pages as clientView does.
func archiveView(t *testing.T, s *Store) string {
	t.Helper()
	room := wsclient.NewRoom()
	for after := uint64(0); ; {
		page, more, err := s.page(context.Background(), "general", 0, Query{After: after, Limit: MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			after = m.Seq
			msg := &wsclient.Msg{Seq: m.Seq, From: string(m.From), Text: m.Text, Edited: m.Edited != nil,
				Deleted: m.Deleted, ReplyTo: m.ReplyTo, Thread: m.Thread, AlsoRoom: m.AlsoRoom}
			for _, u := range m.Mentions {
				msg.Mentions = append(msg.Mentions, string(u))
			}
			for _, r := range m.Reactions {
				users := make([]string, len(r.Users))
				for i, u := range r.Users {
					users[i] = string(u)
				}
				msg.Reactions = append(msg.Reactions, wsclient.Reaction{Emoji: r.Emoji, Users: users})
			}
			room.Msgs[m.Seq] = msg
		}
		if !more {
			return room.View()
		}
	}
}

// The archive's projection is the clients' (wsclient.Room, the reference
// the chaos checker uses): fed in stream order in batches as the archiver
// does, and fed in a random order as audits' repairs may.
func TestProjectionMatchesClients(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(6) {
		msgs := randomRecords(seed, 400)
		want := clientView(msgs)

		inOrder, _ := openStore(t)
		for i := 0; i < len(msgs); i += 37 {
			end := min(i+37, len(msgs))
			if _, err := inOrder.AppendThrough(ctx, msgs[end-1].Seq, msgs[i:end]); err != nil {
				t.Fatal(err)
			}
		}
		if got := archiveView(t, inOrder); got != want {
			t.Fatalf("seed %d, in order:\narchive:\n%s\nclients:\n%s", seed, got, want)
		}

		shuffled, _ := openStore(t)
		perm := append([]natter.Message(nil), msgs...)
		rand.New(rand.NewPCG(seed, 3)).Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for i := 0; i < len(perm); i += 5 {
			if err := shuffled.Append(ctx, perm[i:min(i+5, len(perm))]); err != nil {
				t.Fatal(err)
			}
		}
		if got := archiveView(t, shuffled); got != want {
			t.Fatalf("seed %d, shuffled:\narchive:\n%s\nclients:\n%s", seed, got, want)
		}
	}
}
