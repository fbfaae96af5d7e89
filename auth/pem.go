package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ParsePublicKeyPEM parses an external issuer's public key for
// Config.PublicKeys: a PKIX "PUBLIC KEY" block holding an RSA or Ed25519 key,
// or a PKCS #1 "RSA PUBLIC KEY" block. Only the first PEM block is read.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("auth: no PEM block found")
	}
	switch block.Type {
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse public key: %w", err)
		}
		switch pub := pub.(type) {
		case *rsa.PublicKey, ed25519.PublicKey:
			return pub, nil
		default:
			return nil, fmt.Errorf("auth: unsupported public key type %T (want RSA or Ed25519)", pub)
		}
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse RSA public key: %w", err)
		}
		return pub, nil
	default:
		return nil, fmt.Errorf("auth: unsupported PEM block %q (want PUBLIC KEY or RSA PUBLIC KEY)", block.Type)
	}
}
