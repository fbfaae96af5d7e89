package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/natter-chat/natter"
)

// maxTokenLen bounds the work an unauthenticated client can make us do: a
// token arrives before we know who sent it, and ours are a few hundred bytes.
const maxTokenLen = 8 << 10

// maxSessionLen bounds the sid claim we accept: it becomes a KV key when
// the session is revoked, and ours are 26 characters.
const maxSessionLen = 64

var _ natter.TokenVerifier = (*Keys)(nil)

// tokenClaims are the claims of a Natter token: the registered ones, the
// session id (sid) shared by a login and its refreshes, and when that
// session began (auth_time, as in OpenID Connect).
type tokenClaims struct {
	jwt.RegisteredClaims
	Session  string           `json:"sid,omitempty"`
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
}

// NewSession returns a fresh session id.
func NewSession() string { return rand.Text() }

// Issue mints an HS256 token that authenticates user for ttl, starting a
// new session.
func (k *Keys) Issue(user natter.UserID, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", natter.Errorf(natter.EINVALID, "token lifetime must be positive")
	}
	now := time.Now()
	return k.Mint(natter.Claims{User: user, AuthTime: now, Expires: now.Add(ttl)})
}

// Mint signs an HS256 token with c's user, session, auth_time and exp,
// issued now. An empty c.Session starts a new session (and a zero AuthTime
// means now): a refresh passes the old token's session on, so that logging
// out ends the chain.
func (k *Keys) Mint(c natter.Claims) (string, error) {
	if k.secret == nil {
		return "", errors.New("auth: cannot issue tokens without a secret")
	}
	if err := c.User.Validate(); err != nil {
		return "", err
	}
	now := time.Now()
	if !c.Expires.After(now) {
		return "", natter.Errorf(natter.EINVALID, "token lifetime must be positive")
	}
	if c.Session == "" {
		c.Session = NewSession()
	}
	if c.AuthTime.IsZero() {
		c.AuthTime = now
	}
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    k.issuer,
			Subject:   string(c.User),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(c.Expires),
		},
		Session:  c.Session,
		AuthTime: jwt.NewNumericDate(c.AuthTime),
	}
	if k.audience != "" {
		claims.Audience = jwt.ClaimStrings{k.audience}
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(k.secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return s, nil
}

// Verify returns the claims of token (every accepted token has an exp).
// Besides signature and expiry it refuses an iat in the future (beyond
// FutureSkew) and a lifetime beyond the configured maximum. Every failure
// is an EUNAUTHORIZED error whose message is safe to send to the client: it
// never contains the token or which key was tried.
func (k *Keys) Verify(token string) (natter.Claims, error) {
	if token == "" {
		return natter.Claims{}, natter.Errorf(natter.EUNAUTHORIZED, "missing token")
	}
	if len(token) > maxTokenLen {
		return natter.Claims{}, natter.Errorf(natter.EUNAUTHORIZED, "invalid token")
	}
	var tc tokenClaims
	t, err := k.parser.ParseWithClaims(token, &tc, k.key)
	if err != nil {
		return natter.Claims{}, natter.Errorf(natter.EUNAUTHORIZED, "%s", reason(err))
	}
	if k.extIss != "" && t.Method.Alg() != jwt.SigningMethodHS256.Alg() && tc.Issuer != k.extIss {
		return natter.Claims{}, natter.Errorf(natter.EUNAUTHORIZED, "invalid token issuer")
	}
	c := natter.Claims{User: natter.UserID(tc.Subject), Session: tc.Session}
	if c.User.Validate() != nil {
		return natter.Claims{}, natter.Errorf(natter.EUNAUTHORIZED, "invalid token subject")
	}
	if len(c.Session) > maxSessionLen {
		return natter.Claims{}, natter.Errorf(natter.EUNAUTHORIZED, "invalid token session")
	}
	if tc.ExpiresAt != nil {
		c.Expires = tc.ExpiresAt.Time
	}
	if tc.AuthTime != nil {
		c.AuthTime = tc.AuthTime.Time
	}
	now := time.Now()
	from := now
	if tc.IssuedAt != nil {
		c.IssuedAt = tc.IssuedAt.Time
		if c.IssuedAt.After(now.Add(k.skew)) {
			return natter.Claims{}, natter.Errorf(natter.EUNAUTHORIZED, "token issued in the future")
		}
		from = c.IssuedAt
	}
	if c.Expires.Sub(from) > k.maxLife {
		return natter.Claims{}, natter.Errorf(natter.EUNAUTHORIZED, "token lifetime too long")
	}
	return c, nil
}

// key is the jwt.Keyfunc. It chooses keys by the alg header and hands each
// algorithm only keys of its own type: the HMAC secret never verifies an
// RS256/EdDSA token and a public key never serves as an HMAC secret, which
// is what defeats alg-confusion attacks. WithValidMethods has already
// rejected algs we hold no key for; the checks here are the second line.
func (k *Keys) key(t *jwt.Token) (any, error) {
	switch t.Method.Alg() {
	case jwt.SigningMethodHS256.Alg():
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); ok && k.secret != nil {
			return k.secret, nil
		}
	case jwt.SigningMethodRS256.Alg():
		if _, ok := t.Method.(*jwt.SigningMethodRSA); ok {
			return k.external(t, k.rsa)
		}
	case jwt.SigningMethodEdDSA.Alg():
		if _, ok := t.Method.(*jwt.SigningMethodEd25519); ok {
			return k.external(t, k.ed25519)
		}
	case jwt.SigningMethodES256.Alg():
		if _, ok := t.Method.(*jwt.SigningMethodECDSA); ok {
			return k.external(t, nil)
		}
	}
	return nil, errors.New("no key for algorithm")
}

// external returns the keys for an external issuer's token: the JWKS's
// (the one its kid names, if it has one) and the configured public keys
// of its type. A kid the set lacks, even after a refresh, leaves the
// public keys, which carry no kid of their own.
func (k *Keys) external(t *jwt.Token, static []jwt.VerificationKey) (any, error) {
	keys := static
	if k.jwks != nil {
		if fetched, err := k.jwks.key(t); err == nil {
			keys = append(fetched, static...)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("no key for token")
	}
	return jwt.VerificationKeySet{Keys: keys}, nil
}

// reason maps a parse error to a short message for the client. Expiry gets
// its own message because clients react to it by fetching a new token;
// everything else is deliberately vague.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet"
	default:
		return "invalid token"
	}
}
