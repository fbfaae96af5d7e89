package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// SecretFile is the name of the HS256 secret inside the data directory.
const SecretFile = "jwt.secret"

// LoadOrCreateSecret returns the HS256 secret kept in dataDir/jwt.secret,
// creating the directory (0700) and a fresh random secret (0600) if needed.
// The file holds 32 random bytes, hex-encoded on one line, so an operator can
// inspect or replace it with ordinary tools.
//
// A secret readable by others lets them mint tokens for any user, so an
// existing file with permissions wider than 0600 is an error rather than
// something we silently fix: the operator should know it may have leaked.
func LoadOrCreateSecret(dataDir string) ([]byte, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: create data dir: %w", err)
	}
	path := filepath.Join(dataDir, SecretFile)
	secret, err := readSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return secret, err
	}
	secret, err = createSecret(path)
	if errors.Is(err, fs.ErrExist) {
		// Another process starting at the same moment won the race; its
		// secret is the one every node must share.
		return readSecret(path)
	}
	return secret, err
}

// createSecret writes a new secret to path, failing with fs.ErrExist if path
// already exists. The secret is written to a temporary file first and then
// hard-linked into place: link, like O_EXCL, never replaces an existing file,
// and unlike O_CREATE|O_EXCL on the final name it never lets a concurrent
// reader see the file empty or half-written.
func createSecret(path string) ([]byte, error) {
	secret := make([]byte, MinSecretLen)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("auth: generate secret: %w", err)
	}
	// CreateTemp opens with O_EXCL and mode 0600.
	f, err := os.CreateTemp(filepath.Dir(path), SecretFile+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("auth: create secret: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = io.WriteString(f, hex.EncodeToString(secret)+"\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("auth: write secret: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("auth: create secret: %w", err)
	}
	return secret, nil
}

// readSecret reads and checks an existing secret file. A missing file is
// reported as fs.ErrNotExist, unwrapped enough for errors.Is.
func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("auth: open secret: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the mode we check belongs to the
	// bytes we read.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("auth: stat secret: %w", err)
	}
	// Windows has no Unix permission bits; os reports 0666 for every file.
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&^0o600 != 0 {
		return nil, fmt.Errorf("auth: %s has permissions %04o, wider than 0600; the secret may have leaked: rotate it or chmod 600", path, perm)
	}
	// A valid file is 65 bytes; the limit keeps a wrong path from being
	// read into memory whole.
	data, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("auth: read secret: %w", err)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("auth: %s is not hex-encoded", path)
	}
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("auth: %s holds %d bytes; need at least %d", path, len(secret), MinSecretLen)
	}
	return secret, nil
}

// LoadSecret reads the secret kept in dataDir without creating one: a tool
// pointed at the wrong directory must fail rather than mint tokens with a
// key no server uses.
func LoadSecret(dataDir string) ([]byte, error) {
	secret, err := readSecret(filepath.Join(dataDir, SecretFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("auth: no %s in %s: start the server with this data dir once, or pass the secret explicitly", SecretFile, dataDir)
	}
	return secret, err
}
