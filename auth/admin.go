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
)

// MinAdminTokenLen is the shortest admin token accepted: long enough that
// guessing one over the network is hopeless.
const MinAdminTokenLen = 32

// AdminTokens are the tokens of the admin API (docs/HTTP-API.md "Admin
// API"). Only their SHA-256 hashes are kept in memory, and the file may
// hold hashes only, so that reading it does not yield a usable token.
type AdminTokens struct {
	hashes [][sha256.Size]byte
}

// ParseAdminTokens reads one token per line: either the token itself
// (at least MinAdminTokenLen bytes) or "sha256:" and the hex SHA-256 of
// the token. Blank lines and lines starting with '#' are skipped.
func ParseAdminTokens(data []byte) (*AdminTokens, error) {
	t := &AdminTokens{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
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
		t.hashes = append(t.hashes, h)
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

// Valid reports whether token is one of t's, in time independent of which
// one matched (or how much of it).
func (t *AdminTokens) Valid(token string) bool {
	if t == nil || token == "" {
		return false
	}
	h := sha256.Sum256([]byte(token))
	ok := 0
	for i := range t.hashes {
		ok |= subtle.ConstantTimeCompare(h[:], t.hashes[i][:])
	}
	return ok == 1
}
