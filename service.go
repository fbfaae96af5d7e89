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

// Claims is what a verified token says: who it authenticates, which
// session (login) it belongs to and when it was issued and expires.
type Claims struct {
	User UserID
	// Session identifies the login this token descends from: a login and
	// every refresh after it share one id (the sid claim), so that logging
	// out ends the whole chain. Empty for tokens without a sid.
	Session string
	// IssuedAt is the iat claim (zero if the token has none); AuthTime is
	// when the session began (auth_time; zero if absent).
	IssuedAt, AuthTime time.Time
	// Expires is the exp claim (zero if the token has none).
	Expires time.Time
}

// TokenVerifier turns a bearer token into the claims it carries. Any
// failure (a bad signature, an expired or revoked token) is an
// EUNAUTHORIZED error.
type TokenVerifier interface {
	Verify(token string) (Claims, error)
}

// Moderator is room moderation, for the HTTP API: the same checks and
// effects as the protocol's moderation ops.
type Moderator interface {
	// ModerateRoom checks that a.By may take action a and takes it.
	ModerateRoom(ctx context.Context, a ModAction) (ModAction, error)
	// ModState returns a room's roles, bans, mutes, slow mode and log.
	ModState(ctx context.Context, r Room) (ModState, error)
}
