package auth

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/natter-chat/natter"
)

func sign(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", m.Alg(), err)
	}
	return s
}

// claims returns valid claims for sub, edited by the given functions.
func claims(sub any, edits ...func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"sub": sub,
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	for _, e := range edits {
		e(c)
	}
	return c
}

func set(k string, v any) func(jwt.MapClaims) { return func(c jwt.MapClaims) { c[k] = v } }
func del(k string) func(jwt.MapClaims)        { return func(c jwt.MapClaims) { delete(c, k) } }

// unsigned builds an alg "none" token by hand, so the test does not depend on
// the library's own (opt-in) support for producing one.
func unsigned(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	payload, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SigningString()
	if err != nil {
		t.Fatal(err)
	}
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	return header + "." + strings.Split(payload, ".")[1] + "."
}

func TestVerify(t *testing.T) {
	secret := randomSecret(t)
	otherSecret := randomSecret(t)
	edPub, edPriv := genEd25519(t)
	_, otherEdPriv := genEd25519(t)
	rsaPriv, rsaPub := rsaKey(), &rsaKey().PublicKey
	rsaPubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(rsaPub))})
	rsaPKCS1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(rsaPub)})

	secretOnly := mustNew(t, Config{Secret: secret})
	all := mustNew(t, Config{Secret: secret, PublicKeys: []crypto.PublicKey{rsaPub, edPub}})
	rsaOnly := mustNew(t, Config{PublicKeys: []crypto.PublicKey{rsaPub}})
	edOnly := mustNew(t, Config{PublicKeys: []crypto.PublicKey{edPub}})
	lenient := mustNew(t, Config{Secret: secret, Leeway: time.Minute})
	withAud := mustNew(t, Config{Secret: secret, Audience: "natter-web"})
	shortLived := mustNew(t, Config{Secret: secret, MaxLifetime: time.Hour})

	issued, err := all.Issue("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A valid token with another user's payload spliced in.
	parts := strings.Split(issued, ".")
	forged := parts[0] + "." + strings.Split(sign(t, jwt.SigningMethodHS256, otherSecret, claims("mallory")), ".")[1] + "." + parts[2]
	past := time.Now().Add(-time.Hour).Unix()
	future := time.Now().Add(time.Hour).Unix()

	tests := []struct {
		name     string
		keys     *Keys
		token    string
		wantUser natter.UserID
		wantMsg  string // Error.Message when the token is rejected
	}{
		// Accepted.
		{"issued token", all, issued, "alice", ""},
		{"HS256 with secret", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob")), "bob", ""},
		{"RS256 with RSA key", rsaOnly, sign(t, jwt.SigningMethodRS256, rsaPriv, claims("carol")), "carol", ""},
		{"RS256 with all keys", all, sign(t, jwt.SigningMethodRS256, rsaPriv, claims("carol")), "carol", ""},
		{"EdDSA with ed25519 key", edOnly, sign(t, jwt.SigningMethodEdDSA, edPriv, claims("dave")), "dave", ""},
		{"EdDSA with all keys", all, sign(t, jwt.SigningMethodEdDSA, edPriv, claims("dave")), "dave", ""},
		{"iat within skew", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("iat", time.Now().Add(FutureSkew/2).Unix()))), "bob", ""},
		{"no iat, exp within max", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob", del("iat"), set("exp", time.Now().Add(DefaultMaxLifetime-time.Hour).Unix()))), "bob", ""},
		{"lifetime at max", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("exp", time.Now().Add(DefaultMaxLifetime).Unix()))), "bob", ""},
		{"sid and auth_time", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("sid", "s1"), set("auth_time", past))), "bob", ""},
		{"expired within leeway", lenient, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("exp", time.Now().Add(-10*time.Second).Unix()))), "bob", ""},
		{"audience matches", withAud, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("aud", "natter-web"))), "bob", ""},
		{"audience in list", withAud, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("aud", []string{"x", "natter-web"}))), "bob", ""},
		{"64-char sub", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims(strings.Repeat("a", 64))), natter.UserID(strings.Repeat("a", 64)), ""},

		// Time claims.
		{"future iat", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("iat", future))), "", "token issued in the future"},
		{"future iat, external issuer", edOnly, sign(t, jwt.SigningMethodEdDSA, edPriv, claims("dave", set("iat", future))), "", "token issued in the future"},
		{"100-year exp", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("exp", time.Now().AddDate(100, 0, 0).Unix()))), "", "token lifetime too long"},
		{"100-year exp, external issuer", rsaOnly, sign(t, jwt.SigningMethodRS256, rsaPriv, claims("carol", set("exp", time.Now().AddDate(100, 0, 0).Unix()))), "", "token lifetime too long"},
		{"no iat, exp beyond max", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob", del("iat"), set("exp", time.Now().Add(DefaultMaxLifetime+time.Hour).Unix()))), "", "token lifetime too long"},
		{"lifetime beyond a lower max", shortLived, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("exp", time.Now().Add(2*time.Hour).Unix()))), "", "token lifetime too long"},
		{"sid too long", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("sid", strings.Repeat("s", maxSessionLen+1)))), "", "invalid token session"},
		{"sid not a string", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("sid", 7))), "", "invalid token"},
		{"expired", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("exp", past))), "", "token expired"},
		{"expired beyond leeway", lenient, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("exp", past))), "", "token expired"},
		{"not valid yet", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("nbf", future))), "", "token not valid yet"},
		{"no exp", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob", del("exp"))), "", "invalid token"},
		{"expired and bad signature", secretOnly, sign(t, jwt.SigningMethodHS256, otherSecret, claims("bob", set("exp", past))), "", "invalid token"},

		// Signatures and algorithms.
		{"alg none", secretOnly, unsigned(t, claims("bob")), "", "invalid token"},
		{"alg none, all keys", all, unsigned(t, claims("bob")), "", "invalid token"},
		{"HS256 with other secret", secretOnly, sign(t, jwt.SigningMethodHS256, otherSecret, claims("bob")), "", "invalid token"},
		{"HS384 with our secret", secretOnly, sign(t, jwt.SigningMethodHS384, secret, claims("bob")), "", "invalid token"},
		{"HS256 without a secret", rsaOnly, sign(t, jwt.SigningMethodHS256, secret, claims("bob")), "", "invalid token"},
		{"RS256 with only a secret", secretOnly, sign(t, jwt.SigningMethodRS256, rsaPriv, claims("bob")), "", "invalid token"},
		{"RS256 with other RSA key", rsaOnly, sign(t, jwt.SigningMethodRS256, otherRSAKey(), claims("bob")), "", "invalid token"},
		{"RS512 with RSA key", rsaOnly, sign(t, jwt.SigningMethodRS512, rsaPriv, claims("bob")), "", "invalid token"},
		{"EdDSA with only a secret", secretOnly, sign(t, jwt.SigningMethodEdDSA, edPriv, claims("bob")), "", "invalid token"},
		{"EdDSA with other ed25519 key", edOnly, sign(t, jwt.SigningMethodEdDSA, otherEdPriv, claims("bob")), "", "invalid token"},
		{"EdDSA to RSA-only keys", rsaOnly, sign(t, jwt.SigningMethodEdDSA, edPriv, claims("bob")), "", "invalid token"},
		{"forged payload", all, forged, "", "invalid token"},

		// Alg confusion: HMAC keyed with the public key a verifier might hand out.
		{"HS256 keyed with RSA PEM, RSA-only", rsaOnly, sign(t, jwt.SigningMethodHS256, rsaPubPEM, claims("bob")), "", "invalid token"},
		{"HS256 keyed with RSA PEM, all keys", all, sign(t, jwt.SigningMethodHS256, rsaPubPEM, claims("bob")), "", "invalid token"},
		{"HS256 keyed with PKCS1 PEM", rsaOnly, sign(t, jwt.SigningMethodHS256, rsaPKCS1PEM, claims("bob")), "", "invalid token"},
		{"HS256 keyed with ed25519 key", edOnly, sign(t, jwt.SigningMethodHS256, []byte(edPub), claims("bob")), "", "invalid token"},

		// Subject.
		{"sub with dot", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("a.b")), "", "invalid token subject"},
		{"sub wildcard", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("*")), "", "invalid token subject"},
		{"sub empty", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("")), "", "invalid token subject"},
		{"sub too long", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims(strings.Repeat("a", 65))), "", "invalid token subject"},
		{"sub missing", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims("", del("sub"))), "", "invalid token subject"},
		{"sub not a string", secretOnly, sign(t, jwt.SigningMethodHS256, secret, claims(42)), "", "invalid token"},
		{"RS256 bad sub", rsaOnly, sign(t, jwt.SigningMethodRS256, rsaPriv, claims("x>y")), "", "invalid token subject"},

		// Audience.
		{"audience missing", withAud, sign(t, jwt.SigningMethodHS256, secret, claims("bob")), "", "invalid token"},
		{"audience wrong", withAud, sign(t, jwt.SigningMethodHS256, secret, claims("bob", set("aud", "other"))), "", "invalid token"},

		// Not a JWT.
		{"empty", secretOnly, "", "", "missing token"},
		{"garbage", secretOnly, "garbage", "", "invalid token"},
		{"three garbage parts", secretOnly, "a.b.c", "", "invalid token"},
		{"bearer prefix", secretOnly, "Bearer " + issued, "", "invalid token"},
		{"huge", secretOnly, strings.Repeat("a", maxTokenLen+1), "", "invalid token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.keys.Verify(tt.token)
			user := c.User
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if user != tt.wantUser {
					t.Fatalf("Verify = %q; want %q", user, tt.wantUser)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify = %q, nil; want error %q", user, tt.wantMsg)
			}
			if user != "" {
				t.Errorf("Verify returned user %q along with an error", user)
			}
			var e *natter.Error
			if !errors.As(err, &e) || e.Code != natter.EUNAUTHORIZED {
				t.Fatalf("Verify error %v (%T); want code %q", err, err, natter.EUNAUTHORIZED)
			}
			if e.Message != tt.wantMsg {
				t.Errorf("message %q; want %q", e.Message, tt.wantMsg)
			}
		})
	}
}

func TestIssue(t *testing.T) {
	secret := randomSecret(t)
	edPub, _ := genEd25519(t)

	tests := []struct {
		name     string
		cfg      Config
		user     natter.UserID
		ttl      time.Duration
		wantCode string // natter.ErrorCode of the error; "" for success
		wantIss  string
	}{
		{"default issuer", Config{Secret: secret}, "alice", time.Hour, "", "natter"},
		{"custom issuer", Config{Secret: secret, Issuer: "natter-eu"}, "alice", time.Hour, "", "natter-eu"},
		{"with audience", Config{Secret: secret, Audience: "natter-web"}, "alice", time.Minute, "", "natter"},
		{"no secret", Config{PublicKeys: []crypto.PublicKey{edPub}}, "alice", time.Hour, natter.EINTERNAL, ""},
		{"bad user", Config{Secret: secret}, "a.b", time.Hour, natter.EINVALID, ""},
		{"empty user", Config{Secret: secret}, "", time.Hour, natter.EINVALID, ""},
		{"zero ttl", Config{Secret: secret}, "alice", 0, natter.EINVALID, ""},
		{"negative ttl", Config{Secret: secret}, "alice", -time.Hour, natter.EINVALID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := mustNew(t, tt.cfg)
			before := time.Now().Truncate(time.Second)
			tok, err := k.Issue(tt.user, tt.ttl)
			if tt.wantCode != "" {
				if code := natter.ErrorCode(err); code != tt.wantCode {
					t.Fatalf("Issue error %v (code %q); want code %q", err, code, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			vc, err := k.Verify(tok)
			if err != nil || vc.User != tt.user || vc.Session == "" || vc.AuthTime.IsZero() {
				t.Fatalf("Verify(Issue(%q)) = %+v, %v", tt.user, vc, err)
			}

			var c jwt.RegisteredClaims
			parsed, _, err := jwt.NewParser().ParseUnverified(tok, &c)
			if err != nil {
				t.Fatal(err)
			}
			if alg := parsed.Header["alg"]; alg != "HS256" {
				t.Errorf("alg %v; want HS256", alg)
			}
			if c.Issuer != tt.wantIss {
				t.Errorf("iss %q; want %q", c.Issuer, tt.wantIss)
			}
			if c.IssuedAt == nil || c.IssuedAt.Before(before) || c.IssuedAt.After(time.Now()) {
				t.Errorf("iat %v; want about now", c.IssuedAt)
			}
			if c.ExpiresAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) != tt.ttl {
				t.Errorf("exp %v, iat %v; want exp = iat + %v", c.ExpiresAt, c.IssuedAt, tt.ttl)
			}
			if tt.cfg.Audience != "" && (len(c.Audience) != 1 || c.Audience[0] != tt.cfg.Audience) {
				t.Errorf("aud %v; want [%s]", c.Audience, tt.cfg.Audience)
			}
		})
	}
}

// TestVerifyConcurrent runs Verify from many goroutines so that -race would
// catch shared parser state.
func TestVerifyConcurrent(t *testing.T) {
	edPub, edPriv := genEd25519(t)
	k := mustNew(t, Config{Secret: randomSecret(t), PublicKeys: []crypto.PublicKey{edPub}})
	hs, err := k.Issue("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ed := sign(t, jwt.SigningMethodEdDSA, edPriv, claims("bob"))
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			tok, want := hs, natter.UserID("alice")
			if i%2 == 1 {
				tok, want = ed, "bob"
			}
			for range 50 {
				if c, err := k.Verify(tok); err != nil || c.User != want {
					t.Errorf("Verify = %q, %v; want %q", c.User, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestMintKeepsSession checks that a refresh (Mint with the old claims'
// session and auth_time) stays in the login's chain, and that Issue starts
// a new one each time.
func TestMintKeepsSession(t *testing.T) {
	k := mustNew(t, Config{Secret: randomSecret(t)})
	first, err := k.Issue("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := k.Verify(first)
	if err != nil {
		t.Fatal(err)
	}
	started := c1.AuthTime.Add(-time.Hour).Truncate(time.Second)
	renewed, err := k.Mint(natter.Claims{User: "alice", Session: c1.Session, AuthTime: started, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := k.Verify(renewed)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Session != c1.Session || !c2.AuthTime.Equal(started) {
		t.Errorf("renewed token: session %q auth_time %v; want %q %v", c2.Session, c2.AuthTime, c1.Session, started)
	}
	other, _ := k.Issue("alice", time.Hour)
	if c3, _ := k.Verify(other); c3.Session == c1.Session || c3.Session == "" {
		t.Errorf("a second login got session %q (first %q)", c3.Session, c1.Session)
	}
	if _, err := k.Mint(natter.Claims{User: "alice", Expires: time.Now().Add(-time.Second)}); natter.ErrorCode(err) != natter.EINVALID {
		t.Errorf("Mint with exp in the past: %v; want invalid", err)
	}
}
