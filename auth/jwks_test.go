package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// jwksServer is an issuer's key-set endpoint on loopback: the keys it
// serves can be swapped (a rotation) and its fetches are counted.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	body    []byte
	status  int
	fetches atomic.Int64
}

func newJWKSServer(t testing.TB) *jwksServer {
	t.Helper()
	s := &jwksServer{status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		body, status := s.body, s.status
		s.mu.Unlock()
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

// serve makes the server publish keys, each under its kid.
func (s *jwksServer) serve(t testing.TB, keys map[string]crypto.PublicKey) {
	t.Helper()
	var set jwkset.JWKSMarshal
	for kid, pub := range keys {
		jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid}, Marshal: jwkset.JWKMarshalOptions{Private: true}})
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, jwk.Marshal())
	}
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.body, s.status = body, http.StatusOK
	s.mu.Unlock()
}

func (s *jwksServer) fail() {
	s.mu.Lock()
	s.status = http.StatusInternalServerError
	s.mu.Unlock()
}

func signKID(t *testing.T, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newJWKSKeys(t *testing.T, srv *jwksServer, unknownKID time.Duration, cfg Config) *Keys {
	t.Helper()
	j, err := NewJWKS(JWKSConfig{URL: srv.URL, UnknownKID: unknownKID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(j.Close)
	cfg.JWKS = j
	return mustNew(t, cfg)
}

// A rotated key is picked up on the first token that names it; tokens
// naming kids the issuer never published cost at most one fetch per
// interval, refused at once while the interval runs; a key dropped from
// the set stops verifying.
func TestJWKSRotation(t *testing.T) {
	srv := newJWKSServer(t)
	a, b, c := rsaKey(), otherRSAKey(), genRSA(2048)
	srv.serve(t, map[string]crypto.PublicKey{"a": &a.PublicKey})
	const interval = 2 * time.Second
	k := newJWKSKeys(t, srv, interval, Config{})
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches at start, want 1", n)
	}
	verify := func(name string, token string, ok bool) {
		t.Helper()
		_, err := k.Verify(token)
		if ok && err != nil {
			t.Fatalf("%s: refused: %v", name, err)
		}
		if !ok && err == nil {
			t.Fatalf("%s: accepted", name)
		}
	}
	verify("kid a", signKID(t, jwt.SigningMethodRS256, a, "a", claims("alice")), true)
	verify("no kid, key a", signKID(t, jwt.SigningMethodRS256, a, "", claims("alice")), true)
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches after known kids, want 1 (cached)", n)
	}

	// Signed ahead: signing is slow under -race, and the interval runs.
	var junk []string
	for i := range 5 {
		junk = append(junk, signKID(t, jwt.SigningMethodRS256, c, "junk"+string(rune('a'+i)), claims("mallory")))
	}
	// Rotation: the issuer now signs with b and publishes only b.
	srv.serve(t, map[string]crypto.PublicKey{"b": &b.PublicKey})
	verify("kid b after rotation", signKID(t, jwt.SigningMethodRS256, b, "b", claims("alice")), true)
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after rotation, want 2", n)
	}
	verify("kid a after it was dropped", signKID(t, jwt.SigningMethodRS256, a, "a", claims("alice")), false)

	// Made-up kids within the interval: refused without a fetch, and
	// without waiting for the limiter.
	start := time.Now()
	for i := range 50 {
		verify("made-up kid", junk[i%len(junk)], false)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after 50 unknown kids, want still 2", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("50 unknown kids took %v: they waited for the rate limiter", d)
	}

	// After the interval, the next rotation is picked up too.
	srv.serve(t, map[string]crypto.PublicKey{"b": &b.PublicKey, "c": &c.PublicKey})
	cTok := signKID(t, jwt.SigningMethodRS256, c, "c", claims("alice"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := k.Verify(cTok); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("kid c never accepted after the refresh interval")
		}
		time.Sleep(interval / 4)
	}
}

// An issuer that is down at start does not stop the server; its keys are
// fetched on the first token that needs them.
func TestJWKSDownAtStart(t *testing.T) {
	srv := newJWKSServer(t)
	srv.fail()
	k := newJWKSKeys(t, srv, time.Millisecond, Config{})
	key := rsaKey()
	srv.serve(t, map[string]crypto.PublicKey{"a": &key.PublicKey})
	if _, err := k.Verify(signKID(t, jwt.SigningMethodRS256, key, "a", claims("alice"))); err != nil {
		t.Fatalf("refused once the issuer is up: %v", err)
	}

	// A token without a kid fetches too when nothing is cached.
	srv2 := newJWKSServer(t)
	srv2.fail()
	k2 := newJWKSKeys(t, srv2, time.Millisecond, Config{})
	srv2.serve(t, map[string]crypto.PublicKey{"a": &key.PublicKey})
	if _, err := k2.Verify(signKID(t, jwt.SigningMethodRS256, key, "", claims("alice"))); err != nil {
		t.Fatalf("token without a kid refused once the issuer is up: %v", err)
	}
}

// The key set's algorithms and the types of its keys: ES256 and EdDSA
// verify; a symmetric key in the set never becomes an HMAC secret; a key
// of the wrong type for the alg does not verify.
func TestJWKSKeyTypes(t *testing.T) {
	srv := newJWKSServer(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edPriv := genEd25519(t)
	oct := randomSecret(t)
	srv.serve(t, map[string]crypto.PublicKey{"ec": &ec.PublicKey, "ed": edPub, "oct": oct, "rsa": &rsaKey().PublicKey})
	secret := randomSecret(t)
	k := newJWKSKeys(t, srv, time.Hour, Config{Secret: secret})
	cases := []struct {
		name  string
		token string
		ok    bool
	}{
		{"ES256", signKID(t, jwt.SigningMethodES256, ec, "ec", claims("alice")), true},
		{"EdDSA", signKID(t, jwt.SigningMethodEdDSA, edPriv, "ed", claims("alice")), true},
		{"HS256 with the set's oct key", signKID(t, jwt.SigningMethodHS256, oct, "oct", claims("alice")), false},
		{"HS256 with our secret, oct kid", signKID(t, jwt.SigningMethodHS256, secret, "oct", claims("alice")), true},
		{"RS256 naming the EC key", signKID(t, jwt.SigningMethodRS256, rsaKey(), "ec", claims("alice")), false},
		{"ES256 naming the RSA key", signKID(t, jwt.SigningMethodES256, ec, "rsa", claims("alice")), false},
	}
	for _, tc := range cases {
		_, err := k.Verify(tc.token)
		if tc.ok != (err == nil) {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// --jwt-issuer holds every externally signed token to its iss; our own
// HS256 tokens keep theirs.
func TestExternalIssuer(t *testing.T) {
	srv := newJWKSServer(t)
	key := rsaKey()
	srv.serve(t, map[string]crypto.PublicKey{"a": &key.PublicKey})
	edPub, edPriv := genEd25519(t)
	k := newJWKSKeys(t, srv, time.Hour, Config{Secret: randomSecret(t), PublicKeys: []crypto.PublicKey{edPub},
		ExternalIssuer: "https://idp.example"})
	cases := []struct {
		name  string
		token string
		ok    bool
	}{
		{"JWKS, right iss", signKID(t, jwt.SigningMethodRS256, key, "a", claims("alice", set("iss", "https://idp.example"))), true},
		{"JWKS, wrong iss", signKID(t, jwt.SigningMethodRS256, key, "a", claims("alice", set("iss", "https://evil.example"))), false},
		{"JWKS, no iss", signKID(t, jwt.SigningMethodRS256, key, "a", claims("alice")), false},
		{"PEM key, wrong iss", signKID(t, jwt.SigningMethodEdDSA, edPriv, "", claims("alice", set("iss", "natter"))), false},
		{"PEM key, right iss", signKID(t, jwt.SigningMethodEdDSA, edPriv, "", claims("alice", set("iss", "https://idp.example"))), true},
		{"ours", must(k.Issue("alice", time.Hour)), true},
	}
	for _, tc := range cases {
		_, err := k.Verify(tc.token)
		if tc.ok != (err == nil) {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestNewJWKSRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "idp.example/keys", "file:///etc/passwd", "https://"} {
		if j, err := NewJWKS(JWKSConfig{URL: u}); err == nil {
			j.Close()
			t.Errorf("NewJWKS(%q) succeeded", u)
		}
	}
}
