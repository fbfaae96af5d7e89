package natter

import "time"

// Role is a user's standing in a room. The owner is the room's creator and
// never changes; admins are named by the owner; everyone else is a member.
type Role string

const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Moderation actions, the same words in the protocol ops, the HTTP API, the
// room events (as past participles, see ModAction.Event) and the log.
const (
	ActKick     = "kick"     // remove from the room now (may re-join a public room)
	ActBan      = "ban"      // remove and keep out, public rooms included
	ActUnban    = "unban"    //
	ActMute     = "mute"     // may read, cannot send
	ActUnmute   = "unmute"   //
	ActRole     = "role"     // make admin or member again (owner only)
	ActSlowMode = "slowmode" // minimum seconds between one user's sends (0: off)
	// ActRetention sets how long the room's messages are kept, in seconds
	// (0: as long as the stream and the history archive keep everything).
	// Owner only: it deletes history.
	ActRetention = "retention"
)

// MaxRetention is the longest room retention, in seconds (10 years).
const MaxRetention = 10 * 365 * 24 * 60 * 60

// MaxSlowMode is the longest slow-mode interval, in seconds (6 hours).
const MaxSlowMode = 6 * 60 * 60

// ModAction is one moderation act, as requested and as logged.
type ModAction struct {
	Action  string    `json:"action"`
	Room    RoomID    `json:"room"`
	User    UserID    `json:"user,omitempty"` // the target; none for slowmode and retention
	By      UserID    `json:"by"`
	Role    Role      `json:"role,omitempty"`    // for role
	Seconds int       `json:"seconds,omitempty"` // for slowmode and retention
	At      time.Time `json:"at"`
}

// Event is the action word of the room event members see.
func (a ModAction) Event() string {
	switch a.Action {
	case ActKick:
		return "kicked"
	case ActBan:
		return "banned"
	case ActUnban:
		return "unbanned"
	case ActMute:
		return "muted"
	case ActUnmute:
		return "unmuted"
	}
	return a.Action // role, slowmode, retention
}

// RoomWide reports whether a acts on the room rather than on a user.
func (a ModAction) RoomWide() bool { return a.Action == ActSlowMode || a.Action == ActRetention }

// Check says whether a is well-formed (not whether it is allowed).
func (a ModAction) Check() error {
	if err := a.Room.Validate(); err != nil {
		return err
	}
	if a.Room.IsDM() {
		return Errorf(EINVALID, "direct conversations have no moderation")
	}
	switch a.Action {
	case ActSlowMode:
		if a.Seconds < 0 || a.Seconds > MaxSlowMode {
			return Errorf(EINVALID, "seconds must be 0 to %d", MaxSlowMode)
		}
		return nil
	case ActRetention:
		if a.Seconds < 0 || a.Seconds > MaxRetention {
			return Errorf(EINVALID, "seconds must be 0 to %d", MaxRetention)
		}
		return nil
	case ActKick, ActBan, ActUnban, ActMute, ActUnmute, ActRole:
	case "":
		return Errorf(EINVALID, "missing action")
	default:
		return Errorf(EINVALID, "unknown moderation action %q", a.Action)
	}
	if a.User == "" {
		return Errorf(EINVALID, "missing user")
	}
	if err := a.User.Validate(); err != nil {
		return err
	}
	if a.User == a.By {
		return Errorf(EINVALID, "moderators do not act on themselves")
	}
	if a.Action == ActRole && a.Role != RoleAdmin && a.Role != RoleMember {
		return Errorf(EINVALID, "role must be admin or member")
	}
	return nil
}

// MayModerate says whether a user of role actor may take action against a
// user of role target (target is ignored for slowmode). Owners act on
// anyone but themselves; admins on members only; only the owner names or
// revokes admins.
func MayModerate(actor, target Role, action string) error {
	switch {
	case actor != RoleOwner && actor != RoleAdmin:
		return Errorf(EFORBIDDEN, "only the room's owner and admins moderate it")
	case action == ActRetention && actor != RoleOwner:
		return Errorf(EFORBIDDEN, "only the room's owner sets its retention")
	case action == ActRetention, action == ActSlowMode:
		return nil
	case target == RoleOwner:
		return Errorf(EFORBIDDEN, "the room's owner cannot be moderated")
	case action == ActRole && actor != RoleOwner:
		return Errorf(EFORBIDDEN, "only the owner names or revokes admins")
	case target == RoleAdmin && actor != RoleOwner:
		return Errorf(EFORBIDDEN, "admins cannot act on other admins")
	}
	return nil
}

// ModState is a room's moderation state.
type ModState struct {
	Owner     UserID      `json:"owner,omitempty"`
	Admins    []UserID    `json:"admins"`
	Bans      []UserID    `json:"bans"`
	Mutes     []UserID    `json:"mutes"`
	SlowMode  int         `json:"slowmode"`  // seconds, 0: off
	Retention int         `json:"retention"` // seconds, 0: none of the room's own
	Log       []ModAction `json:"log"`       // oldest first, the latest MaxModLog
}

// MaxModLog is how many moderation acts a room's log keeps.
const MaxModLog = 200
