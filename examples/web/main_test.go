package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The page, natter.js from the web package, and /api/ passed through to
// the Natter server (here a stand-in that echoes the path: the proxy's
// behaviour, not Natter's, is under test).
func TestHandler(t *testing.T) {
	natter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "natter saw "+r.URL.Path)
	}))
	defer natter.Close()
	h, err := handler(natter.URL)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for path, want := range map[string]string{
		"/":                "natter.js example",
		"/example.js":      "from './natter.js'",
		"/natter.js":       "export class Client",
		"/api/auth/config": "natter saw /api/auth/config",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d %.80q, want %q", path, resp.StatusCode, b, want)
		}
	}
}
