package natter

import (
	"context"
	"time"
)

// Directory is the cluster-wide registry of rooms, their members and each
// user's cursors. broker implements it on JetStream KV; history and edge use it.
type Directory interface {
	// Room returns a room's metadata, or an ENOTFOUND error.
	Room(ctx context.Context, id RoomID) (Room, error)
	// IsMember reports whether user belongs to room. For public rooms this is
	// true once the user has joined.
	IsMember(ctx context.Context, room RoomID, user UserID) (bool, error)
	// UserRooms lists the rooms user is a member of.
	UserRooms(ctx context.Context, user UserID) ([]RoomID, error)
	// Cursor returns user's delivered/read cursor in room (zero if none).
	Cursor(ctx context.Context, user UserID, room RoomID) (Cursor, error)
	// Members lists a room's members, sorted.
	Members(ctx context.Context, room RoomID) ([]UserID, error)
	// PublicRooms lists public rooms whose id starts with prefix, sorted,
	// at most limit of them.
	PublicRooms(ctx context.Context, prefix string, limit int) ([]Room, error)
}

// TokenVerifier turns a bearer token into the user it authenticates and
// the time the token expires (zero if it does not). Any failure is an
// EUNAUTHORIZED error.
type TokenVerifier interface {
	Verify(token string) (UserID, time.Time, error)
}

// Moderator is room moderation, for the HTTP API: the same checks and
// effects as the protocol's moderation ops.
type Moderator interface {
	// ModerateRoom checks that a.By may take action a and takes it.
	ModerateRoom(ctx context.Context, a ModAction) (ModAction, error)
	// ModState returns a room's roles, bans, mutes, slow mode and log.
	ModState(ctx context.Context, r Room) (ModState, error)
}
