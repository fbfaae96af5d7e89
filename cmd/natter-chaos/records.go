package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/natter-chat/natter/edge/wsclient"
)

// op is one request a chat client makes: a message (kind ""), or an edit,
// deletion or reaction of a message of its room. A resend repeats it
// exactly, with the same cid.
type op struct {
	kind   string
	cid    string
	target uint64
	emoji  string
	remove bool
}

// do sends o and waits for its ack.
func (o op) do(ctx context.Context, ws *wsclient.Client, room string) (wsclient.Event, error) {
	switch o.kind {
	case "edit":
		return ws.Edit(ctx, room, o.target, o.cid, "edited "+o.cid)
	case "delete":
		return ws.Delete(ctx, room, o.target, o.cid)
	case "react":
		return ws.React(ctx, room, o.target, o.cid, o.emoji, o.remove)
	}
	return ws.SendText(ctx, room, o.cid, "says "+o.cid)
}

// choose picks the next op: mostly messages; every fifth op an edit of the
// client's newest message, every seventh a reaction toggled on a message of
// the room, every eleventh the deletion of the client's oldest message (of
// at least three). Called with c.mu held.
func (c *chatClient) choose(cid string) op {
	own := c.ownMessages()
	switch {
	case c.nextCID%5 == 0 && len(own) > 0:
		return op{kind: "edit", cid: cid, target: own[len(own)-1]}
	case c.nextCID%7 == 0 && len(c.proj.Msgs) > 0:
		seqs := c.liveMessages()
		if len(seqs) == 0 {
			break
		}
		m := c.proj.Msgs[seqs[c.nextCID%len(seqs)]]
		emoji := [...]string{"👍", ":tada:", "🎉"}[c.nextCID%3]
		remove := false
		for _, r := range m.Reactions {
			for _, u := range r.Users {
				remove = remove || (r.Emoji == emoji && u == c.user)
			}
		}
		return op{kind: "react", cid: cid, target: m.Seq, emoji: emoji, remove: remove}
	case c.nextCID%11 == 0 && len(own) >= 3:
		return op{kind: "delete", cid: cid, target: own[0]}
	}
	return op{cid: cid}
}

// ownMessages are the client's messages in its projection that are not
// deleted, oldest first.
func (c *chatClient) ownMessages() []uint64 {
	var out []uint64
	for _, seq := range c.liveMessages() {
		if c.proj.Msgs[seq].From == c.user {
			out = append(out, seq)
		}
	}
	return out
}

func (c *chatClient) liveMessages() []uint64 {
	var out []uint64
	for seq, m := range c.proj.Msgs {
		if !m.Deleted {
			out = append(out, seq)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// refusal reports an error that resending cannot change: the target was
// deleted (by its author, racing) or its limits reached.
func refusal(err error) bool {
	switch wsclient.ErrorCode(err) {
	case "not_found", "forbidden", "quota_exceeded", "invalid":
		return true
	}
	return false
}

// drop gives up the pending op after a refusal.
func (c *chatClient) drop(o op) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o.cid == c.pending {
		c.pending = ""
		c.refused++
	}
}

// erased returns, per room, the records the acked deletions erased from
// the stream: the deleted messages and their edits. A member that was away
// while they were live never receives them, and need not.
func erased(clients []*chatClient) map[string]map[uint64]bool {
	deleted := map[string]map[uint64]bool{}
	for _, c := range clients {
		c.mu.Lock()
		for _, o := range c.changes {
			if o.kind == "delete" {
				if deleted[c.room] == nil {
					deleted[c.room] = map[uint64]bool{}
				}
				deleted[c.room][o.target] = true
			}
		}
		c.mu.Unlock()
	}
	out := map[string]map[uint64]bool{}
	for room, targets := range deleted {
		out[room] = map[uint64]bool{}
		for t := range targets {
			out[room][t] = true
		}
	}
	for _, c := range clients {
		c.mu.Lock()
		for seq, o := range c.changes {
			if o.kind == "edit" && deleted[c.room][o.target] {
				out[c.room][seq] = true
			}
		}
		c.mu.Unlock()
	}
	return out
}

// compareProjections counts the members whose projection of their room
// differs from the room's first member's: every member must end with the
// same view of every message (text, edits, deletions, reactions).
func compareProjections(clients []*chatClient) (differ int, example string) {
	first := map[string]string{}
	for _, c := range clients {
		c.mu.Lock()
		v := c.proj.View()
		c.mu.Unlock()
		want, ok := first[c.room]
		switch {
		case !ok:
			first[c.room] = v
		case v != want:
			differ++
			if example == "" {
				example = fmt.Sprintf("client %d in %s, lines not in the first member's:\n%s\nfirst member's not in it:\n%s",
					c.id, c.room, linesNotIn(v, want), linesNotIn(want, v))
			}
		}
	}
	return differ, example
}

// linesNotIn returns the lines of a that b lacks.
func linesNotIn(a, b string) string {
	have := map[string]bool{}
	for _, l := range strings.Split(b, "\n") {
		have[l] = true
	}
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if !have[l] {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
