// Package auth owns the JSON Web Tokens that authenticate Natter users: it
// mints HS256 tokens with the server's own secret, verifies those and tokens
// from external issuers (RS256, EdDSA from PEM keys; RS256, ES256, EdDSA
// from a JWKS URL, refreshed on rotation), loads or creates the secret on
// disk and parses issuers' PEM public keys.
//
// It is the only package that imports a JWT library for Natter's tokens
// (package oidc verifies an OpenID provider's ID tokens through its own
// client library). The WebSocket edge (on the first frame) and the HTTP
// API (bearer header) both see it only through natter.TokenVerifier.
package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultIssuer is the iss claim of tokens we mint when Config.Issuer is empty.
const DefaultIssuer = "natter"

// MinSecretLen is the shortest HS256 secret New accepts: RFC 7518 §3.2
// requires a key at least as long as the hash output (256 bits).
const MinSecretLen = 32

// minRSABits rejects external RSA keys too small to resist factoring today.
const minRSABits = 2048

// Config says which keys sign and verify tokens.
type Config struct {
	// Secret is the HS256 key for tokens we mint and verify ourselves. It may
	// be nil if only external keys are used, in which case Issue fails.
	Secret []byte
	// PublicKeys verify tokens minted by external issuers: *rsa.PublicKey
	// (RS256) or ed25519.PublicKey (EdDSA).
	PublicKeys []crypto.PublicKey
	// JWKS, if set, is an external issuer's key set (RS256, ES256, EdDSA
	// keys), used beside PublicKeys.
	JWKS *JWKS
	// Issuer is the iss claim of tokens we mint; DefaultIssuer if empty.
	Issuer string
	// ExternalIssuer, if set, must be the iss claim of every token that an
	// external key (PublicKeys or JWKS) verifies. HS256 tokens are ours
	// (or minted with our secret) and are not held to it.
	ExternalIssuer string
	// Audience, if set, goes into the aud claim of tokens we mint and must be
	// in the aud claim of every token we verify.
	Audience string
	// Leeway tolerates clock skew between issuer and verifier when checking
	// exp and nbf.
	Leeway time.Duration
	// MaxLifetime is the longest lifetime (exp-iat, or exp-now for a token
	// without iat) of a token we accept, ours or an external issuer's
	// (DefaultMaxLifetime if zero): a stolen token must not be access for
	// a century, and revocation entries need only be kept this long.
	MaxLifetime time.Duration
}

// DefaultMaxLifetime is Config.MaxLifetime's default.
const DefaultMaxLifetime = 30 * 24 * time.Hour

// FutureSkew is how far in the future an iat may be (or Leeway, if
// larger): issuers' clocks differ a little, but a token "issued" later than
// that was minted to outlive its revocation.
const FutureSkew = time.Minute

// Keys issues and verifies Natter tokens. It is safe for concurrent use.
type Keys struct {
	secret   []byte
	rsa      []jwt.VerificationKey
	ed25519  []jwt.VerificationKey
	jwks     *JWKS
	issuer   string
	extIss   string
	audience string
	parser   *jwt.Parser
	maxLife  time.Duration
	skew     time.Duration
}

// New checks cfg and returns the Keys it describes.
func New(cfg Config) (*Keys, error) {
	if len(cfg.Secret) == 0 && len(cfg.PublicKeys) == 0 && cfg.JWKS == nil {
		return nil, errors.New("auth: neither a secret nor public keys configured")
	}
	if len(cfg.Secret) > 0 && len(cfg.Secret) < MinSecretLen {
		return nil, fmt.Errorf("auth: secret is %d bytes; need at least %d", len(cfg.Secret), MinSecretLen)
	}
	if cfg.Leeway < 0 {
		return nil, errors.New("auth: negative leeway")
	}
	if cfg.MaxLifetime < 0 {
		return nil, errors.New("auth: negative maximum token lifetime")
	}
	if cfg.MaxLifetime == 0 {
		cfg.MaxLifetime = DefaultMaxLifetime
	}
	k := &Keys{
		issuer:   cfg.Issuer,
		extIss:   cfg.ExternalIssuer,
		jwks:     cfg.JWKS,
		audience: cfg.Audience,
		maxLife:  cfg.MaxLifetime,
		skew:     max(FutureSkew, cfg.Leeway),
	}
	if k.issuer == "" {
		k.issuer = DefaultIssuer
	}
	if len(cfg.Secret) > 0 {
		// Copied so a caller reusing its slice cannot change our key.
		k.secret = append([]byte(nil), cfg.Secret...)
	}
	for i, pub := range cfg.PublicKeys {
		switch pub := pub.(type) {
		case *rsa.PublicKey:
			if pub == nil || pub.N == nil {
				return nil, fmt.Errorf("auth: public key %d: nil RSA key", i)
			}
			if pub.N.BitLen() < minRSABits {
				return nil, fmt.Errorf("auth: public key %d: RSA key is %d bits; need at least %d", i, pub.N.BitLen(), minRSABits)
			}
			k.rsa = append(k.rsa, pub)
		case ed25519.PublicKey:
			if len(pub) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("auth: public key %d: Ed25519 key is %d bytes; want %d", i, len(pub), ed25519.PublicKeySize)
			}
			k.ed25519 = append(k.ed25519, pub)
		default:
			return nil, fmt.Errorf("auth: public key %d: unsupported type %T (want *rsa.PublicKey or ed25519.PublicKey)", i, pub)
		}
	}

	// Only algorithms we hold a key for are acceptable at all, so a token
	// naming any other alg (including "none") fails before key lookup.
	var methods []string
	if k.secret != nil {
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if k.rsa != nil || k.jwks != nil {
		methods = append(methods, jwt.SigningMethodRS256.Alg())
	}
	if k.ed25519 != nil || k.jwks != nil {
		methods = append(methods, jwt.SigningMethodEdDSA.Alg())
	}
	if k.jwks != nil {
		methods = append(methods, jwt.SigningMethodES256.Alg())
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		// A token without exp would be valid forever; we never mint one.
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.Leeway),
	}
	if k.audience != "" {
		opts = append(opts, jwt.WithAudience(k.audience))
	}
	k.parser = jwt.NewParser(opts...)
	return k, nil
}
