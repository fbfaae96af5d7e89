package client

import (
	"encoding/json"
	"time"
)

// Event is one thing the server told the client: a record of a room
// (*Message, *Edit, *Delete, *Reaction, *TopicChange, *UnknownRecord), an
// ephemeral event (*Presence, *Typing, *Receipt, *Member, *RoomNotice,
// *Service, *ServerError) or a change of the client's own state
// (*Connected, *Disconnected, *Joined, *Left). Switch on its type.
type Event interface{ event() }

// Record is what every record of a room's stream carries. Records of one
// room arrive once each, in increasing Seq, across reconnects.
type Record struct {
	Room  string
	Seq   uint64 // the record's position in the stream
	Prev  uint64 // the Seq delivered before it on the subscription
	Epoch string
	From  string // the sender, or who made the change
	CID   string // the sender's client id
	TS    time.Time
}

// Message is a message (a record without a kind).
type Message struct {
	Record
	Text     string
	ReplyTo  uint64   // the message it quotes, 0 if none
	Thread   uint64   // the thread root it replies in, 0 if none
	AlsoRoom bool     // a thread reply also shown in the room
	Mentions []string // users mentioned, "@room" for everyone
}

// Edit replaces the text of the message Target.
type Edit struct {
	Record
	Target   uint64
	Text     string
	Mentions []string
}

// Delete is the tombstone of the message Target: show it as deleted and
// drop its text, edits and reactions. From is who deleted it.
type Delete struct {
	Record
	Target uint64
}

// Reaction adds Emoji from From to the message Target, or with Remove
// takes it away.
type Reaction struct {
	Record
	Target uint64
	Emoji  string
	Remove bool
}

// TopicChange changes the room's topic and/or display name; a nil field is
// unchanged, "" is cleared.
type TopicChange struct {
	Record
	Topic, Name *string
}

// UnknownRecord is a record of a kind this version of the package does not
// know; Raw is the whole msg event.
type UnknownRecord struct {
	Record
	Kind string
	Raw  json.RawMessage
}

// Presence says a user came online in a room (their first connection in
// the cluster joined it) or went offline. Treat it as state, not a toggle.
type Presence struct {
	Room, User string
	Online     bool
}

// Typing says a member is typing in a room.
type Typing struct{ Room, User string }

// Receipt says a member's read cursor in a room moved to Seq.
type Receipt struct {
	Room string
	Seq  uint64
	User string
}

// Member is a membership or moderation change in a joined room
// (PROTOCOL.md section 6: added, removed, kicked, banned, muted, role,
// slowmode, retention, …).
type Member struct {
	Room, User, Action, By, Role string
	Seconds                      int
}

// RoomNotice tells the user about a room they were added to, invited to or
// removed from, or a DM someone opened with them (the "room" event).
type RoomNotice struct {
	Room, From, User, Kind, Owner, Action, By string
}

// Service says whether the server can store messages at the moment.
type Service struct {
	Available bool
	Message   string
}

// ServerError is an error event that answers no request of this client
// (invalid JSON, a frame refused by the rate limiter, a room whose replay
// failed).
type ServerError struct{ Err *Error }

// Connected says the client is authenticated on a new connection; every
// joined room is being resumed. Reconnect is false for the first one.
type Connected struct {
	User, Epoch string
	Limits      Limits
	Reconnect   bool
}

// Limits are the server's limits for the connection (PROTOCOL.md
// section 3).
type Limits struct {
	MaxFrame    int `json:"max_frame"`
	MaxText     int `json:"max_text"`
	Rate        int `json:"rate"`
	Burst       int `json:"burst"`
	Queue       int `json:"queue"`
	IdleTimeout int `json:"idle_timeout"` // seconds
}

// Disconnected says the connection ended; the client reconnects after a
// backoff unless it was closed. Err is a *CloseError when the server sent
// a close frame.
type Disconnected struct{ Err error }

// Joined says a room is joined on the connection: after Join, and again
// after every resume. With Reset the stream was recreated: drop what you
// hold of the room, it is replayed from the start.
type Joined struct {
	Room, Epoch, Kind, Owner string
	Last, After              uint64 // the room's newest seq at the join; where delivery starts
	Reset                    bool
	Resumed                  bool     // a rejoin by the client itself
	Online, Users            []string // presence snapshot; DM users
	Topic, Name              *string
	Retention                int // seconds, 0: none
}

// Left says the room is no longer joined: after Leave, or because the user
// was removed (Err is nil), or because resuming it failed (Err says why).
type Left struct {
	Room string
	Err  error
}

func (*Message) event()       {}
func (*Edit) event()          {}
func (*Delete) event()        {}
func (*Reaction) event()      {}
func (*TopicChange) event()   {}
func (*UnknownRecord) event() {}
func (*Presence) event()      {}
func (*Typing) event()        {}
func (*Receipt) event()       {}
func (*Member) event()        {}
func (*RoomNotice) event()    {}
func (*Service) event()       {}
func (*ServerError) event()   {}
func (*Connected) event()     {}
func (*Disconnected) event()  {}
func (*Joined) event()        {}
func (*Left) event()          {}

// frame is a server event as it is on the wire.
type frame struct {
	Type      string          `json:"type"`
	RID       json.RawMessage `json:"rid,omitempty"`
	Room      string          `json:"room"`
	Seq       uint64          `json:"seq"`
	Prev      uint64          `json:"prev"`
	Epoch     string          `json:"epoch"`
	From      string          `json:"from"`
	User      string          `json:"user"`
	Text      string          `json:"text"`
	CID       string          `json:"cid"`
	TS        time.Time       `json:"ts"`
	Kind      string          `json:"kind"`
	Owner     string          `json:"owner"`
	Last      uint64          `json:"last"`
	After     uint64          `json:"after"`
	Reset     bool            `json:"reset"`
	Dup       bool            `json:"dup"`
	Noop      bool            `json:"noop"`
	Status    string          `json:"status"`
	Action    string          `json:"action"`
	Code      string          `json:"code"`
	Message   string          `json:"message"`
	Users     []string        `json:"users"`
	Online    []string        `json:"online"`
	By        string          `json:"by"`
	Role      string          `json:"role"`
	Seconds   int             `json:"seconds"`
	Retention int             `json:"retention"`
	WaitMS    int64           `json:"wait_ms"`
	Limits    Limits          `json:"limits"`
	Target    uint64          `json:"target"`
	ReplyTo   uint64          `json:"reply_to"`
	Thread    uint64          `json:"thread"`
	AlsoRoom  bool            `json:"also_room"`
	Mentions  []string        `json:"mentions"`
	Emoji     string          `json:"emoji"`
	Remove    bool            `json:"remove"`
	Topic     *string         `json:"topic"`
	Name      *string         `json:"name"`
	raw       []byte
}

func (f *frame) record() Event {
	r := Record{Room: f.Room, Seq: f.Seq, Prev: f.Prev, Epoch: f.Epoch, From: f.From, CID: f.CID, TS: f.TS}
	switch f.Kind {
	case "":
		return &Message{Record: r, Text: f.Text, ReplyTo: f.ReplyTo, Thread: f.Thread, AlsoRoom: f.AlsoRoom, Mentions: f.Mentions}
	case "edit":
		return &Edit{Record: r, Target: f.Target, Text: f.Text, Mentions: f.Mentions}
	case "delete":
		return &Delete{Record: r, Target: f.Target}
	case "react":
		return &Reaction{Record: r, Target: f.Target, Emoji: f.Emoji, Remove: f.Remove}
	case "topic":
		return &TopicChange{Record: r, Topic: f.Topic, Name: f.Name}
	}
	return &UnknownRecord{Record: r, Kind: f.Kind, Raw: append(json.RawMessage(nil), f.raw...)}
}

func (f *frame) joined(resumed bool) *Joined {
	return &Joined{Room: f.Room, Epoch: f.Epoch, Kind: f.Kind, Owner: f.Owner, Last: f.Last, After: f.After,
		Reset: f.Reset, Resumed: resumed, Online: f.Online, Users: f.Users, Topic: f.Topic, Name: f.Name, Retention: f.Retention}
}

// ephemeral returns the event for a frame that is not a reply, a record
// nor a joined/left (nil for one the client does not surface).
func (f *frame) ephemeral() Event {
	switch f.Type {
	case "presence":
		return &Presence{Room: f.Room, User: f.User, Online: f.Status == "online"}
	case "typing":
		return &Typing{Room: f.Room, User: f.User}
	case "receipt":
		return &Receipt{Room: f.Room, Seq: f.Seq, User: f.User}
	case "member":
		return &Member{Room: f.Room, User: f.User, Action: f.Action, By: f.By, Role: f.Role, Seconds: f.Seconds}
	case "room":
		return &RoomNotice{Room: f.Room, From: f.From, User: f.User, Kind: f.Kind, Owner: f.Owner, Action: f.Action, By: f.By}
	case "service":
		return &Service{Available: f.Status == "ok", Message: f.Message}
	case "error":
		return &ServerError{Err: f.err()}
	}
	return nil
}

func (f *frame) err() *Error {
	return &Error{Code: f.Code, Message: f.Message, Room: f.Room, CID: f.CID, Wait: time.Duration(f.WaitMS) * time.Millisecond}
}
