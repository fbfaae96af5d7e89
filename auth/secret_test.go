package auth

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	first, err := LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if len(first) != MinSecretLen {
		t.Fatalf("secret is %d bytes; want %d", len(first), MinSecretLen)
	}
	if _, err := New(Config{Secret: first}); err != nil {
		t.Fatalf("New rejects created secret: %v", err)
	}

	path := filepath.Join(dir, SecretFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("secret file mode %04o; want 0600", perm)
		}
		if perm := di.Mode().Perm(); perm != 0o700 {
			t.Errorf("data dir mode %04o; want 0700", perm)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(first) + "\n"; string(data) != want {
		t.Errorf("file holds %q; want %q", data, want)
	}

	second, err := LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !bytes.Equal(first, second) {
		t.Error("second call returned a different secret")
	}
	assertNoTempFiles(t, dir)
}

func TestLoadOrCreateSecretExisting(t *testing.T) {
	valid := strings.Repeat("ab", MinSecretLen) + "\n"
	tests := []struct {
		name    string
		content string
		perm    os.FileMode
		wantErr string
		unixOK  bool // the case depends on Unix permission bits
	}{
		{"0600", valid, 0o600, "", false},
		{"0400 is narrower", valid, 0o400, "", false},
		{"no newline", strings.TrimSpace(valid), 0o600, "", false},
		{"longer secret", strings.Repeat("cd", 64), 0o600, "", false},
		{"0644", valid, 0o644, "wider than 0600", true},
		{"0640", valid, 0o640, "wider than 0600", true},
		{"0700", valid, 0o700, "wider than 0600", true},
		{"not hex", "not a secret\n", 0o600, "not hex-encoded", false},
		{"too short", "abcd\n", 0o600, "need at least 32", false},
		{"empty", "", 0o600, "need at least 32", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unixOK && runtime.GOOS == "windows" {
				t.Skip("no Unix permission bits")
			}
			dir := t.TempDir()
			path := filepath.Join(dir, SecretFile)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			// Chmod after writing, since WriteFile's mode is subject to umask.
			if err := os.Chmod(path, tt.perm); err != nil {
				t.Fatal(err)
			}
			secret, err := LoadOrCreateSecret(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadOrCreateSecret = %v; want error containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), strings.TrimSpace(tt.content)) && tt.content != "" {
					t.Errorf("error %q echoes the file content", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadOrCreateSecret: %v", err)
			}
			if want, _ := hex.DecodeString(strings.TrimSpace(tt.content)); !bytes.Equal(secret, want) {
				t.Errorf("secret %x; want %x", secret, want)
			}
			// An existing file is never rewritten.
			if data, _ := os.ReadFile(path); string(data) != tt.content {
				t.Errorf("file changed to %q", data)
			}
		})
	}
}

// TestLoadOrCreateSecretRace stands in for several processes starting at
// once on a fresh data dir: all of them must end up with the same secret.
func TestLoadOrCreateSecretRace(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	secrets := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { secrets[i], errs[i] = LoadOrCreateSecret(dir) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !bytes.Equal(secrets[i], secrets[0]) {
			t.Fatalf("caller %d got a different secret than caller 0", i)
		}
	}
	assertNoTempFiles(t, dir)
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != SecretFile {
			t.Errorf("unexpected file %s left in data dir", e.Name())
		}
	}
}
