package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/natter-chat/natter/edge/wsclient"
)

// Message search in the web UI (issue 12): "/" opens it, an English word
// and a two-character Chinese term find their messages, grouped by room;
// a private room alice is not in never shows; markup in a message is text
// in a snippet; ↑/↓ and Enter open an old message (beyond the first
// history page) in its room, flashed; a thread reply opens its thread;
// "More results" follows the cursor; empty and error states; axe on the
// open results, in light and dark.
// slash presses "/" as a keyboard does: one keyDown that carries its
// text, so that a page which prevents the keydown gets no character
// (chromedp.KeyEvent sends the character as an event of its own).
func (p *tab) slash() {
	p.t.Helper()
	p.call(func(ctx context.Context) error {
		key := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "/", Code: "Slash", Text: "/", UnmodifiedText: "/", WindowsVirtualKeyCode: 191}
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, key); err != nil {
			return err
		}
		key.Type, key.Text, key.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		_, err := chromedp.Call(ctx, input.DispatchKeyEvent, key)
		return err
	})
}

func TestBrowserSearch(t *testing.T) {
	needBrowser(t)
	ctx := ctxFor(t, 8*time.Minute) // for the Go clients; each page step has its own deadline
	srv := startServer(t, "", func(m *Main) { m.Accounts = true; fastRecords(m) })
	api := &server{t: t, m: srv.m, dir: srv.dir, keys: srv.keys}

	bob := api.connectV2(ctx, "bob")
	for _, room := range []string{"team", "ops"} {
		bob.request(ctx, map[string]any{"op": "create", "room": room})
		bob.join(ctx, room, -1, "")
	}
	alice := goClient(t, ctx, srv, "alice")
	alice.join(ctx, "team", -1, "")
	alice.join(ctx, "ops", -1, "")
	eve := api.connectV2(ctx, "eve")
	eve.request(ctx, map[string]any{"op": "create", "room": "secret", "kind": "private"})
	eve.join(ctx, "secret", -1, "")
	eve.send(ctx, "secret", "s1", "launch codes of the secret project, 天气 too")

	// #team: the old message, then more than a history page after it.
	old := bob.send(ctx, "team", "t1", "the launch plan is approved").Seq
	for i := 1; i <= 120; i++ {
		bob.send(ctx, "team", cid("fill", i), fmt.Sprintf("filler %03d", i))
	}
	// #ops: Chinese, an emoji, a thread, and markup.
	bob.send(ctx, "ops", "o1", "今天天气很好，适合发射")
	bob.send(ctx, "ops", "o2", "launch party on Friday 🎉")
	root := bob.send(ctx, "ops", "o3", "release thread").Seq
	reply := bob.ok(bob.SendReply(ctx, "ops", "o4", "launch checklist in the thread", wsclient.Reply{Thread: root})).Seq
	bob.send(ctx, "ops", "o5", `<img src=x onerror="window.__xss=1"> launch <b>now</b>`)

	// The archive indexes behind the stream: wait until it has them all.
	hits := func(q string) int {
		var out struct {
			Hits []struct{ Room string } `json:"hits"`
		}
		if api.getJSON(ctx, "alice", "/api/search?limit=100&q="+url.QueryEscape(q), &out) != 200 {
			return -1
		}
		for _, h := range out.Hits {
			if h.Room == "secret" {
				t.Fatalf("the API gives alice a hit in eve's private room")
			}
		}
		return len(out.Hits)
	}
	waitFor(t, ctx, func() bool { return hits("launch") == 4 && hits("天气") == 1 && hits("filler") == 100 })

	b := newBrowser(t)
	p := b.tab(t, "alice", srv.m.URL)
	p.register("alice", "alice-password")
	p.open("ops")

	results := func(what, cond string) {
		p.t.Helper()
		p.wait(what, `(() => { const r = document.querySelector('#search-results');
			const opts = [...r.querySelectorAll('[role="option"]')];
			const rooms = [...r.querySelectorAll('.search-room')].map(e => e.textContent);
			const marks = [...r.querySelectorAll('mark')].map(e => e.textContent);
			return !r.hidden && document.querySelector('#search-status').textContent !== 'Searching…' && (`+cond+`); })()`)
	}
	query := func(q string) {
		p.t.Helper()
		// Set as an input method commits text (CJK), then the input event.
		p.wait("query "+q, fmt.Sprintf(`(() => { const i = document.querySelector('#search-input'); if (!i || document.activeElement !== i) return false;
			i.value = %q; i.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`, q))
	}
	active := func() (room string, seq int) {
		p.t.Helper()
		got := eval[[]string](p, `(() => { const id = document.querySelector('#search-input').getAttribute('aria-activedescendant');
			const o = id && document.getElementById(id); return o && o.getAttribute('aria-selected') === 'true' ? [o.dataset.room, o.dataset.seq] : []; })()`)
		if len(got) != 2 {
			p.t.Fatalf("no active result")
		}
		fmt.Sscan(got[1], &seq)
		return got[0], seq
	}

	t.Run("slash opens it; an English word, grouped by room", func(t *testing.T) {
		p.t = t
		p.do(chromedp.Focus(chromedp.CSS("#scroller")))
		p.slash()
		p.wait("search open, focused, empty", `document.querySelector('#search-dialog').open && document.activeElement === document.querySelector('#search-input') && document.querySelector('#search-input').value === ''`)
		p.wait("syntax hint", `['from:', 'in:', '"a phrase"', '*'].every(s => document.querySelector('#search-hint').textContent.includes(s))`)
		p.do(chromedp.SendKeys(chromedp.CSS("#search-input"), "launch"))
		results("4 hits in #ops then #team", `opts.length === 4 && JSON.stringify(rooms) === '["#ops","#team"]' && marks.length === 4 && marks.every(m => m.toLowerCase() === 'launch')`)
		if eval[bool](p, `!!document.querySelector('#search-results [data-room="secret"]') || document.querySelector('#search-results').textContent.includes('secret project')`) {
			t.Fatal("a hit from eve's private room is shown")
		}
		// The markup is text: no element made of it, no script run.
		if !eval[bool](p, `[...document.querySelectorAll('#search-results .search-snippet')].some(e => e.textContent.includes('<img src=x onerror="window.__xss=1">'))`) {
			t.Error("the markup is not shown as text")
		}
		if eval[bool](p, `!!document.querySelector('#search-results img, #search-results b') || window.__xss !== undefined`) {
			t.Fatal("a snippet's markup became HTML")
		}
		if got := eval[string](p, `document.querySelector('#search-results [role="option"][data-seq="`+fmt.Sprint(reply)+`"] .search-thread')?.textContent || ''`); got != "in a thread" {
			t.Errorf("thread reply marker: %q", got)
		}
		for _, s := range screens {
			p.viewport(s.phone)
			p.scheme(s.dark)
			p.wait("results laid out", `document.querySelector('#search-results .search-hit.active')?.checkVisibility()`)
			p.shot("search-01-results-" + s.name)
			p.axe("the search results (" + s.name + ")")
		}
		p.viewport(false)
		p.scheme(false)
	})

	t.Run("a two-character Chinese term", func(t *testing.T) {
		p.t = t
		query("天气")
		results("1 hit in #ops", `opts.length === 1 && JSON.stringify(rooms) === '["#ops"]' && JSON.stringify(marks) === '["天气"]' && opts[0].querySelector('.search-snippet').textContent === '今天天气很好，适合发射'`)
	})

	t.Run("empty and error states", func(t *testing.T) {
		p.t = t
		query("zzyzx")
		p.wait("no results", `document.querySelector('#search-results').hidden && document.querySelector('#search-status').textContent.includes('No messages match')`)
		query(strings.Repeat("ab ", 17)) // 17 terms: more than the server takes
		p.wait("error shown", `!document.querySelector('#search-error').hidden && document.querySelector('#search-error').textContent !== '' && document.querySelector('#search-results').hidden`)
	})

	t.Run("more results through the cursor", func(t *testing.T) {
		p.t = t
		query("filler")
		results("a first page", `opts.length === 20 && !document.querySelector('#search-more').hidden`)
		p.click("#search-more")
		results("a second page, no doubles", `opts.length === 40 && new Set(opts.map(o => o.dataset.seq)).size === 40 && rooms.length === 1`)
	})

	t.Run("↑/↓ and Enter jump to an old message in its room", func(t *testing.T) {
		p.t = t
		query("launch")
		results("4 hits", `opts.length === 4`)
		if room, _ := active(); room != "ops" {
			t.Fatalf("the first result is in %s", room)
		}
		p.do(chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowUp), chromedp.KeyEvent(kb.ArrowDown))
		if room, seq := active(); room != "team" || seq != int(old) {
			t.Fatalf("active after ↓↓↓↓↑↓: %s/%d, want team/%d", room, seq, old)
		}
		p.do(chromedp.KeyEvent(kb.Enter))
		p.wait("search closed, #team open", `!document.querySelector('#search-dialog').open && document.querySelector('#rooms [data-room="team"]')?.getAttribute('aria-current') === 'page'`)
		p.wait("jumped to the old message", fmt.Sprintf(`(() => { const e = document.querySelector('%s'); if (!e) return false;
			const r = e.getBoundingClientRect(), s = document.querySelector('#scroller').getBoundingClientRect();
			return e.classList.contains('flash') && r.top >= s.top && r.bottom <= s.bottom && e.querySelector('.msg-text').textContent === 'the launch plan is approved'; })()`, msgCSS(int(old))))
		p.shot("search-02-jumped")
	})

	t.Run("a thread reply opens its thread; Escape closes", func(t *testing.T) {
		p.t = t
		p.do(chromedp.Focus(chromedp.CSS("#scroller")), chromedp.KeyEvent("f", chromedp.KeyModifiers(chromedp.ModifierCtrl, chromedp.ModifierShift)))
		p.wait("search open again, the last results kept", `document.querySelector('#search-dialog').open && document.querySelector('#search-input').value === 'launch' && document.querySelectorAll('#search-results [role="option"]').length === 4`)
		p.do(chromedp.KeyEvent(kb.Escape))
		p.wait("closed by Escape", `!document.querySelector('#search-dialog').open`)
		p.click("#search-button")
		p.wait("open from the room list's button", `document.querySelector('#search-dialog').open && document.activeElement === document.querySelector('#search-input')`)
		p.do(chromedp.KeyEvent(kb.Escape))
		p.wait("closed by Escape", `!document.querySelector('#search-dialog').open`)
		p.click("#search-head-button")
		p.wait("open from the header's button", `document.querySelector('#search-dialog').open && document.activeElement === document.querySelector('#search-input')`)
		for i := 0; i < 4; i++ {
			if _, seq := active(); seq == int(reply) {
				break
			}
			p.do(chromedp.KeyEvent(kb.ArrowUp))
		}
		if room, seq := active(); room != "ops" || seq != int(reply) {
			t.Fatalf("active: %s/%d, want ops/%d", room, seq, reply)
		}
		p.do(chromedp.KeyEvent(kb.Enter))
		p.wait("the thread open, the reply flashed", fmt.Sprintf(`!document.querySelector('#thread-panel').hidden &&
			document.querySelector('#thread-messages [data-seq="%d"]')?.classList.contains('flash') &&
			document.querySelector('#rooms [data-room="ops"]')?.getAttribute('aria-current') === 'page'`, reply))
		p.shot("search-03-thread")
	})
}
