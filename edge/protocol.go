package edge

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
)

// request is every client frame: one JSON object with an op. Fields that an
// op does not use are ignored. docs/PROTOCOL.md is the reference.
type request struct {
	Op    string          `json:"op"`
	RID   json.RawMessage `json:"rid,omitempty"` // echoed in the reply, any JSON scalar
	Token string          `json:"token,omitempty"`
	Room  natter.RoomID   `json:"room,omitempty"`
	User  natter.UserID   `json:"user,omitempty"`
	Kind  natter.RoomKind `json:"kind,omitempty"`
	After *uint64         `json:"after,omitempty"`
	Epoch string          `json:"epoch,omitempty"`
	Seq   uint64          `json:"seq,omitempty"`
	CID   string          `json:"cid,omitempty"`
	Text  *string         `json:"text,omitempty"`
	Role  natter.Role     `json:"role,omitempty"`    // role
	Secs  *int            `json:"seconds,omitempty"` // slowmode

	AddPolicy string `json:"add_policy,omitempty"` // settings: who may add you to private rooms
}

// Client operations.
const (
	opAuth      = "auth"
	opJoin      = "join"
	opLeave     = "leave"
	opPart      = "part"
	opCreate    = "create"
	opAdd       = "add"
	opRemove    = "remove"
	opDM        = "dm"
	opSend      = "send"
	opDelivered = "delivered"
	opRead      = "read"
	opTyping    = "typing"
	opPing      = "ping"
	// Moderation (see moderation.go).
	opKick      = natter.ActKick
	opBan       = natter.ActBan
	opUnban     = natter.ActUnban
	opMute      = natter.ActMute
	opUnmute    = natter.ActUnmute
	opRole      = natter.ActRole
	opSlowMode  = natter.ActSlowMode
	opRetention = natter.ActRetention

	opInvitations = "invitations" // list your pending invitations
	opAccept      = "accept"      // accept an invitation
	opDecline     = "decline"     // decline an invitation
	opSettings    = "settings"    // read or set your add policy
)

// event is every server frame. Like request, one struct with omitempty
// fields keeps encoding in one place.
type event struct {
	Type      string          `json:"type"`
	RID       json.RawMessage `json:"rid,omitempty"`
	Room      natter.RoomID   `json:"room,omitempty"`
	Seq       uint64          `json:"seq,omitempty"`
	Prev      *uint64         `json:"prev,omitempty"`
	Epoch     string          `json:"epoch,omitempty"`
	From      natter.UserID   `json:"from,omitempty"`
	User      natter.UserID   `json:"user,omitempty"`
	Text      *string         `json:"text,omitempty"`
	CID       string          `json:"cid,omitempty"`
	TS        *time.Time      `json:"ts,omitempty"`
	Kind      natter.RoomKind `json:"kind,omitempty"`
	Owner     natter.UserID   `json:"owner,omitempty"`
	Last      *uint64         `json:"last,omitempty"`
	After     *uint64         `json:"after,omitempty"`
	Reset     bool            `json:"reset,omitempty"`
	Dup       bool            `json:"dup,omitempty"`
	Status    string          `json:"status,omitempty"`
	Action    string          `json:"action,omitempty"`
	Code      string          `json:"code,omitempty"`
	Message   string          `json:"message,omitempty"`
	Read      *uint64         `json:"read,omitempty"`
	Limits    *limitsInfo     `json:"limits,omitempty"`
	Users     []natter.UserID `json:"users,omitempty"`     // the two users of a DM
	Online    []natter.UserID `json:"online,omitempty"`    // presence snapshot in joined
	By        natter.UserID   `json:"by,omitempty"`        // who took a moderation action
	Role      natter.Role     `json:"role,omitempty"`      // a role, in role and moderation replies
	Seconds   *int            `json:"seconds,omitempty"`   // slow mode interval, retention
	Retention int             `json:"retention,omitempty"` // joined: the room's retention in seconds
	WaitMS    int64           `json:"wait_ms,omitempty"`   // slow_mode error: how long to wait

	Invited     bool                `json:"invited,omitempty"`     // ok to add: the user was invited, not added
	Invitations []broker.Invitation `json:"invitations,omitempty"` // reply to invitations
	AddPolicy   string              `json:"add_policy,omitempty"`  // reply to settings
}

// Server event types.
const (
	evReady    = "ready"
	evJoined   = "joined"
	evLeft     = "left"
	evCreated  = "created"
	evDM       = "dm"
	evOK       = "ok"
	evAck      = "ack"
	evMsg      = "msg"
	evReceipt  = "receipt"
	evPresence = "presence"
	evTyping   = "typing"
	evMember   = "member"
	evRoom     = "room" // user event: you were added to or removed from a room
	evPong     = "pong"
	evError    = "error"

	evInvitations = "invitations"
	evSettings    = "settings"
)

// limitsInfo tells a client, in the ready event, the limits it must keep.
type limitsInfo struct {
	MaxFrame    int     `json:"max_frame"`    // bytes per frame
	MaxText     int     `json:"max_text"`     // bytes of message text
	Rate        float64 `json:"rate"`         // frames per second, sustained
	Burst       int     `json:"burst"`        // frames above rate in a burst
	Queue       int     `json:"queue"`        // server frames queued before 4009
	IdleTimeout int     `json:"idle_timeout"` // seconds of silence before 4010
}

func u64(v uint64) *uint64 { return &v }

func errEvent(rid json.RawMessage, room natter.RoomID, err error) event {
	ev := event{Type: evError, RID: rid, Room: room, Code: natter.ErrorCode(err), Message: natter.ErrorMessage(err)}
	var slow *slowErr
	if errors.As(err, &slow) {
		ev.WaitMS = max(1, slow.wait.Milliseconds())
	}
	return ev
}

func encode(ev event) []byte {
	b, err := json.Marshal(ev)
	if err != nil {
		// Only reachable by a bug: every field is a plain value.
		panic("edge: encode event: " + err.Error())
	}
	return b
}
