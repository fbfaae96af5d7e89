package natter

import "testing"

func TestMayModerate(t *testing.T) {
	for _, tc := range []struct {
		actor, target Role
		action        string
		ok            bool
	}{
		{RoleOwner, RoleAdmin, ActBan, true},
		{RoleOwner, RoleMember, ActRole, true},
		{RoleOwner, RoleOwner, ActKick, false},
		{RoleAdmin, RoleMember, ActMute, true},
		{RoleAdmin, RoleMember, ActSlowMode, true},
		{RoleAdmin, RoleOwner, ActKick, false},
		{RoleAdmin, RoleAdmin, ActKick, false},
		{RoleAdmin, RoleMember, ActRole, false},
		{RoleMember, RoleMember, ActKick, false},
		{RoleMember, RoleMember, ActSlowMode, false},
	} {
		if err := MayModerate(tc.actor, tc.target, tc.action); (err == nil) != tc.ok {
			t.Errorf("%s %s %s: %v, want ok=%v", tc.actor, tc.action, tc.target, err, tc.ok)
		} else if err != nil && ErrorCode(err) != EFORBIDDEN {
			t.Errorf("%s %s %s: code %s, want forbidden", tc.actor, tc.action, tc.target, ErrorCode(err))
		}
	}
}

func TestModActionCheck(t *testing.T) {
	for _, tc := range []struct {
		a  ModAction
		ok bool
	}{
		{ModAction{Action: ActKick, Room: "town", User: "bob", By: "alice"}, true},
		{ModAction{Action: ActKick, Room: "town", By: "alice"}, false},
		{ModAction{Action: ActKick, Room: "town", User: "alice", By: "alice"}, false},
		{ModAction{Action: ActKick, Room: DMRoom("a", "b"), User: "a", By: "b"}, false},
		{ModAction{Action: "smite", Room: "town", User: "bob", By: "alice"}, false},
		{ModAction{Action: ActRole, Room: "town", User: "bob", By: "alice", Role: RoleOwner}, false},
		{ModAction{Action: ActRole, Room: "town", User: "bob", By: "alice", Role: RoleAdmin}, true},
		{ModAction{Action: ActSlowMode, Room: "town", By: "alice", Seconds: 10}, true},
		{ModAction{Action: ActSlowMode, Room: "town", By: "alice", Seconds: -1}, false},
		{ModAction{Action: ActSlowMode, Room: "town", By: "alice", Seconds: MaxSlowMode + 1}, false},
		{ModAction{Action: ActBan, Room: "a.b", User: "bob", By: "alice"}, false},
	} {
		if err := tc.a.Check(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v, want ok=%v", tc.a, err, tc.ok)
		}
	}
}
