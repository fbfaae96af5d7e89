package webhook

import (
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	secret, body := []byte("0123456789abcdef"), []byte(`{"id":"e-1"}`)
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := Sign(secret, now, body)
	for _, c := range []struct {
		name    string
		secret  []byte
		ts, sig string
		body    []byte
		now     time.Time
		want    error
	}{
		{"valid", secret, ts, sig, body, now, nil},
		{"rotating: second value matches", secret, ts, "v1=00ff," + sig, body, now, nil},
		{"within tolerance", secret, ts, sig, body, now.Add(DefaultTolerance), nil},
		{"replayed later", secret, ts, sig, body, now.Add(DefaultTolerance + time.Second), ErrStale},
		{"from the future", secret, ts, sig, body, now.Add(-DefaultTolerance - time.Second), ErrStale},
		{"other body", secret, ts, sig, []byte(`{"id":"e-2"}`), now, ErrSignature},
		{"other secret", []byte("fedcba9876543210"), ts, sig, body, now, ErrSignature},
		{"timestamp moved with the old signature", secret, strconv.FormatInt(now.Unix()+1, 10), sig, body, now, ErrSignature},
		{"no signature", secret, ts, "", body, now, ErrNoSignature},
		{"unknown scheme", secret, ts, "v0=" + sig[3:], body, now, ErrNoSignature},
		{"no timestamp", secret, "", sig, body, now, ErrNoSignature},
		{"signed timestamp", secret, "+" + ts, sig, body, now, ErrNoSignature},
		{"bad hex", secret, ts, "v1=zz", body, now, ErrSignature},
	} {
		if err := Verify(c.secret, c.ts, c.sig, c.body, c.now, DefaultTolerance); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// FuzzVerify: whatever the headers and body, Verify answers with one of
// its errors and never accepts without the secret's signature.
func FuzzVerify(f *testing.F) {
	secret := []byte("0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	f.Add("1800000000", Sign(secret, now, []byte("{}")), []byte("{}"))
	f.Add("1800000000", "v1=,v1=00,x", []byte(""))
	f.Add("-1", "v1=", []byte("a"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		err := Verify(secret, ts, sig, body, now, DefaultTolerance)
		if err == nil {
			// Only the signature of these very bytes is accepted.
			if !strings.Contains(strings.ToLower(sig), hex.EncodeToString(mac(secret, ts, body))) {
				t.Fatalf("accepted ts %q sig %q", ts, sig)
			}
			return
		}
		if !errors.Is(err, ErrNoSignature) && !errors.Is(err, ErrStale) && !errors.Is(err, ErrSignature) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
