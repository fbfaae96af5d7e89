package main

import (
	"slices"
	"testing"
	"time"
)

// Users learn of rooms they were added to, wherever they are connected;
// joined carries the presence snapshot; public rooms can be listed and a
// room's members' read cursors read.
func TestRoomDiscovery(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 20*time.Second)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")

	alice.request(ctx, map[string]any{"op": "create", "room": "team", "kind": "private"})
	alice.request(ctx, map[string]any{"op": "add", "room": "team", "user": "bob"})
	ev, err := bob.Expect(ctx, "room")
	if err != nil || ev.Room != "team" || ev.Action != "added" || ev.From != "alice" {
		t.Fatalf("bob's room event: %+v %v", ev, err)
	}
	dm := alice.request(ctx, map[string]any{"op": "dm", "user": "bob"})
	ev, err = bob.Expect(ctx, "room")
	if err != nil || ev.Room != dm.Room || ev.Kind != "dm" || ev.User != "alice" {
		t.Fatalf("bob's DM event: %+v %v", ev, err)
	}

	alice.join(ctx, "team", -1, "")
	j := bob.join(ctx, "team", -1, "")
	if !slices.Equal(j.Online, []string{"alice", "bob"}) {
		t.Fatalf("joined.online = %v, want [alice bob]", j.Online)
	}
	if jd := bob.join(ctx, dm.Room, -1, ""); !slices.Equal(jd.Users, []string{"alice", "bob"}) || jd.Kind != "dm" {
		t.Fatalf("DM joined: %+v", jd)
	}

	for _, r := range []string{"general", "gardening", "music"} {
		alice.request(ctx, map[string]any{"op": "create", "room": r})
	}
	var pub struct{ Rooms []struct{ ID string } }
	s.getJSON(ctx, "bob", "/api/public-rooms?q=g", &pub)
	var ids []string
	for _, r := range pub.Rooms {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{"gardening", "general"}) {
		t.Fatalf("public rooms with prefix g: %v", ids)
	}

	seq := alice.send(ctx, "team", "t1", "hello team").Seq
	bob.messages(ctx, "team", 1)
	bob.request(ctx, map[string]any{"op": "read", "room": "team", "seq": seq})
	var mem struct {
		Members []struct {
			User string
			Read uint64
		}
	}
	if code := s.getJSON(ctx, "alice", "/api/rooms/team/members", &mem); code != 200 || len(mem.Members) != 2 {
		t.Fatalf("members: %d %+v", code, mem)
	}
	if mem.Members[1].User != "bob" || mem.Members[1].Read != seq {
		t.Fatalf("bob's read cursor in members: %+v, want %d", mem.Members[1], seq)
	}
	if code := s.getJSON(ctx, "carol", "/api/rooms/team/members", nil); code != 403 {
		t.Fatalf("non-member reading members: %d", code)
	}
}
