package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Room members see each other come online and go offline, and typing.
func TestPresenceAndTyping(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 20*time.Second)
	alice := s.connect(ctx, "alice")
	alice.join(ctx, "p", -1, "")
	bob := s.connect(ctx, "bob")
	bob.join(ctx, "p", -1, "")
	ev, err := alice.Expect(ctx, "presence")
	for err == nil && ev.User != "bob" {
		ev, err = alice.Expect(ctx, "presence")
	}
	if err != nil || ev.Status != "online" || ev.Room != "p" {
		t.Fatalf("alice's presence event for bob: %+v %v", ev, err)
	}
	bob.request(ctx, map[string]any{"op": "ping"}) // typing has no reply: order it after a round trip
	if err := bob.Send(map[string]any{"op": "typing", "room": "p"}); err != nil {
		t.Fatal(err)
	}
	if ev, err := alice.Expect(ctx, "typing"); err != nil || ev.User != "bob" || ev.Room != "p" {
		t.Fatalf("alice's typing event: %+v %v", ev, err)
	}
	bob.Close()
	ev, err = alice.Expect(ctx, "presence")
	if err != nil || ev.User != "bob" || ev.Status != "offline" {
		t.Fatalf("alice's presence event after bob left: %+v %v", ev, err)
	}
}

// Tokens of an external issuer, signed with an Ed25519 key whose public
// half the server was given, are accepted; the same claims signed by
// another key are not.
func TestExternalIssuerKey(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "issuer.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", func(m *Main) { m.JWTPublicKeys = keyFile })
	ctx := ctxFor(t, 10*time.Second)
	claims := jwt.RegisteredClaims{Subject: "ext-user", Issuer: "idp", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}
	good, _ := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(priv)
	bad, _ := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(otherPriv)

	if ev, err := s.dialRaw(ctx).Auth(ctx, good); err != nil || ev.User != "ext-user" {
		t.Fatalf("external token refused: %+v %v", ev, err)
	}
	if _, err := s.dialRaw(ctx).Auth(ctx, bad); err == nil {
		t.Fatal("token signed by an unknown key was accepted")
	}
}

// Above the presence limit a room gets no presence events and no snapshot:
// in a big room they would flood every member on every arrival.
func TestPresenceLimit(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.PresenceLimit = 2 })
	ctx := ctxFor(t, 20*time.Second)
	alice := s.connect(ctx, "alice")
	alice.join(ctx, "big", -1, "")
	bob := s.connect(ctx, "bob")
	if j := bob.join(ctx, "big", -1, ""); len(j.Online) != 2 {
		t.Fatalf("under the limit, joined.online = %v", j.Online)
	}
	carol := s.connect(ctx, "carol")
	if j := carol.join(ctx, "big", -1, ""); j.Online != nil {
		t.Fatalf("over the limit, joined.online = %v, want none", j.Online)
	}
	// Alice saw bob arrive, but not carol: the next event after bob's is
	// the message, not a presence.
	seq := carol.send(ctx, "big", "c1", "hi").Seq
	for {
		ev, err := alice.Expect(ctx, "presence", "msg")
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == "msg" {
			if ev.Seq != seq {
				t.Fatalf("unexpected message %+v", ev)
			}
			break
		}
		if ev.User == "carol" {
			t.Fatalf("presence sent above the limit: %+v", ev)
		}
	}
}

// Re-announcements refresh presence silently: a user who stays connected
// is announced online once, not every interval.
func TestPresenceAnnouncedOnce(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Presence = 50 * time.Millisecond })
	ctx := ctxFor(t, 20*time.Second)
	alice, bob := s.connect(ctx, "alice"), s.connect(ctx, "bob")
	alice.join(ctx, "p", -1, "")
	bob.join(ctx, "p", -1, "")
	time.Sleep(400 * time.Millisecond) // several intervals; what is asserted is a count, not a time
	seq := bob.send(ctx, "p", "b1", "still here").Seq
	online := 0
	for {
		ev, err := alice.Expect(ctx, "presence", "msg")
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == "msg" && ev.Seq == seq {
			break
		}
		if ev.Type == "presence" && ev.User == "bob" {
			online++
		}
	}
	if online != 1 {
		t.Fatalf("alice saw bob come online %d times, want 1", online)
	}
}
