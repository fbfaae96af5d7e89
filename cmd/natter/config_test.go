package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "natter.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func parseRole(role string, args ...string) (*Main, error) {
	m := NewMain()
	m.Role = role
	return m, parse(newServeFlags(m, &bytes.Buffer{}), args)
}

// The example file in the repository loads in every role, and its values
// arrive in Main.
func TestConfigFileExample(t *testing.T) {
	for _, role := range []string{"serve", "edge", "history"} {
		m, err := parseRole(role, "--config", "../../deploy/natter.toml")
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		if m.StreamMaxAge != 720*time.Hour || m.DrainDelay != 0 && role == "history" {
			t.Errorf("%s: stream-max-age %v drain-delay %v", role, m.StreamMaxAge, m.DrainDelay)
		}
		if role != "history" && (m.DrainDelay != 5*time.Second || m.Rate != 20 || m.IdleTimeout != 75*time.Second) {
			t.Errorf("%s: drain-delay %v rate %v idle-timeout %v", role, m.DrainDelay, m.Rate, m.IdleTimeout)
		}
	}
}

// flag > environment > file > default, key by key.
func TestConfigFilePrecedence(t *testing.T) {
	p := writeConfig(t, `
addr = "127.0.0.1:7001"
max-text = 100
data = "/from/file"
burst = 7
jwt-public-key = ["/a.pem", "/b.pem"]
accounts = false
`)
	t.Setenv("NATTER_MAX_TEXT", "200")
	t.Setenv("NATTER_BURST", "9")
	m, err := parseRole("serve", "--config", p, "--data", "/from/flag", "--burst", "11")
	if err != nil {
		t.Fatal(err)
	}
	if m.Addr != "127.0.0.1:7001" || m.MaxText != 200 || m.DataDir != "/from/flag" || m.Burst != 11 {
		t.Errorf("addr %q (file) max-text %d (env) data %q (flag) burst %d (flag)", m.Addr, m.MaxText, m.DataDir, m.Burst)
	}
	if m.JWTPublicKeys != "/a.pem,/b.pem" || m.Accounts {
		t.Errorf("jwt-public-key %q accounts %v", m.JWTPublicKeys, m.Accounts)
	}
	if m.Rate != NewMain().Rate {
		t.Errorf("rate %v: not the default", m.Rate)
	}
	// The file may also be named by NATTER_CONFIG.
	t.Setenv("NATTER_CONFIG", p)
	if m, err = parseRole("serve"); err != nil || m.Addr != "127.0.0.1:7001" {
		t.Errorf("NATTER_CONFIG: addr %q, %v", m.Addr, err)
	}
}

// Unknown keys and values that are no flag's are refused with the key's
// name; a key of another role is ignored.
func TestConfigFileErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{`adr = "x"`, `unknown key "adr"`},
		{`config = "other.toml"`, `unknown key "config"`},
		{"[edge]\naddr = \"x\"", `unknown key "edge"`},
		{`idle-timeout = 75`, `idle-timeout = "75"`},
		{`rate = "fast"`, `rate = "fast"`},
		{`stream-max-age = 1979-05-27T07:32:00Z`, `stream-max-age: a time.Time is not a flag value`},
		{`nats = [["a"]]`, `nats: nested arrays`},
		{`addr = `, `natter.toml`},
	} {
		_, err := parseRole("serve", "--config", writeConfig(t, tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to say %q", tc.text, err, tc.want)
		}
	}
	if _, err := parseRole("serve", "--config", filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Error("a missing config file was accepted")
	}
	// data is a flag of serve and history, not of edge: ignored there.
	m, err := parseRole("edge", "--config", writeConfig(t, "data = \"/x\"\nnats = \"nats://n1:4222\""))
	if err != nil || m.NATS != "nats://n1:4222" {
		t.Errorf("edge with data in its file: nats %q, %v", m.NATS, err)
	}
}

// Stream limits count as given whether they come from a flag, the
// environment or the file; the others are left to the stream.
func TestGivenLimits(t *testing.T) {
	p := writeConfig(t, "stream-max-age = \"48h\"\n")
	t.Setenv("NATTER_DEDUPE_WINDOW", "1m")
	m := NewMain()
	fs := newServeFlags(m, &bytes.Buffer{})
	if err := parse(fs, []string{"--config", p}); err != nil {
		t.Fatal(err)
	}
	if got := givenLimits(fs); !got.MaxAge || got.MaxBytes || !got.Duplicates {
		t.Errorf("given limits %+v: want max age (file) and dedupe (env), not max bytes", got)
	}
	fs = newServeFlags(NewMain(), &bytes.Buffer{})
	t.Setenv("NATTER_DEDUPE_WINDOW", "")
	os.Unsetenv("NATTER_DEDUPE_WINDOW")
	if err := parse(fs, []string{"--stream-max-bytes", "1000"}); err != nil {
		t.Fatal(err)
	}
	if got := givenLimits(fs); got.MaxAge || !got.MaxBytes || got.Duplicates {
		t.Errorf("given limits %+v: want max bytes only", got)
	}
}
