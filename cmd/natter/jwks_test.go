package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// An identity provider's key set on loopback, served from what set holds.
func jwksEndpoint(t *testing.T) (*httptest.Server, func(kid string, key *rsa.PrivateKey)) {
	t.Helper()
	var body atomic.Value
	body.Store([]byte(`{"keys":[]}`))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body.Load().([]byte))
	}))
	t.Cleanup(srv.Close)
	publish := func(kid string, key *rsa.PrivateKey) {
		jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: jwkset.AlgRS256}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
		if err != nil {
			t.Fatal(err)
		}
		body.Store(b)
	}
	return srv, publish
}

// A server with --jwt-jwks-url and --jwt-issuer accepts the provider's
// tokens on the WebSocket and the HTTP API, follows a key rotation, and
// refuses a token of another issuer signed by the same key.
func TestJWKSLogin(t *testing.T) {
	srv, publish := jwksEndpoint(t)
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	publish("k1", k1)
	const iss = "https://idp.test"
	s := startServer(t, "", func(m *Main) { m.JWKSURL, m.JWTIssuer = srv.URL, iss })
	ctx := ctxFor(t, 20*time.Second)
	mint := func(kid string, key *rsa.PrivateKey, issuer string) string {
		now := time.Now()
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": issuer, "sub": "ida", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		})
		tok.Header["kid"] = kid
		out, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	accepted := func(token string) bool {
		c := s.dialRaw(ctx)
		ev, err := c.Auth(ctx, token)
		return err == nil && ev.User == "ida"
	}
	if !accepted(mint("k1", k1, iss)) {
		t.Fatal("provider's token refused")
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", s.m.URL+"/api/rooms", nil)
	req.Header.Set("Authorization", "Bearer "+mint("k1", k1, iss))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("history API: %d", resp.StatusCode)
	}
	if accepted(mint("k1", k1, "https://other.test")) {
		t.Fatal("token of another issuer accepted")
	}
	publish("k2", k2)
	if !accepted(mint("k2", k2, iss)) {
		t.Fatal("token of the rotated key refused")
	}
	// Our own tokens are still ours to check.
	if !accepted(s.token("ida")) {
		t.Fatal("server's own token refused")
	}
}
