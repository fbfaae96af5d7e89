package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestParsePublicKeyPEM(t *testing.T) {
	rsaPub := &rsaKey().PublicKey
	edPub, _ := genEd25519(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	encode := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	pkix := func(k any) []byte { return must(x509.MarshalPKIXPublicKey(k)) }

	tests := []struct {
		name    string
		pem     []byte
		want    crypto.PublicKey
		wantErr string
	}{
		{"RSA PKIX", encode("PUBLIC KEY", pkix(rsaPub)), rsaPub, ""},
		{"RSA PKCS1", encode("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(rsaPub)), rsaPub, ""},
		{"Ed25519 PKIX", encode("PUBLIC KEY", pkix(edPub)), edPub, ""},
		{"surrounding text", []byte("issuer key:\n" + string(encode("PUBLIC KEY", pkix(edPub))) + "trailer\n"), edPub, ""},
		{"ECDSA PKIX", encode("PUBLIC KEY", pkix(&ecKey.PublicKey)), nil, "unsupported public key type"},
		{"private key block", encode("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(ecKey))), nil, "unsupported PEM block"},
		{"certificate block", encode("CERTIFICATE", []byte("x")), nil, "unsupported PEM block"},
		{"corrupt PKIX", encode("PUBLIC KEY", []byte("garbage")), nil, "parse public key"},
		{"PKCS1 bytes in PKIX block", encode("PUBLIC KEY", x509.MarshalPKCS1PublicKey(rsaPub)), nil, "parse public key"},
		{"corrupt PKCS1", encode("RSA PUBLIC KEY", []byte("garbage")), nil, "parse RSA public key"},
		{"garbage", []byte("not pem at all"), nil, "no PEM block"},
		{"empty", nil, nil, "no PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublicKeyPEM(tt.pem)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePublicKeyPEM = %T, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePublicKeyPEM: %v", err)
			}
			type equaler interface{ Equal(crypto.PublicKey) bool }
			if e, ok := got.(equaler); !ok || !e.Equal(tt.want) {
				t.Fatalf("ParsePublicKeyPEM = %T %v; want %T", got, got, tt.want)
			}
		})
	}
}

// TestParsedKeysVerify checks that what ParsePublicKeyPEM returns is what New
// accepts, end to end.
func TestParsedKeysVerify(t *testing.T) {
	rsaPriv := rsaKey()
	edPub, edPriv := genEd25519(t)
	var keys []crypto.PublicKey
	for _, der := range [][]byte{must(x509.MarshalPKIXPublicKey(&rsaPriv.PublicKey)), must(x509.MarshalPKIXPublicKey(edPub))} {
		k, err := ParsePublicKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	k := mustNew(t, Config{PublicKeys: keys})
	exp := time.Now().Add(time.Hour).Unix()
	for _, tc := range []struct {
		m   jwt.SigningMethod
		key crypto.Signer
	}{{jwt.SigningMethodRS256, rsaPriv}, {jwt.SigningMethodEdDSA, edPriv}} {
		tok := sign(t, tc.m, tc.key, jwt.MapClaims{"sub": "erin", "exp": exp})
		if c, err := k.Verify(tok); err != nil || c.User != "erin" {
			t.Errorf("%s: Verify = %q, %v", tc.m.Alg(), c.User, err)
		}
	}
}
