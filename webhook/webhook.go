// Package webhook delivers every stored record of every room to an
// operator's HTTP endpoint (an outgoing webhook), signed with a shared
// secret, from a durable JetStream consumer: retried with exponential
// backoff until the endpoint answers 2xx, never lost by a restart, in
// stream order (so in each room's order). docs/INTEGRATIONS.md says what
// a receiver gets and how it verifies it.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
	"github.com/natter-chat/natter/metrics"
)

// Defaults of Config.
const (
	DefaultTimeout    = 5 * time.Second
	DefaultMaxBackoff = time.Minute
	DefaultMaxAge     = 72 * time.Hour
	DefaultDurable    = "webhook"
)

// Config is one outgoing webhook.
type Config struct {
	URL    string // http or https endpoint
	Secret []byte // HMAC key of the signatures
	// AllowPrivate permits loopback and private targets (tests, a
	// receiver on the same network); off, only public addresses are
	// dialled (SSRF protection, docs/SECURITY.md).
	AllowPrivate bool
	Timeout      time.Duration // of one attempt (default 5s, at most broker.OutboxAckWait/2)
	MaxBackoff   time.Duration // longest wait between attempts (default 1m)
	// MaxAge is how long a record is retried, counted from when it was
	// stored: a record still undelivered after it is dead-lettered (logged
	// with its id, counted in natter_webhook_dead_total, and skipped).
	MaxAge  time.Duration
	Durable string // consumer name (default "webhook")
	Log     *slog.Logger
	Metrics *metrics.Metrics
}

// Sender delivers the records of a Source to one endpoint.
type Sender struct {
	cfg    Config
	client *http.Client
}

// New checks cfg and returns its Sender.
func New(cfg Config) (*Sender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook: URL %q: want http:// or https:// with a host", cfg.URL)
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("webhook: the secret must be at least 16 bytes")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	cfg.Timeout = min(cfg.Timeout, broker.OutboxAckWait/2)
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Durable == "" {
		cfg.Durable = DefaultDurable
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	tr := &http.Transport{DialContext: dialer(cfg.AllowPrivate), MaxIdleConns: 4, IdleConnTimeout: time.Minute,
		TLSHandshakeTimeout: cfg.Timeout, ResponseHeaderTimeout: cfg.Timeout}
	client := &http.Client{Transport: tr, Timeout: cfg.Timeout,
		// A redirect could lead anywhere, and a 3xx is not a 2xx.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Sender{cfg: cfg, client: client}, nil
}

// Payload is the JSON body of a delivery.
type Payload struct {
	// ID is unique per record and stream: "<epoch>-<seq>". A record may
	// be delivered more than once (at least once); receivers dedupe by it.
	ID string `json:"id"`
	// Type is the record's kind: "message", "edit", "delete", "react",
	// "topic" (natter record.go).
	Type   string         `json:"type"`
	Record natter.Message `json:"record"`
}

// Start creates the sender's durable consumer on b (from then on, every
// stored record is delivered) and delivers in the background until ctx
// ends; the returned channel is closed then.
func (s *Sender) Start(ctx context.Context, b *broker.Broker) (<-chan struct{}, error) {
	ob, err := b.Outbox(ctx, s.cfg.Durable)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ob.Run(ctx, s.cfg.MaxBackoff, s.deliver)
	}()
	return done, nil
}

// deliver makes one attempt; nil means done with the record (delivered,
// or dead-lettered).
func (s *Sender) deliver(ctx context.Context, d broker.OutboxDelivery) error {
	m := s.cfg.Metrics
	m.WebhookLag.Set(float64(d.Pending))
	p := payload(d.Msg)
	if age := time.Since(d.Msg.Time); age > s.cfg.MaxAge {
		s.cfg.Log.Error("webhook: record undelivered for longer than --webhook-max-age; dead-lettered (skipped)",
			"id", p.ID, "room", d.Msg.Room, "seq", d.Msg.Seq, "age", age.Round(time.Second), "attempts", d.Attempt)
		m.WebhookDead.Inc()
		return nil
	}
	err := s.post(ctx, p)
	if err != nil {
		m.WebhookFailures.Inc()
		s.cfg.Log.Warn("webhook delivery failed; retrying", "id", p.ID, "attempt", d.Attempt, "err", err)
		return err
	}
	m.WebhookDelivered.Inc()
	m.WebhookLatency.Observe(time.Since(d.Msg.Time).Seconds())
	return nil
}

func payload(msg natter.Message) Payload {
	kind := msg.Kind
	if kind == "" {
		kind = "message"
	}
	msg.Prev = 0 // the consumer does not know it; the seq order is the room's order
	return Payload{ID: msg.Epoch + "-" + strconv.FormatUint(msg.Seq, 10), Type: kind, Record: msg}
}

func (s *Sender) post(ctx context.Context, p Payload) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	now := time.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "natter-webhook/"+natter.Version)
	req.Header.Set(HeaderID, p.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(s.cfg.Secret, now, body))
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keeps the connection reusable
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: %s answered %s", s.cfg.URL, resp.Status)
	}
	return nil
}
