package natter

import "time"

// Message is one chat message as stored in a room's stream.
//
// Seq is the JetStream stream sequence: strictly increasing within a room
// but not contiguous (all rooms share one stream). Prev is the sequence of
// the room's previous message (0 for the first), which lets any reader
// detect a gap without knowing other rooms' traffic.
type Message struct {
	Room     RoomID    `json:"room"`
	Seq      uint64    `json:"seq"`
	Prev     uint64    `json:"prev"`
	Epoch    string    `json:"epoch"`
	From     UserID    `json:"from"`
	Text     string    `json:"text"`
	ClientID string    `json:"cid"`
	Time     time.Time `json:"ts"`

	// Kind is what the record does (record.go); "" is a chat message.
	Kind string `json:"kind,omitempty"`
	// Target is the seq of the message an edit, delete or react applies to.
	Target uint64 `json:"target,omitempty"`
	// ReplyTo is the seq of the message a message quotes; Thread the seq of
	// the thread root a message replies in. Both are in the same room.
	ReplyTo uint64 `json:"reply_to,omitempty"`
	Thread  uint64 `json:"thread,omitempty"`
	// AlsoRoom marks a thread reply that is also shown in the room timeline.
	AlsoRoom bool `json:"also_room,omitempty"`
	// Mentions are the users a message's text mentions (@name), as parsed
	// when it was accepted; RoomMention for @room. Whether a mentioned user
	// is notified depends on their membership, decided by the reader.
	Mentions []UserID `json:"mentions,omitempty"`
	// Emoji and Remove belong to a react record.
	Emoji  string `json:"emoji,omitempty"`
	Remove bool   `json:"remove,omitempty"`
	// Topic and Name belong to a topic record; nil leaves the value unchanged.
	Topic *string `json:"topic,omitempty"`
	Name  *string `json:"name,omitempty"`
}

// Position is a place in a room's stream. Epoch identifies the stream
// incarnation: if the stream is deleted and recreated its sequences restart,
// and a position from the old epoch must not be resumed from silently.
type Position struct {
	Seq   uint64 `json:"seq"`
	Epoch string `json:"epoch"`
}

// RoomKind says who may join a room.
type RoomKind string

const (
	Public  RoomKind = "public"  // anyone may join
	Private RoomKind = "private" // only members the owner added
	Direct  RoomKind = "dm"      // exactly two users
)

// Room is a room's metadata as kept in the cluster-wide room directory.
type Room struct {
	ID      RoomID    `json:"id"`
	Kind    RoomKind  `json:"kind"`
	Owner   UserID    `json:"owner,omitempty"`
	Users   []UserID  `json:"users,omitempty"` // the two users of a DM
	Created time.Time `json:"created"`
	// Topic and Name are set by topic records (the latest wins); TopicSeq
	// is that record's seq, so that a late or repeated update of the
	// directory never replaces a newer one.
	Topic    string `json:"topic,omitempty"`
	Name     string `json:"name,omitempty"`
	TopicSeq uint64 `json:"topic_seq,omitempty"`
}

// Cursor is what a user has been delivered and has read in one room.
type Cursor struct {
	Delivered uint64 `json:"delivered"`
	Read      uint64 `json:"read"`
	Epoch     string `json:"epoch,omitempty"`
}
