// Package web serves Natter's browser UI, embedded in the binary so that a
// single natter process is all a small deployment needs. The UI is plain
// ES modules with no build step: what is in static/ is what browsers get.
//
// Every response carries a Content-Security-Policy that allows scripts,
// styles and connections from this origin only (no inline script, no
// eval), so that even a bug that let message text into the page as HTML
// could not run code.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed static
var static embed.FS

// csp is the Content-Security-Policy of every response. connect-src names
// ws: and wss: of this host besides 'self' because older browsers do not
// count WebSocket URLs as 'self'.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; manifest-src 'self'; connect-src 'self' %WS%; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'; object-src 'none'"

// file is one embedded file with what its responses need.
type file struct {
	data []byte
	etag string
}

var (
	filesOnce sync.Once
	files     map[string]file
)

func load() {
	files = map[string]file{}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		files["/"+p] = file{data: data, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic(err)
	}
}

// Handler serves the UI's static files: / is index.html, other paths are
// files of static/, anything else is 404 (text/plain).
func Handler() http.Handler {
	filesOnce.Do(load)
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	ws := ""
	if plainHost(r.Host) {
		ws = "ws://" + r.Host + " wss://" + r.Host
	}
	h.Set("Content-Security-Policy", strings.Replace(csp, "%WS%", ws, 1))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := path.Clean("/" + r.URL.Path)
	if p == "/" {
		p = "/index.html"
	}
	f, ok := files[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	// Files change only with the binary: browsers revalidate (cheaply, by
	// ETag) so that an upgrade is picked up at the next load.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	http.ServeContent(w, r, p, time.Time{}, bytes.NewReader(f.data))
}

// plainHost reports whether host is only a name or address and a port, fit
// to be pasted into a CSP source list.
func plainHost(host string) bool {
	if host == "" {
		return false
	}
	for _, c := range host {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune(".-:[]", c):
		default:
			return false
		}
	}
	return true
}
