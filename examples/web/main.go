// Command web serves a minimal chat page built on natter.js, the browser
// client of web/static (docs/CLIENT-JS.md), to show it outside Natter's own
// UI. The page is this directory's static/; /natter.js is the one embedded
// in the web package, so the page always runs the client that ships with
// the server. /api/ and /ws are passed to the Natter server, so the page
// talks to it from its own origin (no CORS to set up).
//
//	natter serve &
//	go run ./examples/web -natter http://127.0.0.1:8080 -addr 127.0.0.1:8090
//	# open http://127.0.0.1:8090, register or log in, chat in "lobby"
package main

import (
	"embed"
	"flag"
	"io/fs"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/natter-chat/natter/web"
)

//go:embed static
var static embed.FS

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to serve the page on")
	natter := flag.String("natter", "http://127.0.0.1:8080", "the Natter server's HTTP base URL")
	flag.Parse()
	h, err := handler(*natter)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("serving http://%s (Natter at %s)", *addr, *natter)
	log.Fatal(http.ListenAndServe(*addr, h))
}

// handler routes the page's files, natter.js and the proxied Natter routes.
func handler(natter string) (http.Handler, error) {
	target, err := url.Parse(natter)
	if err != nil {
		return nil, err
	}
	page, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(target) // passes WebSocket upgrades through
	mux := http.NewServeMux()
	mux.Handle("/natter.js", web.Handler())
	mux.Handle("/api/", proxy)
	mux.Handle("/ws", proxy)
	mux.Handle("/", http.FileServerFS(page))
	return mux, nil
}
