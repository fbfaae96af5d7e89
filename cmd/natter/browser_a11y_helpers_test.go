package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// axe-core (web/test/axe.min.js, vendored for the tests only: the UI does
// not serve it) checks a page for accessibility problems.

var (
	axeOnce   sync.Once
	axeSource string
	axeErr    error
)

func axeScript() (string, error) {
	axeOnce.Do(func() {
		b, err := os.ReadFile("../../web/test/axe.min.js")
		axeSource, axeErr = string(b), err
	})
	return axeSource, axeErr
}

// axeViolation is one rule that failed, with the nodes it failed on.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

func (v axeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for i, n := range v.Nodes {
		if i == 4 {
			fmt.Fprintf(&b, "\n      … and %d more", len(v.Nodes)-i)
			break
		}
		fmt.Fprintf(&b, "\n      %v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
	}
	return b.String()
}

// axe runs axe-core on the page as it is and fails the test for every
// serious or critical violation; lesser ones are logged. screen names
// what is on screen, for the messages.
func (p *tab) axe(screen string) {
	p.t.Helper()
	src, err := axeScript()
	if err != nil {
		p.t.Fatalf("axe-core: %v", err)
	}
	// Evaluated through the DevTools protocol, as a test tool: the page's
	// CSP (script-src 'self', no eval) does not apply to that.
	if !eval[bool](p, `typeof axe !== 'undefined'`) {
		p.call(func(ctx context.Context) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](src+";0"))
			return err
		})
	}
	// The experimental rules too: label-content-name-mismatch is one.
	out := eval[string](p, `(() => {
		axe.configure({rules: axe.getRules(['experimental']).map(r => ({id: r.ruleId, enabled: true}))});
		return axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations));
	})()`)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		p.t.Fatalf("axe result: %v", err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			p.t.Errorf("%s: axe on %s: %s", p.name, screen, v)
		} else {
			p.t.Logf("%s: axe on %s (not counted): %s", p.name, screen, v)
		}
	}
}

// scheme switches the page between the light and the dark colours.
func (p *tab) scheme(dark bool) {
	p.t.Helper()
	v := "light"
	if dark {
		v = "dark"
	}
	p.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}},
		})
		return err
	})
}

// viewport sizes the page as a desktop (1280×800) or a phone (390×844).
func (p *tab) viewport(phone bool) {
	p.t.Helper()
	if phone {
		p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	} else {
		p.do(chromedp.EmulateViewport(1280, 800))
	}
}

// screens are the four ways every screen is checked and photographed.
var screens = []struct {
	name        string
	phone, dark bool
}{
	{"desktop-light", false, false},
	{"desktop-dark", false, true},
	{"phone-light", true, false},
	{"phone-dark", true, true},
}
