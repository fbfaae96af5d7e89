package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

func TestAdminTokens(t *testing.T) {
	plain := "plain-admin-token-0123456789abcdefgh"
	hashed := "hashed-admin-token-0123456789abcdefgh"
	sum := sha256.Sum256([]byte(hashed))
	toks, err := ParseAdminTokens([]byte("# comment\n\n" + plain + "\nsha256:" + hex.EncodeToString(sum[:]) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]bool{plain: true, hashed: true, "": false, plain + "x": false, plain[:len(plain)-1]: false,
		"sha256:" + hex.EncodeToString(sum[:]): false} {
		if got := toks.Valid(tok); got != want {
			t.Errorf("Valid(%q) = %v, want %v", tok, got, want)
		}
	}
	bot := "bot-token-for-helpbot-0123456789abcdef"
	bots, err := ParseAdminTokens([]byte(plain + "\nbot:helpbot " + bot + "\nbot:other sha256:" + hex.EncodeToString(sum[:]) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]Grant{plain: {}, bot: {Bot: "helpbot"}, hashed: {Bot: "other"}} {
		if g, ok := bots.Lookup(tok); !ok || g != want {
			t.Errorf("Lookup(%q) = %+v %v, want %+v", tok, g, ok, want)
		}
	}
	if bots.Valid(bot) {
		t.Error("a bot token is an admin token")
	}
	var none *AdminTokens
	if none.Valid(plain) {
		t.Error("nil AdminTokens accepted a token")
	}
	for _, bad := range []string{"", "# only a comment\n", "short\n", "sha256:abcd\n", "sha256:" + hex.EncodeToString(sum[:]) + "zz\n",
		"bot:" + plain + "\n", "bot:no.dots " + plain + "\n", "bot:helpbot short\n"} {
		if _, err := ParseAdminTokens([]byte(bad)); err == nil {
			t.Errorf("ParseAdminTokens(%q) accepted", bad)
		}
	}
	path := filepath.Join(t.TempDir(), "admin.tokens")
	if err := os.WriteFile(path, []byte(plain+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAdminTokens(path); err == nil {
		t.Error("a world-readable token file was accepted")
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if toks, err := LoadAdminTokens(path); err != nil || !toks.Valid(plain) {
		t.Errorf("LoadAdminTokens: %v", err)
	}
}

// FuzzParseAdminTokens: any file content parses or is refused, and a
// parsed file accepts its own plain tokens only.
func FuzzParseAdminTokens(f *testing.F) {
	f.Add([]byte("plain-admin-token-0123456789abcdefgh\n"))
	f.Add([]byte("sha256:00\n#x\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		toks, err := ParseAdminTokens(data)
		if err != nil {
			return
		}
		if toks.Valid("") {
			t.Fatal("empty token accepted")
		}
	})
}
