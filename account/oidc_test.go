package account

import (
	"strings"
	"testing"
	"time"
)

// The path the token is sent to after a login is always one of ours.
func TestReturnPath(t *testing.T) {
	cases := map[string]string{
		"http://127.0.0.1:8080/":       "/",
		"https://chat.example/app/":    "/app/",
		"/app/index.html":              "/app/index.html",
		"https://evil.example/steal":   "/steal", // the host is dropped, whatever it is
		"//evil.example/steal":         "/steal",
		"///evil.example":              "/",
		"/\\evil.example":              "/",
		"javascript:alert(1)":          "/",
		"":                             "/",
		"relative/path":                "/",
		"/a%2F%2Fb":                    "/a//b", // not at the start: still a path here
		"/%2F%2Fevil.example":          "/",
		"/ok?x=1#frag":                 "/ok",
		"/" + strings.Repeat("a", 300): "/",
		"https://evil.example//x":      "/",
	}
	for in, want := range cases {
		if got := returnPath(in); got != want {
			t.Errorf("returnPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoginCookie(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	p := pendingLogin{State: "s", Verifier: "v", Nonce: "n", Return: "/", Expires: now.Add(time.Minute).Unix()}
	got, ok := decodeLogin(encodeLogin(p), now)
	if !ok || got != p {
		t.Fatalf("round trip: %+v %v", got, ok)
	}
	if _, ok := decodeLogin(encodeLogin(p), now.Add(time.Minute)); ok {
		t.Fatal("expired login accepted")
	}
	bad := p
	bad.Return = "//evil.example"
	if _, ok := decodeLogin(encodeLogin(bad), now); ok {
		t.Fatal("login returning to another site accepted")
	}
}

// FuzzLoginCookie decodes arbitrary cookie values: never a panic, and
// whatever is accepted has every field set, is unexpired and returns to
// a plain path of ours.
func FuzzLoginCookie(f *testing.F) {
	now := time.Unix(1_000_000, 0)
	f.Add(encodeLogin(pendingLogin{State: "s", Verifier: "v", Nonce: "n", Return: "/app/", Expires: now.Unix() + 60}))
	f.Add("e30")
	f.Fuzz(func(t *testing.T, v string) {
		p, ok := decodeLogin(v, now)
		if !ok {
			return
		}
		if p.State == "" || p.Verifier == "" || p.Nonce == "" || p.Expires <= now.Unix() {
			t.Fatalf("accepted %+v", p)
		}
		if !strings.HasPrefix(p.Return, "/") || strings.HasPrefix(p.Return, "//") || strings.ContainsAny(p.Return, "\\:#?%") {
			t.Fatalf("accepted return path %q", p.Return)
		}
	})
}

// FuzzReturnPath: any return_to becomes a path on this server.
func FuzzReturnPath(f *testing.F) {
	f.Add("http://127.0.0.1:8080/")
	f.Add("//evil.example/")
	f.Fuzz(func(t *testing.T, s string) {
		p := returnPath(s)
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\:#?%@ ") || len(p) > 256 {
			t.Fatalf("returnPath(%q) = %q", s, p)
		}
	})
}
