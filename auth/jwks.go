package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// JWKS defaults.
const (
	// DefaultJWKSRefresh is how often the key set is fetched again anyway:
	// an issuer that removes a key (revokes it) is followed within this.
	DefaultJWKSRefresh = time.Hour
	// DefaultJWKSUnknownKID is the shortest time between two fetches made
	// because a token named a kid we do not hold: a rotated key is picked
	// up at once, but tokens with made-up kids, which anyone can send,
	// cost the issuer at most one request per interval.
	DefaultJWKSUnknownKID = 5 * time.Minute
	// jwksTimeout bounds one fetch; a token waiting for a refresh waits
	// at most this long.
	jwksTimeout = 10 * time.Second
	// maxJWKSBytes bounds a key set read into memory; real ones are a few
	// KiB.
	maxJWKSBytes = 1 << 20
)

// JWKSConfig says where an external issuer publishes its keys.
type JWKSConfig struct {
	// URL of the JSON Web Key Set (RFC 7517), e.g. an OpenID provider's
	// jwks_uri. Use https outside loopback: whoever can change the
	// answer can mint tokens.
	URL string
	// Refresh is how often the set is fetched (DefaultJWKSRefresh if zero).
	Refresh time.Duration
	// UnknownKID is the shortest time between fetches caused by an unknown
	// kid (DefaultJWKSUnknownKID if zero).
	UnknownKID time.Duration
	// Client makes the requests (a client with a timeout if nil).
	Client *http.Client
	Log    *slog.Logger
}

// JWKS is an external issuer's key set, fetched from its URL, cached, and
// fetched again periodically and when a token names a key id the cache
// lacks (rate-limited). Pass it in Config.JWKS. Close stops its refresh.
type JWKS struct {
	kf     keyfunc.Keyfunc
	gate   gated
	cancel context.CancelFunc
	client *http.Client
}

// NewJWKS fetches the key set once and starts refreshing it. An issuer
// that cannot be reached at start is not fatal (it is logged, and the set
// is fetched again on the first token that needs it): a restart of Natter
// must not depend on the identity provider being up.
func NewJWKS(cfg JWKSConfig) (*JWKS, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("auth: JWKS URL %q: want an http or https URL", cfg.URL)
	}
	if cfg.Refresh < 0 || cfg.UnknownKID < 0 {
		return nil, errors.New("auth: negative JWKS refresh interval")
	}
	if cfg.Refresh == 0 {
		cfg.Refresh = DefaultJWKSRefresh
	}
	if cfg.UnknownKID == 0 {
		cfg.UnknownKID = DefaultJWKSUnknownKID
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := cfg.Client
	if client == nil {
		// A transport of its own, so that Close can drop its connections.
		client = &http.Client{Timeout: jwksTimeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	// A copy, so that the caller's client is not changed.
	limited := *client
	limited.Transport = limitBody{next: client.Transport}
	ctx, cancel := context.WithCancel(context.Background())
	cached, err := jwkset.NewStorageFromHTTP(cfg.URL, jwkset.HTTPClientStorageOptions{
		Client: &limited, Ctx: ctx, HTTPTimeout: jwksTimeout, RefreshInterval: cfg.Refresh,
		NoErrorReturnFirstHTTPReq: true,
		RefreshErrorHandler: func(_ context.Context, err error) {
			log.Warn("JWKS fetch failed", "url", cfg.URL, "err", err)
		},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("auth: JWKS: %w", err)
	}
	// The library's own unknown-kid limiter makes a token wait for the
	// next permitted fetch; ours refuses it at once instead, so its
	// limiter here lets every call through that ours has let through.
	refreshing, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{cfg.URL: cached},
		RateLimitWaitMax:  jwksTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1),
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("auth: JWKS: %w", err)
	}
	gate := gated{Storage: refreshing, cached: cached, limit: rate.NewLimiter(rate.Every(cfg.UnknownKID), 1)}
	kf, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: gate})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("auth: JWKS: %w", err)
	}
	return &JWKS{kf: kf, gate: gate, cancel: cancel, client: &limited}, nil
}

// Close stops the periodic refresh.
func (j *JWKS) Close() {
	j.cancel()
	j.client.CloseIdleConnections()
}

// key returns the keys that may verify t, whose alg WithValidMethods has
// limited to the asymmetric ones: the key its kid names, or without a kid
// every key of the set. Keys of the wrong type for the alg are dropped
// here, so that a set holding a symmetric ("oct") key can never turn it
// into an HMAC secret.
func (j *JWKS) key(t *jwt.Token) ([]jwt.VerificationKey, error) {
	var keys []jwt.VerificationKey
	if _, ok := t.Header["kid"]; ok {
		k, err := j.kf.Keyfunc(t)
		if err != nil {
			return nil, err
		}
		keys = []jwt.VerificationKey{k}
	} else {
		set, err := j.kf.VerificationKeySet(context.Background())
		if err == nil && len(set.Keys) == 0 {
			// Nothing cached (the issuer was down when we started): a
			// token without a kid may fetch, as an unknown kid may.
			_, _ = j.gate.KeyRead(context.Background(), noKID)
			set, err = j.kf.VerificationKeySet(context.Background())
		}
		if err != nil {
			return nil, err
		}
		keys = set.Keys
	}
	var out []jwt.VerificationKey
	for _, k := range keys {
		if fitsMethod(t.Method, k) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no key of the token's type")
	}
	return out, nil
}

// fitsMethod reports whether key is of the type (and, for RSA, size) that
// method verifies with.
func fitsMethod(method jwt.SigningMethod, key any) bool {
	switch method.(type) {
	case *jwt.SigningMethodRSA:
		k, ok := key.(*rsa.PublicKey)
		return ok && k.N.BitLen() >= minRSABits
	case *jwt.SigningMethodECDSA:
		_, ok := key.(*ecdsa.PublicKey)
		return ok
	case *jwt.SigningMethodEd25519:
		_, ok := key.(ed25519.PublicKey)
		return ok
	}
	return false
}

// noKID is a key id no set holds: reading it makes gated fetch the set
// (if its limit allows).
const noKID = "\x00natter: no kid"

// gated reads keys from the cache, and fetches the set again for a kid it
// lacks only when limit allows: burst 1, so the first unknown kid after a
// quiet interval fetches (a rotation is picked up at once), and every
// other is refused without waiting, so that made-up kids, which anyone
// can send, cost the issuer one request per interval and a client nothing.
type gated struct {
	jwkset.Storage // reads that fetch on an unknown kid
	cached         jwkset.Storage
	limit          *rate.Limiter
}

func (g gated) KeyRead(ctx context.Context, kid string) (jwkset.JWK, error) {
	jwk, err := g.cached.KeyRead(ctx, kid)
	if errors.Is(err, jwkset.ErrKeyNotFound) && g.limit.Allow() {
		return g.Storage.KeyRead(ctx, kid)
	}
	return jwk, err
}

// limitBody cuts every response body at maxJWKSBytes: a misconfigured URL
// (a large file) must not be read into memory whole.
type limitBody struct{ next http.RoundTripper }

func (l limitBody) RoundTrip(r *http.Request) (*http.Response, error) {
	next := l.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(r)
	if err == nil {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, maxJWKSBytes), resp.Body}
	}
	return resp, err
}

func (l limitBody) CloseIdleConnections() {
	if c, ok := l.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
