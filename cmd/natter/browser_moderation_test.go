package main

import (
	"testing"
	"time"
)

// The owner moderates from the members dialog; the member's page shows
// the acts in the timeline and mute and slow mode in the composer, and a
// ban takes the room away.
func TestBrowserModeration(t *testing.T) {
	needBrowser(t)
	ctx := ctxFor(t, 5*time.Minute) // for the Go clients; each page step has its own deadline
	srv := startServer(t, "", func(m *Main) { m.Accounts = true })
	// The room and carol's membership, before the pages load their rooms.
	goClient(t, ctx, srv, "alice").request(ctx, map[string]any{"op": "create", "room": "town"})
	goClient(t, ctx, srv, "carol").join(ctx, "town", -1, "")
	b := newBrowser(t)
	alice := b.tab(t, "alice", srv.m.URL)
	alice.register("alice", "alice-password")
	carol := b.tab(t, "carol", srv.m.URL)
	carol.register("carol", "carol-password")
	alice.open("town")
	carol.open("town")

	// Alice, the owner, sees the actions on carol's row and mutes her.
	alice.click("#members-button")
	alice.click(`#members-list [aria-label="Mute carol"]`)
	carol.wait("muted notice", `document.querySelector('#mod-notice')?.textContent.includes('You are muted')`)
	carol.wait("mute in the timeline", `[...document.querySelectorAll('#messages .system')].some(e => e.textContent === 'alice muted carol')`)
	carol.say("can anyone hear me?")
	if n := eval[int](carol, `document.querySelectorAll('#messages .msg').length`); n != 0 {
		t.Errorf("a muted member's message was shown as sent (%d)", n)
	}
	// The refused text stays in the composer, as a draft.
	if got := eval[string](carol, `(() => { const c = document.querySelector('#composer'); const v = c.value; c.value = ''; return v; })()`); got != "can anyone hear me?" {
		t.Errorf("composer after a muted send: %q", got)
	}
	alice.shot("mod-01-owner-actions")
	carol.shot("mod-02-muted")

	// Unmute, then slow mode: carol sends once, then waits.
	alice.click(`#members-list [aria-label="Unmute carol"]`)
	carol.wait("notice gone", `document.querySelector('#mod-notice').hidden`)
	alice.wait("slow mode control", `(() => { const s = document.querySelector('#slowmode'); if (!s) return false;
		s.value = '30'; s.dispatchEvent(new Event('change')); return true; })()`)
	carol.wait("slow mode notice", `document.querySelector('#mod-notice')?.textContent.includes('Slow mode is on')`)
	carol.say("one message")
	carol.waitShown("one message")
	carol.wait("slow mode countdown", `/send again in \d+ s/.test(document.querySelector('#mod-notice').textContent)`)
	carol.shot("mod-03-slow-mode")

	// A ban: the room leaves carol's list.
	alice.click(`#members-list [aria-label="Ban carol"]`)
	carol.wait("room gone", `!document.querySelector('#rooms [data-room="town"]')`)
	alice.wait("ban listed", `!!document.querySelector('.mod-bans [data-banned="carol"]')`)
	alice.shot("mod-04-banned")
	if _, err := goClient(t, ctx, srv, "carol").Join(ctx, "town", -1, ""); err == nil {
		t.Errorf("banned carol joined")
	}
}
