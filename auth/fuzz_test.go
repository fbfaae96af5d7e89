package auth

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The fuzzer's keys are fixed, so that the tokens in its seed corpus
// (testdata/fuzz/FuzzVerify) stay signed by them.
var (
	fuzzSecret = bytes.Repeat([]byte("f"), MinSecretLen)
	fuzzEdKey  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte("e"), ed25519.SeedSize))
)

func fuzzKeys() *Keys {
	return must(New(Config{Secret: fuzzSecret, PublicKeys: []crypto.PublicKey{fuzzEdKey.Public()}}))
}

// signedByFuzzKeys checks a token's signature by hand, outside the JWT
// library: the oracle for "Verify accepts only what our keys signed".
func signedByFuzzKeys(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	input := []byte(parts[0] + "." + parts[1])
	mac := hmac.New(sha256.New, fuzzSecret)
	mac.Write(input)
	return hmac.Equal(sig, mac.Sum(nil)) || ed25519.Verify(fuzzEdKey.Public().(ed25519.PublicKey), input, sig)
}

// FuzzVerify hands Verify arbitrary tokens: it must never panic, and must
// never accept one that our keys did not sign, one without a valid subject
// or one that has expired.
func FuzzVerify(f *testing.F) {
	k := fuzzKeys()
	now := time.Now()
	fresh := jwt.RegisteredClaims{Issuer: DefaultIssuer, Subject: "alice", IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}
	f.Add(must(k.Issue("alice", time.Hour)))
	f.Add(must(jwt.NewWithClaims(jwt.SigningMethodEdDSA, fresh).SignedString(fuzzEdKey)))
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := k.Verify(token)
		if err != nil {
			return
		}
		user, exp := claims.User, claims.Expires
		if !signedByFuzzKeys(token) {
			t.Fatalf("accepted a token our keys did not sign: %q", token)
		}
		if user.Validate() != nil || exp.IsZero() || !exp.After(time.Now().Add(-time.Minute)) {
			t.Fatalf("accepted user %q expiring %v", user, exp)
		}
	})
}

// A huge token is refused before any parsing: an unauthenticated client
// sends it, so its cost must not grow with its size.
func TestVerifyRefusesHugeTokensCheaply(t *testing.T) {
	k := fuzzKeys()
	valid := must(k.Issue("alice", time.Hour))
	huge := valid + strings.Repeat(".A", 4<<20)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := k.Verify(huge); err == nil {
			t.Fatal("accepted a 8 MiB token")
		}
	})
	if allocs > 3 {
		t.Errorf("refusing a huge token took %v allocations", allocs)
	}
}

// FuzzVerifyJWKS is FuzzVerify with the Ed25519 key published in a key
// set under a kid (and no PEM keys): arbitrary headers, kids and algs must
// never make Verify panic or accept a token that key or our secret did
// not sign.
func FuzzVerifyJWKS(f *testing.F) {
	srv := newJWKSServer(f)
	srv.serve(f, map[string]crypto.PublicKey{"k": fuzzEdKey.Public()})
	j, err := NewJWKS(JWKSConfig{URL: srv.URL, UnknownKID: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(j.Close)
	k := must(New(Config{Secret: fuzzSecret, JWKS: j}))
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.RegisteredClaims{Subject: "alice",
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))})
	tok.Header["kid"] = "k"
	f.Add(must(tok.SignedString(fuzzEdKey)))
	f.Add(must(k.Issue("alice", time.Hour)))
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := k.Verify(token)
		if err != nil {
			return
		}
		if !signedByFuzzKeys(token) {
			t.Fatalf("accepted a token our keys did not sign: %q", token)
		}
		if claims.User.Validate() != nil || claims.Expires.IsZero() {
			t.Fatalf("accepted %+v", claims)
		}
	})
}
