package wsclient

import "context"

// AuthV authenticates with a token, asking for protocol version v (2: every
// record of a room, docs/PROTOCOL.md section 3).
func (c *Client) AuthV(ctx context.Context, token string, v int) (Event, error) {
	return c.Request(ctx, map[string]any{"op": "auth", "token": token, "v": v})
}

// Reply says what a message answers: a quoted message (ReplyTo), a thread
// root (Thread), and whether a thread reply is also shown in the room.
type Reply struct {
	ReplyTo, Thread uint64
	AlsoRoom        bool
}

// SendReply sends a message that quotes or replies in a thread, and waits
// for its ack.
func (c *Client) SendReply(ctx context.Context, room, cid, text string, r Reply) (Event, error) {
	op := map[string]any{"op": "send", "room": room, "cid": cid, "text": text}
	if r.ReplyTo != 0 {
		op["reply_to"] = r.ReplyTo
	}
	if r.Thread != 0 {
		op["thread"] = r.Thread
	}
	if r.AlsoRoom {
		op["also_room"] = true
	}
	return c.Request(ctx, op)
}

// Edit replaces the text of the message at seq and waits for the ack.
func (c *Client) Edit(ctx context.Context, room string, seq uint64, cid, text string) (Event, error) {
	return c.Request(ctx, map[string]any{"op": "edit", "room": room, "seq": seq, "cid": cid, "text": text})
}

// Delete deletes the message at seq and waits for the ack.
func (c *Client) Delete(ctx context.Context, room string, seq uint64, cid string) (Event, error) {
	return c.Request(ctx, map[string]any{"op": "delete", "room": room, "seq": seq, "cid": cid})
}

// React adds emoji to the message at seq (or, with remove, takes it away)
// and waits for the ack; an ack with Noop changed nothing.
func (c *Client) React(ctx context.Context, room string, seq uint64, cid, emoji string, remove bool) (Event, error) {
	op := map[string]any{"op": "react", "room": room, "seq": seq, "cid": cid, "emoji": emoji}
	if remove {
		op["remove"] = true
	}
	return c.Request(ctx, op)
}

// SetTopic changes the room's topic and/or display name (nil: unchanged)
// and waits for the ack.
func (c *Client) SetTopic(ctx context.Context, room, cid string, topic, name *string) (Event, error) {
	op := map[string]any{"op": "topic", "room": room, "cid": cid}
	if topic != nil {
		op["topic"] = *topic
	}
	if name != nil {
		op["name"] = *name
	}
	return c.Request(ctx, op)
}
