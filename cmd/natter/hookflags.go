package main

import (
	"context"
	"flag"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/auth"
	"github.com/natter-chat/natter/webhook"
)

// HookConfig is the outgoing webhook and the admin API (docs/CONFIG.md
// "Webhooks and admin API").
type HookConfig struct {
	URL          string        // --webhook-url; empty: no webhook
	Secret       string        // --webhook-secret
	AllowPrivate bool          // --webhook-allow-private
	Timeout      time.Duration // --webhook-timeout
	MaxBackoff   time.Duration // --webhook-max-backoff
	MaxAge       time.Duration // --webhook-max-age
	Durable      string        // --webhook-name
	AdminTokens  string        // --admin-tokens: file of admin API tokens; empty: no admin API
}

func hookFlags(fs *flag.FlagSet, h *HookConfig) {
	fs.StringVar(&h.URL, "webhook-url", h.URL, "POST every stored record (messages and changes) of every room to this http(s) URL, signed with --webhook-secret (docs/INTEGRATIONS.md)")
	fs.StringVar(&h.Secret, "webhook-secret", h.Secret, "HMAC-SHA256 key of the webhook signatures, at least 16 bytes (required with --webhook-url)")
	fs.BoolVar(&h.AllowPrivate, "webhook-allow-private", h.AllowPrivate, "let the webhook reach loopback, private and link-local addresses (off: public addresses only, against SSRF)")
	fs.DurationVar(&h.Timeout, "webhook-timeout", webhook.DefaultTimeout, "how long one webhook attempt may take (at most 5s)")
	fs.DurationVar(&h.MaxBackoff, "webhook-max-backoff", webhook.DefaultMaxBackoff, "longest wait between two attempts of one record (the wait starts at 100ms and doubles)")
	fs.DurationVar(&h.MaxAge, "webhook-max-age", webhook.DefaultMaxAge, "a record still undelivered this long after it was stored is dead-lettered: logged, counted and skipped")
	fs.StringVar(&h.Durable, "webhook-name", webhook.DefaultDurable, "JetStream durable consumer of the webhook (nodes sharing a name share its deliveries)")
	fs.StringVar(&h.AdminTokens, "admin-tokens", h.AdminTokens, "file of admin API tokens, one per line (the token, or sha256:<hex of its SHA-256>), mode 0600; empty: no admin API")
}

// adminTokens loads --admin-tokens, nil if none.
func (h HookConfig) adminTokens() (*auth.AdminTokens, error) {
	if h.AdminTokens == "" {
		return nil, nil
	}
	return auth.LoadAdminTokens(h.AdminTokens)
}

// startWebhook runs the webhook, if one is configured, until Close.
func (m *Main) startWebhook() error {
	h := m.Hooks
	if h.URL == "" {
		return nil
	}
	s, err := webhook.New(webhook.Config{URL: h.URL, Secret: []byte(h.Secret), AllowPrivate: h.AllowPrivate,
		Timeout: h.Timeout, MaxBackoff: h.MaxBackoff, MaxAge: h.MaxAge, Durable: h.Durable,
		Log: m.Log, Metrics: m.metrics})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, err := s.Start(ctx, m.broker)
	if err != nil {
		cancel()
		return err
	}
	m.stopHook, m.hookDone = cancel, done
	return nil
}

// stopWebhook stops the webhook; a delivery in progress is left
// unacknowledged, so it is made again by the next process.
func (m *Main) stopWebhook() {
	if m.stopHook != nil {
		m.stopHook()
		<-m.hookDone
	}
}

// adminLookup answers the admin API's question about a bearer token.
func (m *Main) adminLookup(token string) (natter.UserID, bool) {
	g, ok := m.admin.Lookup(token)
	return g.Bot, ok
}
