package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The web UI, driven in Debian's Chromium through the DevTools protocol,
// against a real server on loopback. One browser; each user has a browser
// context of their own (separate storage, like separate people).

const chromiumPath = "/usr/bin/chromium"

// artifacts is where screenshots go (gitignored; CI may keep them).
const artifacts = "../../test-artifacts"

// needBrowser skips (loudly) without Chromium, unless CI demands it.
func needBrowser(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return
	}
	msg := "BROWSER TESTS SKIPPED: " + chromiumPath + " not found; install it with `apt-get install chromium` " +
		"(NATTER_REQUIRE_BROWSER=1 makes this a failure, as in CI)"
	if os.Getenv("NATTER_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg)
	}
	fmt.Fprintf(os.Stderr, "\n!!!!!!!!!!\n!!! %s\n!!!!!!!!!!\n\n", msg)
	t.Skip(msg)
}

// browser is one Chromium process for a test.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser starts Chromium for t. It has no deadline of its own: every
// step in a page has one (opTimeout), so that a slow step fails alone and
// cannot eat the time of the steps after it, and go test's -timeout bounds
// the whole run.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	needBrowser(t)
	ctx := context.Background()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800),
		// Keep Chromium off the network: it talks to the test server only.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-domain-reliability", true),
	)
	// A loaded machine is slow to print the DevTools address.
	opts = append(opts, chromedp.WSURLReadTimeout(opTimeout))
	// Chromium now and then exits at start on a busy machine ("chrome
	// failed to start", nothing useful in its output): a fresh process is
	// started, a few times, before the test gives up.
	var bctx context.Context
	for attempt := 1; ; attempt++ {
		actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
		c, cancelBrowser := chromedp.NewContext(actx)
		// The first Run starts the browser and binds it to the context it
		// is given, so that one has no deadline (it would end the browser).
		err := chromedp.Do(c)
		if err == nil {
			bctx = c
			t.Cleanup(func() {
				cancelBrowser()
				cancelAlloc()
			})
			break
		}
		cancelBrowser()
		cancelAlloc()
		if attempt == 3 {
			t.Fatalf("start chromium: %v", err)
		}
		t.Logf("start chromium (attempt %d): %v; trying again", attempt, err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: bctx}
}

// tab is one user's page in a browser context of its own.
type tab struct {
	t      *testing.T
	name   string
	ctx    context.Context
	cancel context.CancelFunc
	url    string

	mu       sync.Mutex
	problems []string // exceptions, CSP violations, dialogs
	logs     []string
}

// tab opens url for a new user; t is the (sub)test that uses it first.
func (b *browser) tab(t *testing.T, name, url string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	p := &tab{t: t, name: name, ctx: ctx, cancel: cancel, url: url}
	b.t.Cleanup(p.close)
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			p.note(true, "exception: %s %s", ev.ExceptionDetails.Text, describe(ev.ExceptionDetails.Exception))
		case *cdppage.EventJavascriptDialogOpening:
			p.note(true, "dialog opened: %s %q", ev.Type, ev.Message)
			go chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
		case *log.EventEntryAdded:
			p.note(strings.Contains(ev.Entry.Text, "Content Security Policy"), "log %s: %s", ev.Entry.Level, ev.Entry.Text)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range ev.Args {
					args = append(args, describe(a))
				}
				p.note(false, "console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		}
	})
	if err != nil {
		t.Fatalf("%s: open tab: %v", name, err)
	}
	// Pages of background tabs keep running as if they were in front.
	p.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	})
	p.do(chromedp.Navigate(url))
	return p
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Value)
}

func (p *tab) note(problem bool, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := fmt.Sprintf(format, args...)
	p.logs = append(p.logs, s)
	if problem {
		p.problems = append(p.problems, s)
	}
}

// close ends the tab (its browser context too), failing the test if the
// page had problems.
func (p *tab) close() {
	p.cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.problems {
		p.t.Errorf("%s's page: %s", p.name, s)
	}
	p.problems = nil
	if p.t.Failed() && len(p.logs) > 0 {
		p.t.Logf("%s's page log:\n  %s", p.name, strings.Join(p.logs, "\n  "))
		p.logs = nil
	}
}

// opTimeout bounds every step in a page, each on its own: generous, for a
// busy 2-core machine (a re-login there can take well over 20 s).
const opTimeout = 60 * time.Second

func (p *tab) call(f func(ctx context.Context) error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, opTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		p.shot("FAILED-" + strings.ReplaceAll(p.t.Name(), "/", "-") + "-" + p.name)
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// do runs steps one after the other, each with its own deadline. A step
// whose element the page replaced under it (a list re-rendered between
// finding a node and using it) is tried again on the new element.
func (p *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	for _, step := range steps {
		p.call(func(ctx context.Context) error {
			for {
				err := chromedp.Do(ctx, step)
				if err == nil || !replaced(err) || ctx.Err() != nil {
					return err
				}
				if err := pause(ctx); err != nil {
					return err
				}
			}
		})
	}
}

// replaced reports whether err says that a node found a moment ago is no
// longer in the page: the page re-rendered it, and the step can be tried
// again.
func replaced(err error) bool {
	for _, s := range []string{"Could not find node with given id", "No node with given id", "Node is detached", "does not belong to the document", "Cannot find context with specified id"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// pause waits a polling interval, or until ctx ends.
func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(50 * time.Millisecond):
		return nil
	}
}

// click waits until an element matching css is there, shown and enabled,
// and clicks it, finding and clicking in one step in the page: a re-render
// between the two cannot make the click miss or fail.
func (p *tab) click(css string) {
	p.t.Helper()
	p.wait("clickable "+css, fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		if (!e || e.disabled || !e.checkVisibility()) return false;
		e.click();
		return true;
	})()`, css))
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *tab, expr string) T {
	p.t.Helper()
	var v T
	p.call(func(ctx context.Context) (err error) {
		v, err = chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
		return err
	})
	return v
}

// wait polls a JavaScript predicate until it holds; what describes it.
// A predicate that throws has not held yet: the page may be between two
// documents (a redirect) or between two renders (an element not made yet).
func (p *tab) wait(what, expr string) {
	p.t.Helper()
	guarded := `(() => { try { return !!(` + expr + `); } catch (e) { return false; } })()`
	p.call(func(ctx context.Context) error {
		for {
			_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](guarded, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(opTimeout-time.Second)))
			// A poll does not survive a navigation (a redirect, a reload):
			// start again on the new page.
			if err != nil && navigated(err) && ctx.Err() == nil {
				if err := pause(ctx); err != nil {
					return fmt.Errorf("waiting for %s: %w", what, err)
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("waiting for %s: %w", what, err)
			}
			return nil
		}
	})
}

// navigated reports whether err comes from the page going away under a
// command (a redirect or reload), not from the command itself.
func navigated(err error) bool {
	for _, s := range []string{"navigated or closed", "Cannot find context with specified id", "Execution context was destroyed"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// shot saves a screenshot of the page as test-artifacts/<name>.png.
func (p *tab) shot(name string) {
	ctx, cancel := context.WithTimeout(p.ctx, opTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(artifacts, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
	}
}

// ---- what a person does ----

func (p *tab) register(user, password string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.CSS("#auth-form")))
	p.click("#tab-register")
	p.do(
		chromedp.SendKeys(chromedp.CSS("#auth-username"), user),
		chromedp.SendKeys(chromedp.CSS("#auth-password"), password),
	)
	p.click("#auth-submit")
	p.waitConnected()
}

func (p *tab) login(user, password string) {
	p.t.Helper()
	p.do(
		chromedp.WaitVisible(chromedp.CSS("#auth-form")),
		chromedp.SendKeys(chromedp.CSS("#auth-username"), user),
		chromedp.SendKeys(chromedp.CSS("#auth-password"), password+"\r"),
	)
	p.waitConnected()
}

func (p *tab) waitConnected() {
	p.t.Helper()
	p.wait("connected", `!document.querySelector('#app').hidden && document.querySelector('#conn').dataset.state === 'connected'`)
}

func (p *tab) waitRoomListed(room string) {
	p.t.Helper()
	p.wait("room "+room+" listed", fmt.Sprintf(`!!document.querySelector('#rooms [data-room=%q]')`, room))
}

func (p *tab) open(room string) {
	p.t.Helper()
	// The list re-renders as rooms gain messages: click finds the row and
	// clicks it in one step.
	p.click(fmt.Sprintf(`#rooms [data-room=%q]`, room))
	p.wait("room "+room+" open", fmt.Sprintf(`document.querySelector('#rooms [data-room=%q]')?.getAttribute('aria-current') === 'page' && !document.querySelector('#room-view').hidden`, room))
}

// say types text into the composer and presses Enter.
func (p *tab) say(text string) {
	p.t.Helper()
	p.do(chromedp.SendKeys(chromedp.CSS("#composer"), text+"\r"))
}

// shown is the messages in the open room: text, sender and seq, in page
// order; pending ones have seq 0.
type shownMsg struct {
	Seq  uint64 `json:"seq"`
	From string `json:"from"`
	Text string `json:"text"`
}

func (p *tab) shown() []shownMsg {
	p.t.Helper()
	return eval[[]shownMsg](p, `[...document.querySelectorAll('#messages .msg')].map(e => ({
		seq: Number(e.dataset.seq || 0), from: e.dataset.from, text: e.querySelector('.msg-text').textContent}))`)
}

// waitShown waits until the open room shows exactly these texts, stored.
func (p *tab) waitShown(texts ...string) []shownMsg {
	p.t.Helper()
	want := jsStrings(texts)
	p.wait(fmt.Sprintf("messages %q", texts), `(() => {
		const got = [...document.querySelectorAll('#messages .msg')].map(e => e.dataset.seq ? e.querySelector('.msg-text').textContent : '(pending)');
		return JSON.stringify(got) === JSON.stringify(`+want+`);
	})()`)
	msgs := p.shown()
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Seq <= msgs[i-1].Seq {
			p.t.Fatalf("%s: messages out of order or doubled: %+v", p.name, msgs)
		}
	}
	return msgs
}

func jsStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ",") + "]"
}

func (p *tab) unread(room string) string {
	return eval[string](p, fmt.Sprintf(`document.querySelector('#rooms [data-room=%q] .unread-count')?.textContent || ''`, room))
}

func (p *tab) connState() string {
	return eval[string](p, `document.querySelector('#conn').dataset.state`)
}

// goClient connects user to srv with the Go client, for t: another device
// or a bot beside the pages.
func goClient(t *testing.T, ctx context.Context, srv *server, user string) *tclient {
	t.Helper()
	return (&server{t: t, m: srv.m, dir: srv.dir, keys: srv.keys}).connect(ctx, user)
}

// ---- the scenarios of the web UI issue ----

func TestBrowser(t *testing.T) {
	needBrowser(t)
	top := t
	dir := t.TempDir()
	// Accounts on; a generous frame rate for the Go clients that fill rooms.
	config := func(m *Main) { m.Accounts, m.Rate, m.Burst = true, 1000, 1000 }
	srv := startServer(t, dir, config)
	url := srv.m.URL
	b := newBrowser(t)

	alice := b.tab(t, "alice", url)
	alice.wait("login form", `!document.querySelector('#auth').hidden`)
	alice.shot("01-login")
	alice.register("alice", "alice-password")
	bob := b.tab(t, "bob", url)
	bob.register("bob", "bob-password")

	t.Run("1 two users chat in a private room", func(t *testing.T) {
		alice.t, bob.t = t, t
		alice.click("#new-room-button")
		alice.do(chromedp.SendKeys(chromedp.CSS("#new-room-name"), "project"))
		alice.click(`#new-room-form input[value="private"]`)
		alice.do(
			chromedp.WaitVisible(chromedp.CSS("#new-room-members")),
			chromedp.SendKeys(chromedp.CSS("#new-room-members"), "bob"),
		)
		alice.click(`#new-room-form button[type="submit"]`)
		alice.wait("project open", `document.querySelector('#room-title').textContent === '#project'`)
		// Bob is told he was added; the room appears without a reload.
		bob.open("project")

		alice.say("hi bob, welcome to the project")
		bob.waitShown("hi bob, welcome to the project")
		// Typing shows on the other side; the text stays a draft.
		bob.do(chromedp.SendKeys(chromedp.CSS("#composer"), "thanks"))
		alice.wait("typing indicator", `document.querySelector('#typing').textContent === 'bob is typing…'`)
		bob.do(chromedp.SendKeys(chromedp.CSS("#composer"), " alice!\r"))
		alice.waitShown("hi bob, welcome to the project", "thanks alice!")
		// Both at once: each keeps their own order, and both pages agree.
		alice.say("a1")
		alice.say("a2")
		bob.say("b1")
		bob.say("b2")
		alice.wait("4 more", `document.querySelectorAll('#messages .msg[data-seq]').length === 6`)
		bob.wait("4 more", `document.querySelectorAll('#messages .msg[data-seq]').length === 6`)
		a, bb := alice.shown(), bob.shown()
		if !slices.Equal(a, bb) {
			t.Fatalf("alice and bob see different conversations:\n%+v\n%+v", a, bb)
		}
		texts := func(from string) []string {
			var out []string
			for _, m := range a {
				if m.From == from {
					out = append(out, m.Text)
				}
			}
			return out
		}
		if got := texts("alice"); !slices.Equal(got, []string{"hi bob, welcome to the project", "a1", "a2"}) {
			t.Errorf("alice's messages in order %q", got)
		}
		if got := texts("bob"); !slices.Equal(got, []string{"thanks alice!", "b1", "b2"}) {
			t.Errorf("bob's messages in order %q", got)
		}
		alice.shot("02-chat-alice")
	})

	var conversation []string
	t.Run("2 unread while away, then seen", func(t *testing.T) {
		alice.t, bob.t = t, t
		bob.close()
		for i := 1; i <= 5; i++ {
			alice.say(fmt.Sprintf("while you were away %d", i))
		}
		alice.wait("5 stored", `document.querySelectorAll('#messages .msg[data-seq]').length === 11 && !document.querySelector('#messages .pending')`)
		bob = b.tab(t, "bob", url)
		bob.login("bob", "bob-password")
		bob.waitRoomListed("project")
		bob.wait("unread 5", `document.querySelector('#rooms [data-room="project"] .unread-count')?.textContent === '5'`)
		bob.shot("03-unread-bob")
		bob.open("project")
		// The divider sits at his read cursor, before the first new message.
		bob.wait("new-messages divider", `document.querySelector('#new-divider')?.nextElementSibling?.querySelector('.msg-text')?.textContent === 'while you were away 1'`)
		all := bob.shown()
		if len(all) < 5 {
			t.Fatalf("bob sees %d messages", len(all))
		}
		for i, m := range all[len(all)-5:] {
			if want := fmt.Sprintf("while you were away %d", i+1); m.Text != want || m.From != "alice" {
				t.Fatalf("message %d: %+v, want %q from alice", i, m, want)
			}
		}
		bob.wait("unread cleared", `!document.querySelector('#rooms [data-room="project"] .unread-count')`)
		alice.wait("seen by bob", `document.querySelector('#messages .receipt')?.textContent === 'Seen by bob'`)
		alice.shot("04-seen-by-bob")
		for _, m := range all {
			conversation = append(conversation, m.Text)
		}
	})

	t.Run("3 reload keeps the session and the conversation", func(t *testing.T) {
		bob.t = t
		bob.do(chromedp.Reload())
		bob.waitConnected()
		if v := eval[bool](bob, `!document.querySelector('#auth').hidden`); v {
			t.Fatal("login form shown after a reload")
		}
		// The last room opens again by itself.
		bob.wait("project open", `document.querySelector('#room-title')?.textContent === '#project' && !document.querySelector('#room-view').hidden`)
		bob.waitShown(conversation...)
		alice.say("after bob's reload")
		bob.waitShown(append(slices.Clone(conversation), "after bob's reload")...)
		conversation = append(conversation, "after bob's reload")
	})

	t.Run("4 server restart: reconnect and resume", func(t *testing.T) {
		alice.t, bob.t = t, t
		ctx := ctxFor(t, 3*time.Minute) // the Go client's, beside the pages
		addr := strings.TrimPrefix(url, "http://")
		srv.stop()
		alice.wait("reconnecting", `document.querySelector('#conn').dataset.state === 'reconnecting'`)
		bob.wait("reconnecting", `document.querySelector('#conn').dataset.state === 'reconnecting'`)
		alice.say("sent while the server was down")
		alice.wait("pending", `!!document.querySelector('#messages .msg.pending')`)
		alice.shot("05-reconnecting-alice")

		srv = startServer(top, dir, config, func(m *Main) { m.Addr = addr })
		// Someone else (bob on his phone) talks before the pages are back.
		phone := goClient(t, ctx, srv, "bob")
		phone.join(ctx, "project", -1, "")
		phone.send(ctx, "project", "phone-1", "sent from bob's phone")
		alice.waitConnected()
		bob.waitConnected()
		conversation = append(conversation, "sent from bob's phone", "sent while the server was down")
		a := alice.waitShown(conversation...)
		bb := bob.waitShown(conversation...)
		if !slices.Equal(a, bb) {
			t.Fatalf("after the restart alice and bob differ:\n%+v\n%+v", a, bb)
		}
		// What is on screen is read.
		alice.wait("read", `!document.querySelector('#rooms [data-room="project"] .unread-count')`)
		alice.shot("06-resumed-alice")
	})

	t.Run("5 markup in a message is text", func(t *testing.T) {
		alice.t, bob.t = t, t
		const evil = `<img src=x onerror=alert(1)>`
		alice.say(evil)
		conversation = append(conversation, evil)
		bob.waitShown(conversation...)
		if n := eval[int](bob, `document.querySelectorAll('#messages img, #messages script, #messages [onerror]').length`); n != 0 {
			t.Fatalf("%d elements made from message text", n)
		}
		last := bob.shown()[len(conversation)-1]
		if last.Text != evil {
			t.Fatalf("shown as %q", last.Text)
		}
		// Links are made with the DOM too, and only for http(s).
		alice.say("docs at https://example.com/natter?a=1&b=<2> and javascript:alert(2)")
		conversation = append(conversation, "docs at https://example.com/natter?a=1&b=<2> and javascript:alert(2)")
		bob.waitShown(conversation...)
		links := eval[[]string](bob, `[...document.querySelectorAll('#messages a')].map(a => a.href + ' ' + a.rel)`)
		if !slices.Equal(links, []string{"https://example.com/natter?a=1&b= noopener noreferrer nofollow"}) {
			t.Errorf("links in messages: %q", links)
		}
		bob.wait("read", `!document.querySelector('#rooms [data-room="project"] .unread-count')`)
		bob.shot("07-markup-as-text-bob")
	})

	t.Run("6 a DM is private to its two users", func(t *testing.T) {
		alice.t, bob.t = t, t
		carol := b.tab(t, "carol", url)
		carol.register("carol", "carol-password")
		alice.click("#new-dm-button")
		alice.do(chromedp.SendKeys(chromedp.CSS("#new-dm-user"), "bob"))
		alice.click(`#new-dm-form button[type="submit"]`)
		alice.wait("DM open", `document.querySelector('#room-title').textContent === 'bob'`)
		alice.say("just between us")
		dm := eval[string](alice, `document.querySelector('#rooms [aria-current="page"]').dataset.room`)
		if !strings.HasPrefix(dm, "dm-") {
			t.Fatalf("DM room id %q", dm)
		}
		bob.open(dm)
		bob.waitShown("just between us")
		bob.wait("alice online", fmt.Sprintf(`!!document.querySelector('#rooms [data-room=%q] .presence.online')`, dm))
		bob.shot("08-dm-bob")

		carol.wait("carol's rooms", `document.querySelectorAll('#rooms .room').length >= 1`)
		if eval[bool](carol, fmt.Sprintf(`!!document.querySelector('#rooms [data-room=%q]')`, dm)) {
			t.Fatal("carol's room list shows the DM")
		}
		if eval[bool](carol, `document.body.innerText.includes('just between us')`) {
			t.Fatal("carol's page shows the DM's text")
		}
		status := eval[int](carol, fmt.Sprintf(`fetch('/api/rooms/%s/messages', {headers: {Authorization: 'Bearer ' + JSON.parse(localStorage.getItem('natter.session')).token}}).then(r => r.status)`, dm))
		if status != 403 {
			t.Fatalf("carol reading the DM's history: HTTP %d, want 403", status)
		}
		carol.shot("09-carol-without-dm")
	})

	t.Run("history scrolls back and jumps to the latest", func(t *testing.T) {
		alice.t = t
		ctx := ctxFor(t, 3*time.Minute)
		dave := goClient(t, ctx, srv, "dave")
		dave.join(ctx, "archive", -1, "")
		const n = 130
		var want []string
		for i := 1; i <= n; i++ {
			want = append(want, fmt.Sprintf("old message %03d", i))
			dave.send(ctx, "archive", fmt.Sprint("h", i), want[i-1])
		}
		alice.click("#browse-button")
		alice.click(`#browse-results button[aria-label="Join archive"]`)
		alice.wait("archive open", `document.querySelector('#room-title').textContent === '#archive'`)
		alice.wait("latest page", `document.querySelectorAll('#messages .msg').length >= 50`)
		// Scroll to the top until the beginning shows.
		alice.wait("whole history", `(() => {
			const sc = document.querySelector('#scroller');
			sc.scrollTop = 0; sc.dispatchEvent(new Event('scroll'));
			return document.querySelector('#history-status').textContent.startsWith('This is the beginning');
		})()`)
		alice.waitShown(want...)
		alice.wait("jump button", `!document.querySelector('#jump').hidden`)
		alice.shot("10-history-top")
		alice.click("#jump")
		alice.wait("at the bottom", `(() => { const sc = document.querySelector('#scroller'); return sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80; })()`)
	})

	t.Run("an expired session keeps the draft", func(t *testing.T) {
		bob.t = t
		bob.open("project")
		bob.do(chromedp.SendKeys(chromedp.CSS("#composer"), "half-written thought"))
		// A new signing secret voids every token, as an expiry would.
		addr := strings.TrimPrefix(url, "http://")
		srv.stop()
		srv = startServer(top, dir, config, func(m *Main) {
			m.Addr, m.JWTSecret = addr, "another secret of at least 32 bytes....."
		})
		bob.wait("login asked", `!document.querySelector('#auth').hidden && document.querySelector('#auth').classList.contains('overlay')`)
		bob.shot("11-session-expired")
		// The app underneath is inert: one <main> and one form to reach.
		bob.axe("the login over the conversation")
		if !eval[bool](bob, `document.querySelector('#app').inert`) {
			t.Error("the app under the login form is not inert")
		}
		bob.do(
			chromedp.SendKeys(chromedp.CSS("#auth-password"), "bob-password\r"),
		)
		bob.waitConnected()
		if got := eval[string](bob, `document.querySelector('#composer').value`); got != "half-written thought" {
			t.Fatalf("draft after logging in again: %q", got)
		}
		bob.waitShown(conversation...)
	})

	t.Run("screens: phone and dark", func(t *testing.T) {
		bob.t = t
		bob.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
		bob.wait("phone layout", `getComputedStyle(document.querySelector('#back')).display !== 'none'`)
		bob.shot("12-phone-room")
		bob.click("#back")
		bob.wait("phone list", `document.querySelector('#sidebar').offsetParent !== null`)
		bob.shot("13-phone-list")
		bob.do(chromedp.EmulateViewport(1280, 800))
		bob.call(func(ctx context.Context) error {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
			})
			return err
		})
		bob.open("project")
		bob.shot("14-dark-room")
	})
}

// A deployment with its own login page: no built-in accounts, the UI sends
// visitors to --login-url, which returns them with #token=<jwt>.
func TestBrowserExternalLogin(t *testing.T) {
	needBrowser(t)
	ctx := ctxFor(t, 3*time.Minute)
	var srv *server
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		back := r.URL.Query().Get("return_to")
		if !strings.HasPrefix(back, srv.m.URL+"/") {
			http.Error(w, "unknown return_to", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, back+"#token="+srv.token("erin"), http.StatusFound)
	}))
	t.Cleanup(idp.Close)
	srv = startServer(t, "", func(m *Main) { m.Accounts, m.LoginURL = false, idp.URL+"/login" })
	b := newBrowser(t)

	erin := b.tab(t, "erin", srv.m.URL)
	erin.waitConnected()
	if got := eval[string](erin, `document.querySelector('#me-name').textContent`); got != "erin" {
		t.Fatalf("logged in as %q", got)
	}
	// The token left the address bar at once and never was in a query.
	if loc := eval[string](erin, `location.href`); loc != srv.m.URL+"/" {
		t.Fatalf("address after the handoff: %q", loc)
	}
	// Registration is off on this server.
	var cfg struct{ Accounts bool }
	if code := srv.getJSON(ctx, "", "/api/auth/config", &cfg); code != http.StatusOK || cfg.Accounts {
		t.Fatalf("auth config: %d %+v", code, cfg)
	}
	erin.shot("15-external-login")
}
