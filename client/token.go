package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// TokenSource returns a token (a JWT, PROTOCOL.md section 3) for the next
// connection or renewal. It is called before every connect and before the
// current token expires, so it should return a fresh one each time (from
// your login endpoint, say); the client never reuses a token on its own.
type TokenSource func(ctx context.Context) (string, error)

// StaticToken is a TokenSource that always returns tok: fine for a
// long-lived bot token, useless once tok expires.
func StaticToken(tok string) TokenSource {
	return func(context.Context) (string, error) { return tok, nil }
}

// expiry reads a JWT's exp claim without verifying anything (the server
// does that): only to know when to renew. Zero if there is none.
func expiry(tok string) time.Time {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var c struct {
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(b, &c) != nil || c.Exp <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(c.Exp), 0)
}

// renewAt is when to renew a token that expires at exp, fetched at now:
// RenewBefore ahead, but never later than three quarters into its life.
func renewAt(now, exp time.Time, before time.Duration) time.Time {
	life := exp.Sub(now)
	if q := life / 4; q < before {
		before = q
	}
	return exp.Add(-before)
}
