package main

import (
	"flag"

	"github.com/natter-chat/natter/edge"
)

// defaultQuota is the edge's quota defaults, shown as the flags' defaults.
func defaultQuota() edge.Quota {
	return edge.Quota{
		RoomsPerHour: edge.DefaultRoomsPerHour, RoomsPerUser: edge.DefaultRoomsPerUser,
		RoomMembers: edge.DefaultRoomMembers, AddsPerHour: edge.DefaultAddsPerHour,
		Invitations: edge.DefaultInvitations, ConnsPerUser: edge.DefaultConnsPerUser,
		RoomOps: edge.DefaultRoomOps, UserRateInterval: edge.DefaultUserRateInterval,
	}
}

// quotaFlags registers the quota flags (docs/CONFIG.md, docs/SECURITY.md#quotas).
// Negative values switch a quota off.
func quotaFlags(fs *flag.FlagSet, q *edge.Quota) {
	fs.IntVar(&q.RoomsPerHour, "max-rooms-per-hour", q.RoomsPerHour, "rooms (and new DMs) one user may create per hour, cluster-wide (negative: no limit)")
	fs.IntVar(&q.RoomsPerUser, "max-rooms-per-user", q.RoomsPerUser, "rooms (and new DMs) one user may create in total, cluster-wide (negative: no limit)")
	fs.IntVar(&q.RoomMembers, "max-room-members", q.RoomMembers, "members of one room, cluster-wide (negative: no limit)")
	fs.IntVar(&q.AddsPerHour, "max-adds-per-hour", q.AddsPerHour, "private rooms others may add a user to per hour; further adds become invitations (negative: no limit)")
	fs.IntVar(&q.Invitations, "max-invitations", q.Invitations, "pending invitations per user; further ones are refused (negative: no limit)")
	fs.IntVar(&q.ConnsPerUser, "max-conns-per-user", q.ConnsPerUser, "WebSocket connections of one user on this edge; more are closed with 4029 (negative: no limit)")
	fs.Float64Var(&q.UserRate, "user-rate", q.UserRate, "sends per second of one user over all their connections on all edges (0: same as --rate; negative: no limit)")
	fs.IntVar(&q.UserBurst, "user-burst", q.UserBurst, "sends one user may make in a burst above --user-rate (0: same as --burst)")
	fs.DurationVar(&q.UserRateInterval, "user-rate-interval", q.UserRateInterval, "how often edges tell each other their users' sends, to share --user-rate cluster-wide; the total may exceed the rate by about one interval's worth per extra edge")
	fs.IntVar(&q.RoomOps, "max-room-ops-per-minute", q.RoomOps, "create, add, remove, dm, accept and decline ops of one user per minute on this edge (negative: no limit)")
}
