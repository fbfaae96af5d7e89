package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of every delivery (docs/SECURITY.md "Webhook signing").
const (
	HeaderID        = "Natter-Webhook-Id"        // the payload's id: receivers dedupe by it
	HeaderTimestamp = "Natter-Webhook-Timestamp" // Unix seconds at which this attempt was signed
	HeaderSignature = "Natter-Webhook-Signature" // "v1=" + hex HMAC-SHA256
)

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock before Verify refuses it as a replay.
const DefaultTolerance = 5 * time.Minute

// Sign returns the signature header value of body signed at ts: "v1=" and
// the hex HMAC-SHA256, keyed with secret, of "<ts>.<body>" (ts in Unix
// seconds). The timestamp is inside the signed bytes, so an attacker who
// captured a delivery cannot replay it later under a fresh timestamp.
func Sign(secret []byte, ts time.Time, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Errors of Verify.
var (
	ErrNoSignature = errors.New("webhook: missing or malformed signature or timestamp header")
	ErrStale       = errors.New("webhook: timestamp outside the tolerance (replayed or clock skew)")
	ErrSignature   = errors.New("webhook: signature does not match")
)

// Verify checks a delivery as a receiver should: timestamp is the
// Natter-Webhook-Timestamp header, signature the Natter-Webhook-Signature
// header, body the raw request body (before any JSON parsing). The
// signature header may list several comma-separated "v1=" values (a
// secret being rotated); one match is enough.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || timestamp == "" || timestamp[0] == '+' || timestamp[0] == '-' {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := mac(secret, timestamp, body)
	found := false
	for _, part := range strings.Split(signature, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue
		}
		found = true
		got, err := hex.DecodeString(v)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	if !found {
		return ErrNoSignature
	}
	return ErrSignature
}
