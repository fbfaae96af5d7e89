package edge

import (
	"testing"
	"time"
)

// Zero takes the default (the per-connection rate for the user rate),
// negative switches a quota off (0 below), anything else is kept. The
// report interval has a default but no "off".
func TestQuotaDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Quota
		want Quota
	}{
		{"zero", Quota{}, Quota{RoomsPerHour: 30, RoomsPerUser: 500, RoomMembers: 10000, AddsPerHour: 20,
			Invitations: 100, ConnsPerUser: 20, UserRate: 7, UserBurst: 9, UserRateInterval: DefaultUserRateInterval, RoomOps: 60}},
		{"off", Quota{RoomsPerHour: -1, RoomsPerUser: -1, RoomMembers: -1, AddsPerHour: -1, Invitations: -1,
			ConnsPerUser: -1, UserRate: -1, UserBurst: -1, UserRateInterval: -1, RoomOps: -1}, Quota{UserRateInterval: DefaultUserRateInterval}},
		{"set", Quota{RoomsPerHour: 1, RoomsPerUser: 2, RoomMembers: 3, AddsPerHour: 4, Invitations: 5,
			ConnsPerUser: 6, UserRate: 0.5, UserBurst: 8, UserRateInterval: time.Second, RoomOps: 9},
			Quota{RoomsPerHour: 1, RoomsPerUser: 2, RoomMembers: 3, AddsPerHour: 4, Invitations: 5,
				ConnsPerUser: 6, UserRate: 0.5, UserBurst: 8, UserRateInterval: time.Second, RoomOps: 9}},
	} {
		if got := tc.in.withDefaults(7, 9); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
