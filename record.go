package natter

// Record kinds. Every record in a room's stream is a Message; Kind says what
// it does. A plain chat message has Kind "" on the wire (omitted) so that
// records written before kinds existed read as messages.
//
// Changes to a message are records of their own, after it in the room's
// stream, with their own Seq: a client resuming from seq S receives every
// change made after S in order, also to messages older than S, and the
// archive, replay and every edge see them in the same order.
const (
	KindMessage = ""       // a chat message (Text; optional ReplyTo, Thread, Mentions)
	KindEdit    = "edit"   // Target's new Text, by its author
	KindDelete  = "delete" // Target is deleted: a tombstone; Target's text is erased from the stream
	KindReact   = "react"  // From adds (or, with Remove, removes) Emoji on Target
	KindTopic   = "topic"  // the room's Topic and/or Name changed (nil = unchanged)
)

// Limits on records, enforced where a change is accepted (the edge) and
// documented in docs/PROTOCOL.md.
const (
	MaxEdits          = 100 // edits per message
	MaxReactionEmoji  = 20  // distinct emoji per message
	MaxReactionsTotal = 500 // reactions (user, emoji pairs) per message
	MaxEmojiBytes     = 32  // bytes of one emoji or :shortcode:
	MaxMentions       = 50  // distinct users mentioned by one message
	MaxTopicBytes     = 1024
	MaxNameBytes      = 100
)

// RoomMention is the Mentions entry that stands for "@room": everyone in the
// room. It cannot be a user id (user ids never start with '@').
const RoomMention UserID = "@room"

// IsChange reports whether m changes another record (edit, delete, react)
// rather than being a message or room change of its own.
func (m *Message) IsChange() bool {
	return m.Kind == KindEdit || m.Kind == KindDelete || m.Kind == KindReact
}
