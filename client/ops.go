package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
)

// JoinOption changes where a Join starts.
type JoinOption func(map[string]any)

// From starts the room after seq of epoch (a position you stored): every
// record with a higher seq is delivered. Without it the server starts at
// the user's delivered cursor, or live (PROTOCOL.md section 5.2).
func From(seq uint64, epoch string) JoinOption {
	return func(op map[string]any) {
		op["after"] = seq
		if epoch != "" {
			op["epoch"] = epoch
		}
	}
}

// Join subscribes the connection to room (creating a public room that does
// not exist yet). Its records then arrive on Events, and the client
// resumes it after every reconnect until Leave.
func (c *Client) Join(ctx context.Context, room string, opts ...JoinOption) (*Joined, error) {
	op := map[string]any{"op": "join", "room": room}
	for _, o := range opts {
		o(op)
	}
	f, err := c.do(ctx, op, false)
	if err != nil {
		return nil, err
	}
	return f.joined(false), nil
}

// Leave unsubscribes from room; the membership stays.
func (c *Client) Leave(ctx context.Context, room string) error {
	_, err := c.do(ctx, map[string]any{"op": "leave", "room": room}, false)
	return err
}

// Ack is the server's confirmation that a message or change is stored.
type Ack struct {
	Room  string
	Seq   uint64 // the record's seq (0 with Noop)
	Epoch string
	CID   string
	Dup   bool // a resend of a cid already stored: Seq is the original's
	Noop  bool // a react that changed nothing
}

// SendOption adds to a send or a change.
type SendOption func(map[string]any)

// WithCID sets the client id instead of a random one: to resend, with the
// same id, a message whose earlier Send returned without an Ack.
func WithCID(cid string) SendOption { return func(op map[string]any) { op["cid"] = cid } }

// ReplyTo quotes the message at seq.
func ReplyTo(seq uint64) SendOption { return func(op map[string]any) { op["reply_to"] = seq } }

// InThread replies in the thread of root; alsoRoom shows the reply in the
// room's timeline too.
func InThread(root uint64, alsoRoom bool) SendOption {
	return func(op map[string]any) {
		op["thread"] = root
		if alsoRoom {
			op["also_room"] = true
		}
	}
}

// Send sends a message and waits for its ack. Until the ack it survives
// reconnects: it is written again with the same client id after the room
// is resumed (unless the replay shows it stored), so it is stored once. If
// ctx ends first, the outcome is unknown: call Send again WithCID(ack's
// cid) to make sure.
func (c *Client) Send(ctx context.Context, room, text string, opts ...SendOption) (Ack, error) {
	return c.change(ctx, map[string]any{"op": "send", "room": room, "text": text}, opts)
}

// Edit replaces the text of your message at seq.
func (c *Client) Edit(ctx context.Context, room string, seq uint64, text string, opts ...SendOption) (Ack, error) {
	return c.change(ctx, map[string]any{"op": "edit", "room": room, "seq": seq, "text": text}, opts)
}

// Delete deletes the message at seq (yours, or anyone's as the room's
// owner or an admin); its text is erased.
func (c *Client) Delete(ctx context.Context, room string, seq uint64, opts ...SendOption) (Ack, error) {
	return c.change(ctx, map[string]any{"op": "delete", "room": room, "seq": seq}, opts)
}

// React adds emoji to the message at seq.
func (c *Client) React(ctx context.Context, room string, seq uint64, emoji string, opts ...SendOption) (Ack, error) {
	return c.change(ctx, map[string]any{"op": "react", "room": room, "seq": seq, "emoji": emoji}, opts)
}

// Unreact takes your emoji away from the message at seq.
func (c *Client) Unreact(ctx context.Context, room string, seq uint64, emoji string, opts ...SendOption) (Ack, error) {
	return c.change(ctx, map[string]any{"op": "react", "room": room, "seq": seq, "emoji": emoji, "remove": true}, opts)
}

// SetTopic changes the room's topic and/or display name (nil: unchanged,
// "": cleared); owner or admins only.
func (c *Client) SetTopic(ctx context.Context, room string, topic, name *string, opts ...SendOption) (Ack, error) {
	op := map[string]any{"op": "topic", "room": room}
	if topic != nil {
		op["topic"] = *topic
	}
	if name != nil {
		op["name"] = *name
	}
	return c.change(ctx, op, opts)
}

func (c *Client) change(ctx context.Context, op map[string]any, opts []SendOption) (Ack, error) {
	for _, o := range opts {
		o(op)
	}
	if _, ok := op["cid"]; !ok {
		op["cid"] = NewCID()
	}
	f, err := c.do(ctx, op, true)
	if err != nil {
		return Ack{}, err
	}
	return Ack{Room: f.Room, Seq: f.Seq, Epoch: f.Epoch, CID: f.CID, Dup: f.Dup, Noop: f.Noop}, nil
}

// NewCID returns a random client id (128 bits, hex).
func NewCID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Read raises your read cursor in room to seq (and sends a receipt to the
// room when it moved there).
func (c *Client) Read(ctx context.Context, room string, seq uint64) error {
	_, err := c.do(ctx, map[string]any{"op": "read", "room": room, "seq": seq}, false)
	return err
}

// Delivered raises your delivered cursor in room to seq: a Join without
// From starts there.
func (c *Client) Delivered(ctx context.Context, room string, seq uint64) error {
	_, err := c.do(ctx, map[string]any{"op": "delivered", "room": room, "seq": seq}, false)
	return err
}

// Typing tells the room you are typing. It has no reply; repeat it every
// few seconds while the user types.
func (c *Client) Typing(room string) error {
	b, _ := json.Marshal(map[string]any{"op": "typing", "room": room})
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.sess == nil {
		return ErrConnectionLost
	}
	c.sess.write(b)
	return nil
}

// Request runs any other op of PROTOCOL.md section 5 (op is its JSON
// object without rid) and returns the reply's JSON. An error event is
// returned as an *Error. It is not resent after a reconnect.
func (c *Client) Request(ctx context.Context, op map[string]any) (json.RawMessage, error) {
	m := make(map[string]any, len(op))
	for k, v := range op {
		m[k] = v
	}
	f, err := c.do(ctx, m, false)
	if err != nil {
		return nil, err
	}
	return f.raw, nil
}
