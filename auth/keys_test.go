package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
)

// RSA key generation takes long enough (more so under -race) that each key
// is generated once per test binary and shared.
var (
	rsaKey      = sync.OnceValue(func() *rsa.PrivateKey { return genRSA(2048) })
	otherRSAKey = sync.OnceValue(func() *rsa.PrivateKey { return genRSA(2048) })
)

func genRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func genEd25519(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func randomSecret(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, MinSecretLen)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func mustNew(t *testing.T, cfg Config) *Keys {
	t.Helper()
	k, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return k
}
