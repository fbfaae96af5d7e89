package wsclient

import "testing"

func TestRoomApply(t *testing.T) {
	r := NewRoom()
	topic := "t"
	for _, ev := range []Event{
		{Seq: 1, From: "a", Text: "one"},
		{Seq: 2, From: "b", Text: "two", ReplyTo: 1},
		{Seq: 3, From: "a", Kind: "edit", Target: 1, Text: "one!"},
		{Seq: 4, From: "b", Kind: "react", Target: 1, Emoji: "👍"},
		{Seq: 5, From: "a", Kind: "react", Target: 1, Emoji: "👍"},
		{Seq: 6, From: "b", Kind: "react", Target: 1, Emoji: "👍"}, // again: no change
		{Seq: 7, From: "b", Kind: "react", Target: 1, Emoji: "👍", Remove: true},
		{Seq: 8, From: "a", Kind: "react", Target: 2, Emoji: "x"},
		{Seq: 9, From: "a", Kind: "react", Target: 2, Emoji: "x", Remove: true},
		{Seq: 10, From: "a", Kind: "edit", Target: 99, Text: "unknown target"},
		{Seq: 11, From: "b", Kind: "delete", Target: 2},
		{Seq: 12, From: "b", Kind: "edit", Target: 2, Text: "after the delete"},
		{Seq: 13, From: "a", Kind: "topic", Topic: &topic},
	} {
		r.Apply(ev)
	}
	want := "1 a \"one!\" edited=true reply=0 thread=0 also=false mentions=[] reactions=[{👍 [a]}]\ntopic \"t\"\n"
	if got := r.View(); got != want {
		t.Errorf("view\n%s\nwant\n%s", got, want)
	}
	if m := r.Msgs[2]; !m.Deleted || m.Text != "" || m.DeletedBy != "b" || r.Last != 13 {
		t.Errorf("deleted message %+v, last %d", m, r.Last)
	}
}
