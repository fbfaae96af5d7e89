package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/natter-chat/natter"
)

// maxTokenLen bounds the work an unauthenticated client can make us do: a
// token arrives before we know who sent it, and ours are a few hundred bytes.
const maxTokenLen = 8 << 10

var _ natter.TokenVerifier = (*Keys)(nil)

// Issue mints an HS256 token that authenticates user for ttl.
func (k *Keys) Issue(user natter.UserID, ttl time.Duration) (string, error) {
	if k.secret == nil {
		return "", errors.New("auth: cannot issue tokens without a secret")
	}
	if err := user.Validate(); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", natter.Errorf(natter.EINVALID, "token lifetime must be positive")
	}
	now := time.Now()
	claims := jwt.RegisteredClaims{
		Issuer:    k.issuer,
		Subject:   string(user),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
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

// Verify returns the user that token authenticates and when the token
// expires (every accepted token has an exp). Every failure is an
// EUNAUTHORIZED error whose message is safe to send to the client: it never
// contains the token or which key was tried.
func (k *Keys) Verify(token string) (natter.UserID, time.Time, error) {
	if token == "" {
		return "", time.Time{}, natter.Errorf(natter.EUNAUTHORIZED, "missing token")
	}
	if len(token) > maxTokenLen {
		return "", time.Time{}, natter.Errorf(natter.EUNAUTHORIZED, "invalid token")
	}
	var claims jwt.RegisteredClaims
	if _, err := k.parser.ParseWithClaims(token, &claims, k.key); err != nil {
		return "", time.Time{}, natter.Errorf(natter.EUNAUTHORIZED, "%s", reason(err))
	}
	user := natter.UserID(claims.Subject)
	if user.Validate() != nil {
		return "", time.Time{}, natter.Errorf(natter.EUNAUTHORIZED, "invalid token subject")
	}
	var exp time.Time
	if claims.ExpiresAt != nil {
		exp = claims.ExpiresAt.Time
	}
	return user, exp, nil
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
		if _, ok := t.Method.(*jwt.SigningMethodRSA); ok && k.rsa != nil {
			return jwt.VerificationKeySet{Keys: k.rsa}, nil
		}
	case jwt.SigningMethodEdDSA.Alg():
		if _, ok := t.Method.(*jwt.SigningMethodEd25519); ok && k.ed25519 != nil {
			return jwt.VerificationKeySet{Keys: k.ed25519}, nil
		}
	}
	return nil, errors.New("no key for algorithm")
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
