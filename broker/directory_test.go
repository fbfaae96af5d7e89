package broker

import (
	"reflect"
	"testing"
	"time"

	"github.com/natter-chat/natter"
)

func TestCreateRoom(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	created := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	room := natter.Room{ID: "general", Kind: natter.Public, Owner: "alice", Created: created}

	got, isNew, err := b.CreateRoom(ctx, room)
	if err != nil || !isNew || !reflect.DeepEqual(got, room) {
		t.Fatalf("CreateRoom = %+v, %v, %v; want %+v, true, nil", got, isNew, err, room)
	}
	// Same kind again: the stored room, not the new one, and not created.
	again := natter.Room{ID: "general", Kind: natter.Public, Owner: "bob", Created: created.Add(time.Hour)}
	got, isNew, err = b.CreateRoom(ctx, again)
	if err != nil || isNew || !reflect.DeepEqual(got, room) {
		t.Errorf("CreateRoom again = %+v, %v, %v; want %+v, false, nil", got, isNew, err, room)
	}
	// Another kind: a conflict that reports the existing room.
	got, isNew, err = b.CreateRoom(ctx, natter.Room{ID: "general", Kind: natter.Private, Owner: "bob"})
	if natter.ErrorCode(err) != natter.ECONFLICT || isNew || got.Kind != natter.Public {
		t.Errorf("CreateRoom of another kind = %+v, %v, %v; want the public room and %s", got, isNew, err, natter.ECONFLICT)
	}
	if r, err := b.Room(ctx, "general"); err != nil || !reflect.DeepEqual(r, room) {
		t.Errorf("Room = %+v, %v; want %+v", r, err, room)
	}

	dm := natter.Room{ID: natter.DMRoom("alice", "bob"), Kind: natter.Direct, Users: []natter.UserID{"alice", "bob"}, Created: created}
	if _, isNew, err := b.CreateRoom(ctx, dm); err != nil || !isNew {
		t.Fatalf("CreateRoom(dm) = %v, %v", isNew, err)
	}
	if r, err := b.Room(ctx, dm.ID); err != nil || !reflect.DeepEqual(r, dm) {
		t.Errorf("Room(dm) = %+v, %v; want %+v", r, err, dm)
	}
}

func TestRoomNotFound(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	if _, err := b.Room(ctx, "nowhere"); natter.ErrorCode(err) != natter.ENOTFOUND {
		t.Errorf("Room(nowhere) error %v, want %s", err, natter.ENOTFOUND)
	}
	// A prefix of an existing room is not that room.
	if _, _, err := b.CreateRoom(ctx, natter.Room{ID: "ab", Kind: natter.Public}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Room(ctx, "a"); natter.ErrorCode(err) != natter.ENOTFOUND {
		t.Errorf("Room(a) error %v, want %s", err, natter.ENOTFOUND)
	}
}

func TestMembership(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Rooms and users whose ids are prefixes of each other.
	must(b.AddMember(ctx, "ab", "carol"))
	must(b.AddMember(ctx, "a", "bob"))
	must(b.AddMember(ctx, "a", "alice"))
	must(b.AddMember(ctx, "a", "al"))
	must(b.AddMember(ctx, "b", "alice"))
	must(b.AddMember(ctx, "ab", "alice"))
	must(b.AddMember(ctx, "a", "alice")) // again: no change

	checkMembers := func(room natter.RoomID, want ...natter.UserID) {
		t.Helper()
		got, err := b.Members(ctx, room)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 || len(want) != 0 {
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Members(%s) = %v, want %v", room, got, want)
			}
		}
	}
	checkRooms := func(user natter.UserID, want ...natter.RoomID) {
		t.Helper()
		got, err := b.UserRooms(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 || len(want) != 0 {
			if !reflect.DeepEqual(got, want) {
				t.Errorf("UserRooms(%s) = %v, want %v", user, got, want)
			}
		}
	}
	checkMember := func(room natter.RoomID, user natter.UserID, want bool) {
		t.Helper()
		if got, err := b.IsMember(ctx, room, user); err != nil || got != want {
			t.Errorf("IsMember(%s, %s) = %v, %v; want %v", room, user, got, err, want)
		}
	}

	checkMembers("a", "al", "alice", "bob")
	checkMembers("ab", "alice", "carol")
	checkMembers("b", "alice")
	checkMembers("nowhere")
	checkRooms("alice", "a", "ab", "b")
	checkRooms("al", "a")
	checkRooms("carol", "ab")
	checkRooms("nobody")
	checkMember("a", "alice", true)
	checkMember("a", "al", true)
	checkMember("a", "carol", false)
	checkMember("ab", "bob", false)
	checkMember("a", "ali", false)

	must(b.RemoveMember(ctx, "a", "alice"))
	must(b.RemoveMember(ctx, "a", "alice"))  // again: no error
	must(b.RemoveMember(ctx, "zz", "alice")) // never a member: no error
	checkMember("a", "alice", false)
	checkMember("ab", "alice", true)
	checkMembers("a", "al", "bob")
	checkRooms("alice", "ab", "b")

	// Rejoining after removal works.
	must(b.AddMember(ctx, "a", "alice"))
	checkMember("a", "alice", true)
	checkRooms("alice", "a", "ab", "b")
}
