package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// What people do with messages in the web UI (issue 11): edit and delete
// from the hover menu, ↑ to edit, reactions, replies with a quote that
// jumps to the original (loaded from history), threads, the room's topic,
// and markup in every new place text appears. Two users, each in a
// browser context of their own; the other user sees each change live and
// after a reload.
func TestBrowserMessages(t *testing.T) {
	needBrowser(t)
	ctx := ctxFor(t, 8*time.Minute) // for the Go clients; each page step has its own deadline
	srv := startServer(t, "", func(m *Main) { m.Accounts, m.Rate, m.Burst = true, 1000, 1000 })
	// alice owns #team; bob is in it before the pages load their rooms.
	goClient(t, ctx, srv, "alice").request(ctx, map[string]any{"op": "create", "room": "team"})
	goClient(t, ctx, srv, "bob").join(ctx, "team", -1, "")
	b := newBrowser(t)
	alice := b.tab(t, "alice", srv.m.URL)
	alice.register("alice", "alice-password")
	bob := b.tab(t, "bob", srv.m.URL)
	bob.register("bob", "bob-password")
	alice.open("team")
	bob.open("team")

	t.Run("edit from the hover menu", func(t *testing.T) {
		alice.t, bob.t = t, t
		alice.say("teh plan is ready")
		bob.waitShown("teh plan is ready")
		seq := alice.waitSeqOf("teh plan is ready")
		alice.hover(msgCSS(seq))
		alice.shot("msg-01-hover-menu")
		alice.axe("the message toolbar")
		alice.click(msgCSS(seq) + ` #msg-actions [data-action="edit"]`)
		alice.replaceEdit("the plan is ready\r")
		alice.waitShown("the plan is ready (edited)")
		bob.waitShown("the plan is ready (edited)")
		bob.reload("team")
		bob.waitShown("the plan is ready (edited)")
		// Its "(edited)" shows the edits.
		bob.click(msgCSS(seq) + " button.edited")
		bob.wait("edit history", `document.querySelector('#edits-dialog').open &&
			[...document.querySelectorAll('#edits-list .edit-version')].map(e => e.textContent).join('|') === 'teh plan is ready|the plan is ready'`)
		bob.shot("msg-02-edit-history")
		bob.axe("the edit history")
		bob.click("#edits-dialog .cancel")
		bob.wait("closed", `!document.querySelector('#edits-dialog').open`)
	})

	t.Run("↑ in an empty composer edits the last own message; Escape cancels", func(t *testing.T) {
		alice.t, bob.t = t, t
		alice.say("lunch at 12")
		bob.waitShown("the plan is ready (edited)", "lunch at 12")
		alice.waitSeqOf("lunch at 12") // stored: while it is pending ↑ does nothing
		alice.do(chromedp.Focus(chromedp.CSS("#composer")), chromedp.KeyEvent(kb.ArrowUp))
		alice.wait("editing the last message", `document.querySelector('.edit-box')?.value === 'lunch at 12' && document.activeElement === document.querySelector('.edit-box')`)
		alice.do(chromedp.KeyEvent(kb.Escape))
		alice.wait("edit cancelled, focus back", `!document.querySelector('.edit-box') && document.activeElement === document.querySelector('#composer')`)
		alice.do(chromedp.KeyEvent(kb.ArrowUp))
		alice.replaceEdit("lunch at 1\r")
		bob.waitShown("the plan is ready (edited)", "lunch at 1 (edited)")
	})

	t.Run("the keyboard: ↑/↓ between messages, Tab into the toolbar, Escape back", func(t *testing.T) {
		alice.t, bob.t = t, t
		last, first := alice.waitSeqOf("lunch at 1 (edited)"), alice.waitSeqOf("the plan is ready (edited)")
		focused := func(what, css string) {
			alice.wait(what, fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, css))
		}
		alice.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 400), chromedp.Focus(chromedp.CSS("#scroller")), chromedp.KeyEvent(kb.ArrowUp))
		focused("the newest message", msgCSS(last))
		alice.do(chromedp.KeyEvent(kb.ArrowUp))
		focused("the one before", msgCSS(first))
		alice.do(chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowUp), chromedp.KeyEvent("\t"))
		focused("its toolbar's first button", msgCSS(first)+` #msg-actions [data-action="react"]`)
		alice.do(chromedp.KeyEvent(kb.Escape))
		focused("the composer", "#composer")
	})

	t.Run("delete from the hover menu", func(t *testing.T) {
		alice.t, bob.t = t, t
		alice.say("oops, wrong room: secret launch date")
		bob.waitShown("the plan is ready (edited)", "lunch at 1 (edited)", "oops, wrong room: secret launch date")
		seq := alice.waitSeqOf("oops, wrong room: secret launch date")
		// Archived first: a message erased before the archive read it
		// leaves no "message deleted" in history pages (the report says).
		api := &server{t: t, m: srv.m, dir: srv.dir, keys: srv.keys}
		waitFor(t, ctx, func() bool {
			return api.getJSON(ctx, "alice", fmt.Sprintf("/api/rooms/team/messages/%d", seq), nil) == 200
		})
		alice.hover(msgCSS(seq))
		alice.click(msgCSS(seq) + ` #msg-actions [data-action="delete"]`)
		alice.wait("confirmation", `document.querySelector('#delete-dialog').open && document.querySelector('#delete-preview').textContent.includes('secret launch date')`)
		alice.axe("the delete confirmation")
		alice.click("#delete-confirm")
		for _, p := range []*tab{alice, bob} {
			p.wait("message deleted in place", fmt.Sprintf(`document.querySelector('%s .msg-text.deleted')?.textContent === 'message deleted'`, msgCSS(seq)))
			p.wait("the text gone from the page", `!document.body.innerText.includes('secret launch date')`)
		}
		bob.reload("team")
		bob.waitShown("the plan is ready (edited)", "lunch at 1 (edited)", "message deleted")
		if eval[bool](bob, `document.body.innerText.includes('secret launch date')`) {
			t.Fatal("the deleted text is back after a reload")
		}
		// Bob is no moderator: no delete on alice's messages, no edit either.
		bob.focusMsg(alice.waitSeqOf("lunch at 1 (edited)"))
		if eval[bool](bob, `!!document.querySelector('#msg-actions [data-action="delete"], #msg-actions [data-action="edit"]')`) {
			t.Fatal("bob is offered edit or delete of alice's message")
		}
	})

	t.Run("react and un-react", func(t *testing.T) {
		alice.t, bob.t = t, t
		seq := alice.waitSeqOf("the plan is ready (edited)")
		bob.hover(msgCSS(seq))
		bob.click(msgCSS(seq) + ` #msg-actions [data-action="react"]`)
		bob.wait("quick reactions", `!!document.querySelector('#react-menu [data-emoji="👍"]')`)
		bob.axe("the quick reactions")
		bob.click(`#react-menu [data-emoji="👍"]`)
		reaction := msgCSS(seq) + ` .reaction[data-emoji="👍"]`
		count := func(p *tab, n int, mine bool) {
			p.wait(fmt.Sprintf("👍 %d (mine %v)", n, mine), fmt.Sprintf(`(() => { const r = document.querySelector('%s');
				return r && r.querySelector('.reaction-count').textContent === '%d' && r.getAttribute('aria-pressed') === '%v'; })()`, reaction, n, mine))
		}
		count(bob, 1, true)
		count(alice, 1, false)
		alice.click(reaction) // alice adds hers with the reaction's button
		count(alice, 2, true)
		count(bob, 2, true)
		// A second emoji, through the keyboard: focus, Tab into the toolbar.
		alice.focusMsg(seq)
		alice.click(msgCSS(seq) + ` #msg-actions [data-action="react"]`)
		alice.click(`#react-menu [data-emoji="🎉"]`)
		bob.wait("🎉 shown", fmt.Sprintf(`!!document.querySelector('%s .reaction[data-emoji="🎉"]')`, msgCSS(seq)))
		eval[bool](alice, `(document.activeElement.blur(), true)`)
		alice.shot("msg-03-reactions")
		bob.click(reaction) // bob takes his away
		count(bob, 1, false)
		count(alice, 1, true)
		bob.reload("team")
		count(bob, 1, false)
		if got := eval[string](bob, fmt.Sprintf(`document.querySelector('%s').title`, reaction)); got != "alice reacted with 👍" {
			t.Errorf("who reacted: %q", got)
		}
	})

	t.Run("reply with a quote that jumps to the original, loaded from history", func(t *testing.T) {
		alice.t, bob.t = t, t
		bob.say("what is the budget?")
		orig := alice.waitSeqOf("what is the budget?")
		// Enough after it that a reload does not load it.
		dave := goClient(t, ctx, srv, "dave")
		dave.join(ctx, "team", -1, "")
		for i := 1; i <= 120; i++ {
			dave.send(ctx, "team", cid("fill", i), fmt.Sprintf("filler %03d", i))
		}
		alice.wait("filler shown", `[...document.querySelectorAll('#messages .msg-text')].some(e => e.textContent === 'filler 120')`)
		alice.focusMsg(orig)
		alice.click(msgCSS(orig) + ` #msg-actions [data-action="reply"]`)
		alice.wait("reply bar", `document.querySelector('#reply-bar')?.textContent.includes('what is the budget?') && document.activeElement === document.querySelector('#composer')`)
		alice.say("about 40k")
		bob.reload("team")
		if eval[bool](bob, fmt.Sprintf(`!!document.querySelector('%s')`, msgCSS(orig))) {
			t.Fatal("the original is loaded already: the jump would not load history")
		}
		reply := bob.waitSeqOf("about 40k")
		quote := msgCSS(reply) + " .reply-quote"
		bob.wait("quote above the reply", fmt.Sprintf(`(() => { const q = document.querySelector('%s'); return q && q.querySelector('.reply-from').textContent === 'bob' && q.querySelector('.reply-text').textContent === 'what is the budget?'; })()`, quote))
		bob.shot("msg-04-reply-quote")
		bob.click(quote)
		bob.wait("jumped to the original", fmt.Sprintf(`(() => { const e = document.querySelector('%s'); if (!e) return false;
			const r = e.getBoundingClientRect(), s = document.querySelector('#scroller').getBoundingClientRect();
			return e.classList.contains('flash') && r.top >= s.top && r.bottom <= s.bottom; })()`, msgCSS(orig)))
	})

	t.Run("open a thread and reply", func(t *testing.T) {
		alice.t, bob.t = t, t
		alice.say("thread: release checklist")
		root := bob.waitSeqOf("thread: release checklist")
		bob.focusMsg(root)
		bob.click(msgCSS(root) + ` #msg-actions [data-action="thread"]`)
		bob.wait("thread panel", `!document.querySelector('#thread-panel').hidden && document.activeElement === document.querySelector('#thread-composer')`)
		bob.do(chromedp.SendKeys(chromedp.CSS("#thread-composer"), "docs are done\r"))
		bob.wait("reply in the panel", `[...document.querySelectorAll('#thread-messages .msg[data-seq] .msg-text')].some(e => e.textContent === 'docs are done')`)
		for _, p := range []*tab{alice, bob} {
			p.wait("1 reply on the root", fmt.Sprintf(`document.querySelector('%s .thread-count')?.textContent === '1 reply'`, msgCSS(root)))
			if eval[bool](p, `[...document.querySelectorAll('#messages .msg-text')].some(e => e.textContent === 'docs are done')`) {
				t.Fatalf("%s: a thread reply is in the room's timeline", p.name)
			}
		}
		alice.wait("unseen thread", fmt.Sprintf(`!!document.querySelector('%s .thread-summary.unseen')`, msgCSS(root)))
		alice.click(msgCSS(root) + " .thread-summary")
		alice.wait("thread open with the reply", `[...document.querySelectorAll('#thread-messages .msg-text')].some(e => e.textContent === 'docs are done')`)
		alice.wait("seen", fmt.Sprintf(`!document.querySelector('%s .thread-summary.unseen')`, msgCSS(root)))
		// Also to the room.
		alice.click("#thread-also-room")
		alice.do(chromedp.SendKeys(chromedp.CSS("#thread-composer"), "ship it on Friday\r"))
		bob.wait("the also-room reply in the timeline", `[...document.querySelectorAll('#messages .msg')].some(e => e.querySelector('.msg-text')?.textContent === 'ship it on Friday' && e.querySelector('.in-thread'))`)
		bob.wait("2 replies in bob's panel", `document.querySelectorAll('#thread-messages .msg[data-seq]').length === 3`)
		alice.shot("msg-05-thread")
		alice.axe("the thread panel")
		alice.scheme(true)
		alice.axe("the thread panel, dark")
		alice.shot("msg-05-thread-dark")
		alice.scheme(false)
		bob.reload("team")
		bob.wait("2 replies after a reload", fmt.Sprintf(`document.querySelector('%s .thread-count')?.textContent === '2 replies'`, msgCSS(root)))
		bob.click(msgCSS(root) + " .thread-summary")
		bob.wait("thread from history", `[...document.querySelectorAll('#thread-messages .msg-text')].map(e => e.textContent).join('|') === 'thread: release checklist|docs are done|ship it on Friday'`)
		// On a phone the thread covers the room.
		bob.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
		bob.wait("thread over the room", `(() => { const r = document.querySelector('#thread-panel').getBoundingClientRect(); return r.left === 0 && r.width === innerWidth; })()`)
		bob.shot("msg-08-thread-phone")
		bob.do(chromedp.EmulateViewport(1280, 800))
		bob.click("#thread-close")
		bob.wait("panel closed", `document.querySelector('#thread-panel').hidden`)
	})

	t.Run("topic and name in the header, set by the owner", func(t *testing.T) {
		alice.t, bob.t = t, t
		bob.wait("no topic button for bob", `document.querySelector('#topic-button').hidden`)
		alice.click("#topic-button")
		alice.wait("topic dialog", `document.querySelector('#topic-dialog').open`)
		alice.axe("the topic dialog")
		alice.do(chromedp.SendKeys(chromedp.CSS("#topic-name"), "Team room"))
		alice.do(chromedp.SendKeys(chromedp.CSS("#topic-text"), "Ship 2.0 by Friday"))
		alice.click(`#topic-form button[type="submit"]`)
		for _, p := range []*tab{alice, bob} {
			p.wait("topic in the header", `document.querySelector('#room-topic').textContent === 'Ship 2.0 by Friday' && document.querySelector('#room-title').textContent === '#Team room'`)
		}
		alice.shot("msg-06-topic")
		bob.reload("team")
		bob.wait("topic after a reload", `document.querySelector('#room-topic').textContent === 'Ship 2.0 by Friday'`)
	})

	t.Run("markup is text in edits, the topic, quotes and threads", func(t *testing.T) {
		alice.t, bob.t = t, t
		const evil = `<img src=x onerror=alert(1)><script>alert(2)</script>`
		alice.say("harmless")
		seq := alice.waitSeqOf("harmless")
		alice.focusMsg(seq)
		alice.click(msgCSS(seq) + ` #msg-actions [data-action="edit"]`)
		alice.replaceEdit(evil + "\r")
		bob.wait("edit shown as text", fmt.Sprintf(`document.querySelector('%s .msg-text')?.textContent === %q`, msgCSS(seq), evil+" (edited)"))
		// A reply quoting it, and a thread under it.
		bob.focusMsg(seq)
		bob.click(msgCSS(seq) + ` #msg-actions [data-action="reply"]`)
		bob.say("quoting " + evil)
		alice.wait("quote shown as text", fmt.Sprintf(`[...document.querySelectorAll('#messages .reply-text')].some(e => e.textContent === %q)`, evil))
		bob.focusMsg(seq)
		bob.click(msgCSS(seq) + ` #msg-actions [data-action="thread"]`)
		bob.do(chromedp.SendKeys(chromedp.CSS("#thread-composer"), evil+"\r"))
		alice.click(msgCSS(seq) + " .thread-summary")
		alice.wait("root and reply shown as text", fmt.Sprintf(`[...document.querySelectorAll('#thread-messages .msg-text')].map(e => e.textContent).join('|') === %q`, evil+" (edited)|"+evil))
		alice.click("#topic-button")
		eval[bool](alice, `(document.querySelector('#topic-text').value = '', true)`)
		alice.do(chromedp.SendKeys(chromedp.CSS("#topic-text"), evil))
		alice.click(`#topic-form button[type="submit"]`)
		bob.wait("topic shown as text", fmt.Sprintf(`document.querySelector('#room-topic').textContent === %q`, evil))
		for _, p := range []*tab{alice, bob} {
			if n := eval[int](p, `document.querySelectorAll('#app img, #app script, #app [onerror]').length`); n != 0 {
				t.Fatalf("%s: %d elements made from message text", p.name, n)
			}
		}
		bob.shot("msg-07-markup-as-text")
	})
}

func msgCSS(seq int) string { return fmt.Sprintf(`#messages .msg[data-seq="%d"]`, seq) }

// seqOf is the seq of the stored message of the open room whose text is
// text; it fails the test when there is none.
func (p *tab) seqOf(text string) int {
	p.t.Helper()
	for _, m := range p.shown() {
		if m.Text == text && m.Seq > 0 {
			return int(m.Seq)
		}
	}
	p.t.Fatalf("%s: no stored message %q in %+v", p.name, text, p.shown())
	return 0
}

// waitSeqOf waits until a message with text is stored and shown, and
// returns its seq.
func (p *tab) waitSeqOf(text string) int {
	p.t.Helper()
	p.wait("message "+text, fmt.Sprintf(`[...document.querySelectorAll('#messages .msg[data-seq]')].some(e => e.querySelector('.msg-text')?.textContent === %q)`, text))
	return p.seqOf(text)
}

// hover moves the mouse over the element css (real input events, so that
// :hover applies), once it is there.
func (p *tab) hover(css string) {
	p.t.Helper()
	p.wait("hoverable "+css, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.scrollIntoView({block: 'center'}); return true; })()`, css))
	p.call(func(ctx context.Context) error {
		for {
			xy, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.left + r.width * 0.6, r.top + r.height / 2]; })()`, css)))
			if err != nil && !replaced(err) {
				return err
			}
			if err == nil {
				if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, xy[0], xy[1])); err != nil {
					return err
				}
				ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`!!document.querySelector(%q)?.matches(':hover') && !!document.querySelector(%q + ' > #msg-actions')`, css, css)))
				if err != nil || ok {
					return err
				}
			}
			if err := pause(ctx); err != nil {
				return fmt.Errorf("hover %s: %w", css, err)
			}
		}
	})
}

// focusMsg gives the keyboard focus to a message of the open room, as ↑/↓
// in the conversation do, with the mouse out of the way (on the sidebar).
func (p *tab) focusMsg(seq int) {
	p.t.Helper()
	p.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 400))
	p.wait("focused message", fmt.Sprintf(`(() => { const e = document.querySelector('%s'); if (!e) return false;
		if (!e.contains(document.activeElement)) e.focus();
		return e.contains(document.activeElement) && !!e.querySelector('#msg-actions'); })()`, msgCSS(seq)))
}

// replaceEdit replaces the text in the open edit box with keys (typed).
func (p *tab) replaceEdit(keys string) {
	p.t.Helper()
	p.wait("edit box", `(() => { const b = document.querySelector('.edit-box'); if (!b || document.activeElement !== b) return false; b.value = ''; return true; })()`)
	p.do(chromedp.SendKeys(chromedp.CSS(".edit-box"), keys))
}

// reload reloads the page and waits until room is open again.
func (p *tab) reload(room string) {
	p.t.Helper()
	p.do(chromedp.Reload())
	p.waitConnected()
	p.wait("room "+room+" open again", fmt.Sprintf(`document.querySelector('#rooms [data-room=%q]')?.getAttribute('aria-current') === 'page' && !document.querySelector('#room-view').hidden`, room))
	p.wait("history loaded", `!document.querySelector('#history-status').textContent.startsWith('Loading')`)
}
