package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserFormatting: the Markdown subset of messages as Chromium
// renders it (each construct, and XSS attempts in each place markup can
// hold text), mentions highlighted for the reader, the emoji picker,
// :shortcode: completion and @mention completion in the composer.
func TestBrowserFormatting(t *testing.T) {
	needBrowser(t)
	ctx := ctxFor(t, 10*time.Minute) // for the Go clients; each page step has its own deadline
	srv := startServer(t, "", withAccounts, generousRate)
	bob := goClient(t, ctx, srv, "bob")
	carol := goClient(t, ctx, srv, "carol")
	bob.join(ctx, "fmt", -1, "")
	carol.join(ctx, "fmt", -1, "")
	b := newBrowser(t)
	alice := b.tab(t, "alice", srv.m.URL)
	alice.register("alice", "alice-password")
	alice.click("#browse-button")
	alice.click(`#browse-results button[aria-label="Join fmt"]`)
	alice.wait("fmt open", `document.querySelector('#room-title').textContent === '#fmt'`)

	n := 0
	// say has bob send text and waits until alice's page shows it; it
	// returns a JavaScript expression for that message's .msg-text.
	say := func(text string) string {
		t.Helper()
		n++
		bob.send(ctx, "fmt", fmt.Sprint("f", n), text)
		sel := fmt.Sprintf(`document.querySelectorAll('#messages .msg[data-seq]')[%d]?.querySelector('.msg-text')`, n-1)
		alice.wait(fmt.Sprintf("message %d shown", n), sel)
		return sel
	}
	// html is what alice's page made of a message, as markup.
	html := func(sel string) string { return eval[string](alice, sel+`.innerHTML`) }

	t.Run("each construct", func(t *testing.T) {
		alice.t = t
		cases := []struct{ text, want string }{
			{"**bold** *italic* ~~struck~~ `code`", `<p><strong>bold</strong> <em>italic</em> <del>struck</del> <code>code</code></p>`},
			{"```go\nfunc main() {\n\tprintln(\"<hi>\")\n}\n```", `<pre data-lang="go" tabindex="0"><code>func main() {` + "\n\t" + `println("&lt;hi&gt;")` + "\n" + `}</code></pre>`},
			{"> quoted *text*\n\nafter", `<blockquote><p>quoted <em>text</em></p></blockquote><p>after</p>`},
			{"- one\n- two\n  1. nested", `<ul><li>one</li><li><p>two</p><ol><li>nested</li></ol></li></ul>`},
			{"[the docs](https://example.com/docs) and www.example.org", `<p><a href="https://example.com/docs" target="_blank" rel="noopener noreferrer nofollow">the docs</a> and <a href="https://www.example.org/" target="_blank" rel="noopener noreferrer nofollow">www.example.org</a></p>`},
			{"hi @alice and @carol :tada:", `<p>hi <span class="mention mention-me" data-user="alice">@alice</span> and <span class="mention" data-user="carol">@carol</span> <span class="emoji" title=":tada:">🎉</span></p>`},
			{"`` nested ` backticks ``", `<p><code>nested ` + "`" + ` backticks</code></p>`},
		}
		for _, c := range cases {
			if got := html(say(c.text)); got != c.want {
				t.Errorf("%q rendered as\n  %s\nwant\n  %s", c.text, got, c.want)
			}
		}
		alice.shot("fmt-01-constructs")
	})

	t.Run("XSS inputs stay text", func(t *testing.T) {
		alice.t = t
		evil := []string{
			"[x](javascript:alert(1))",
			"[x](JAVASCRIPT:alert(1))",
			"[x](data:text/html,<script>alert(1)</script>)",
			"[<img src=x onerror=alert(1)>](https://example.com)",
			"**<img src=x onerror=alert(1)>**",
			"`<script>alert(1)</script>`",
			"```\n</code></pre><img src=x onerror=alert(1)>\n```",
			"> <iframe src=javascript:alert(1)></iframe>",
			"- <svg onload=alert(1)>",
			"[x](https://example.com\"onmouseover=\"alert(1))",
			"@<b>bob</b> :<img:",
		}
		for _, s := range evil {
			say(s)
		}
		if bad := eval[[]string](alice, `[...document.querySelectorAll('#messages img, #messages script, #messages iframe, #messages svg, #messages [onerror], #messages [onload], #messages [onmouseover], #messages [style]')].map(e => e.outerHTML)`); len(bad) > 0 {
			t.Errorf("elements made from message text: %q", bad)
		}
		hrefs := eval[[]string](alice, `[...document.querySelectorAll('#messages a')].map(a => a.getAttribute('href'))`)
		for _, h := range hrefs {
			if !strings.HasPrefix(h, "https://") && !strings.HasPrefix(h, "http://") {
				t.Errorf("a link to %q", h)
			}
		}
		// The refused link shows exactly as typed.
		if got := eval[string](alice, `[...document.querySelectorAll('#messages .msg-text')].find(e => e.textContent.startsWith('[x](javascript:'))?.innerHTML || ''`); got != `<p>[x](javascript:alert(1))</p>` {
			t.Errorf("the javascript: link rendered as %s", got)
		}
		alice.shot("fmt-02-xss")
		// A huge code block wraps inside the message instead of widening
		// it, and scrolls inside a bounded height.
		code := strings.Repeat("x", 3000) + "\n" + strings.Repeat("line of code\n", 300)
		sel := say("```\n" + code + "```")
		if wide := eval[bool](alice, `(() => { const p = `+sel+`.querySelector('pre'); return !p || p.scrollWidth > p.clientWidth + 1 || p.getBoundingClientRect().right > document.querySelector('#scroller').getBoundingClientRect().right; })()`); wide {
			t.Error("the huge code block is missing or wider than the conversation")
		}
		if got := eval[int](alice, sel+`.querySelector('pre').textContent.length`); got != len(code)-1 {
			t.Errorf("the huge code block holds %d characters, want %d", got, len(code)-1)
		}
		if tall := eval[bool](alice, `(() => { const p = `+sel+`.querySelector('pre'); return p.clientHeight > document.querySelector('#scroller').clientHeight || p.scrollHeight <= p.clientHeight; })()`); tall {
			t.Error("the huge code block is taller than the conversation, or does not scroll")
		}
		alice.shot("fmt-02-huge-code")
	})

	t.Run("emoji picker", func(t *testing.T) {
		alice.t = t
		alice.click("#emoji-button")
		alice.wait("picker open, search focused", `document.activeElement?.id === 'emoji-search'`)
		alice.do(chromedp.SendKeys(chromedp.CSS("#emoji-search"), "tada"))
		alice.wait("tada first", `document.querySelector('#emoji-grid [aria-selected="true"]')?.dataset.name === 'tada'`)
		alice.shot("fmt-03-picker")
		alice.do(chromedp.SendKeys(chromedp.CSS("#emoji-search"), "\r"))
		alice.wait("inserted", `!document.querySelector('#emoji-picker') && document.querySelector('#composer').value === '🎉 ' && document.activeElement?.id === 'composer'`)
		// Arrows move through the grid; a click picks too.
		alice.click("#emoji-button")
		alice.wait("picker open", `document.activeElement?.id === 'emoji-search'`)
		alice.do(chromedp.SendKeys(chromedp.CSS("#emoji-search"), kb.ArrowDown+kb.ArrowRight)) // ↓ →: row 2, column 2
		alice.wait("moved", `document.querySelector('#emoji-search').getAttribute('aria-activedescendant') === 'emoji-opt-9'`)
		// Keys work in the grid too, once it has focus.
		alice.do(chromedp.Focus(chromedp.CSS("#emoji-grid")), chromedp.SendKeys(chromedp.CSS("#emoji-grid"), kb.ArrowLeft))
		alice.wait("moved in the grid", `document.querySelector('#emoji-search').getAttribute('aria-activedescendant') === 'emoji-opt-8'`)
		alice.click(`#emoji-grid [data-name="joy"]`)
		alice.wait("joy inserted", `document.querySelector('#composer').value === '🎉 😂 '`)
		// The button opens the picker and closes it again.
		alice.click("#emoji-button")
		alice.wait("picker open", `!!document.querySelector('#emoji-picker')`)
		alice.click("#emoji-button")
		alice.wait("picker closed by its button", `!document.querySelector('#emoji-picker') && document.activeElement?.id === 'emoji-button'`)
		alice.typeSent("\r", "🎉 😂")
	})

	t.Run(":shortcode: completion", func(t *testing.T) {
		alice.t = t
		alice.do(chromedp.SendKeys(chromedp.CSS("#composer"), "ship it :rock"))
		alice.wait("suggestions", `!document.querySelector('#suggestions').hidden && document.querySelector('#suggestions [aria-selected="true"]')?.dataset.key === 'rocket'`)
		alice.shot("fmt-04-shortcode")
		alice.do(chromedp.SendKeys(chromedp.CSS("#composer"), kb.Tab))
		alice.wait("completed", `document.querySelector('#composer').value === 'ship it 🚀 ' && document.querySelector('#suggestions').hidden`)
		// Escape closes the list; Enter then sends, as usual.
		alice.do(chromedp.SendKeys(chromedp.CSS("#composer"), ":tad"))
		alice.wait("suggestions again", `!document.querySelector('#suggestions').hidden`)
		alice.do(chromedp.SendKeys(chromedp.CSS("#composer"), kb.Escape))
		alice.wait("closed", `document.querySelector('#suggestions').hidden`)
		alice.typeSent("\r", "ship it 🚀 :tad")
	})

	t.Run("@mention completion", func(t *testing.T) {
		alice.t = t
		alice.do(chromedp.SendKeys(chromedp.CSS("#composer"), "hey @"))
		// The members come from the history API when the room opens: ask
		// again (as typing would) until they are there.
		alice.wait("people", `(() => {
			document.querySelector('#composer').dispatchEvent(new Event('input'));
			return [...document.querySelectorAll('#suggestions [role=option]')].map(o => o.dataset.key).join(' ') === 'bob carol @room';
		})()`)
		alice.do(chromedp.SendKeys(chromedp.CSS("#composer"), kb.ArrowDown+kb.ArrowDown+kb.ArrowUp)) // ↓ ↓ ↑: carol
		alice.wait("carol chosen", `document.querySelector('#suggestions [aria-selected="true"]')?.dataset.key === 'carol' && document.querySelector('#composer').getAttribute('aria-activedescendant') === 'suggestion-1'`)
		alice.shot("fmt-05-mention")
		alice.do(chromedp.SendKeys(chromedp.CSS("#composer"), "\r"))
		alice.wait("completed", `document.querySelector('#composer').value === 'hey @carol '`)
		alice.typeSent("and @b\rlook\r", "hey @carol and @bob look")
		if got := eval[int](alice, `[...document.querySelectorAll('#messages .msg')].at(-1).querySelectorAll('.mention').length`); got != 2 {
			t.Errorf("the sent message shows %d mentions, want 2", got)
		}
		alice.shot("fmt-06-mentions-sent")
	})

	t.Run("dark", func(t *testing.T) {
		alice.t = t
		alice.scheme(true)
		alice.wait("top", `(() => { document.querySelector('#scroller').scrollTop = 0; return true; })()`)
		alice.shot("fmt-07-dark-top")
		alice.wait("bottom", `(() => { const s = document.querySelector('#scroller'); s.scrollTop = s.scrollHeight; return true; })()`)
		alice.shot("fmt-08-dark-bottom")
		alice.scheme(false)
	})
}

// typeSent types keys into the composer and waits until the message they
// send, want, shows after the ones shown before.
func (p *tab) typeSent(keys, want string) {
	p.t.Helper()
	var before []string
	for _, m := range p.shown() {
		if m.Seq != 0 {
			before = append(before, m.Text)
		}
	}
	p.do(chromedp.SendKeys(chromedp.CSS("#composer"), keys))
	p.waitShown(append(before, want)...)
}
