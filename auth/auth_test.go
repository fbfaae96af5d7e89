package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	secret := randomSecret(t)
	edPub, _ := genEd25519(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	smallRSA := genRSA(1024)

	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"secret only", Config{Secret: secret}, ""},
		{"public keys only", Config{PublicKeys: []crypto.PublicKey{&rsaKey().PublicKey, edPub}}, ""},
		{"both", Config{Secret: secret, PublicKeys: []crypto.PublicKey{edPub}}, ""},
		{"nothing", Config{}, "neither a secret nor public keys"},
		{"empty secret", Config{Secret: []byte{}}, "neither a secret nor public keys"},
		{"short secret", Config{Secret: secret[:31]}, "need at least 32"},
		{"ecdsa key", Config{PublicKeys: []crypto.PublicKey{&ecKey.PublicKey}}, "unsupported type"},
		{"ed25519 private key", Config{PublicKeys: []crypto.PublicKey{ed25519.PrivateKey(make([]byte, 64))}}, "unsupported type"},
		{"short ed25519 key", Config{PublicKeys: []crypto.PublicKey{edPub[:16]}}, "Ed25519 key is 16 bytes"},
		{"small rsa key", Config{PublicKeys: []crypto.PublicKey{&smallRSA.PublicKey}}, "need at least 2048"},
		{"negative leeway", Config{Secret: secret, Leeway: -time.Second}, "negative leeway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("New succeeded; want error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("New: %v; want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewCopiesSecret(t *testing.T) {
	secret := randomSecret(t)
	k := mustNew(t, Config{Secret: secret})
	tok, err := k.Issue("alice", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	secret[0] ^= 0xff
	if _, err := k.Verify(tok); err != nil {
		t.Fatalf("caller mutating its secret slice broke verification: %v", err)
	}
}
