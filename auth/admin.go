package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/natter-chat/natter"
)

// MinAdminTokenLen is the shortest admin token accepted: long enough that
// guessing one over the network is hopeless.
const MinAdminTokenLen = 32

// AdminTokens are the tokens of the admin API (docs/HTTP-API.md "Admin
// API"). Only their SHA-256 hashes are kept in memory, and the file may
// hold hashes only, so that reading it does not yield a usable token.
type AdminTokens struct {
	hashes [][sha256.Size]byte
	bots   []natter.UserID // of each hash: "" for an admin token, else the one bot it may post as
}

// Grant is what an admin API token allows.
type Grant struct {
	// Bot is empty for an admin token (everything), else the only user
	// id the token may post as (a bot token: posts only, into rooms the
	// bot is a member of).
	Bot natter.UserID
}

// ParseAdminTokens reads one token per line: either the token itself
// (at least MinAdminTokenLen bytes) or "sha256:" and the hex SHA-256 of
// the token, optionally after "bot:<user> " for a bot token. Blank lines
// and lines starting with '#' are skipped.
func ParseAdminTokens(data []byte) (*AdminTokens, error) {
	t := &AdminTokens{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		var bot natter.UserID
		if rest, ok := strings.CutPrefix(line, "bot:"); ok {
			name, tok, ok := strings.Cut(rest, " ")
			bot, line = natter.UserID(name), strings.TrimSpace(tok)
			if !ok || bot.Validate() != nil {
				return nil, fmt.Errorf("admin tokens: line %d: want bot:<user id> <token>", n)
			}
		}
		var h [sha256.Size]byte
		if hexHash, ok := strings.CutPrefix(line, "sha256:"); ok {
			b, err := hex.DecodeString(hexHash)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("admin tokens: line %d: sha256: wants 64 hex digits", n)
			}
			copy(h[:], b)
		} else {
			if len(line) < MinAdminTokenLen {
				return nil, fmt.Errorf("admin tokens: line %d: a token must be at least %d bytes", n, MinAdminTokenLen)
			}
			h = sha256.Sum256([]byte(line))
		}
		t.hashes, t.bots = append(t.hashes, h), append(t.bots, bot)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("admin tokens: %w", err)
	}
	if len(t.hashes) == 0 {
		return nil, fmt.Errorf("admin tokens: no token in the file")
	}
	return t, nil
}

// LoadAdminTokens reads ParseAdminTokens' format from path, which must not
// be readable by others (as the JWT secret).
func LoadAdminTokens(path string) (*AdminTokens, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("admin tokens: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("admin tokens: %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("admin tokens: %w", err)
	}
	return ParseAdminTokens(data)
}

// Lookup returns the grant of token if it is one of t's, in time
// independent of which one matched (or how much of it).
func (t *AdminTokens) Lookup(token string) (Grant, bool) {
	if t == nil || token == "" {
		return Grant{}, false
	}
	h := sha256.Sum256([]byte(token))
	found := -1
	for i := range t.hashes {
		if subtle.ConstantTimeCompare(h[:], t.hashes[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Grant{}, false
	}
	return Grant{Bot: t.bots[found]}, true
}

// Valid reports whether token is an admin token (not a bot token).
func (t *AdminTokens) Valid(token string) bool {
	g, ok := t.Lookup(token)
	return ok && g.Bot == ""
}
