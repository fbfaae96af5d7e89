// Package oidc logs people in with an OpenID Connect provider: the
// authorization code flow with PKCE (RFC 7636, S256) and a nonce, the ID
// token verified against the provider's published keys, its issuer and
// our client id. It owns the protocol only; package account decides which
// Natter user an identity becomes and issues the Natter token.
//
// It is the only package that imports github.com/coreos/go-oidc and
// golang.org/x/oauth2.
package oidc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// DefaultClaim is the claim that becomes the Natter user id when
// Config.Claim is empty: the provider's subject, stable for a person.
const DefaultClaim = "sub"

// timeout bounds each request to the provider (discovery, keys, token,
// userinfo).
const timeout = 10 * time.Second

// DefaultScopes are requested when Config.Scopes is empty: profile and
// email carry the claims an operator is likely to map (preferred_username,
// email).
var DefaultScopes = []string{gooidc.ScopeOpenID, "profile", "email"}

// Config describes the provider and how we are registered with it.
type Config struct {
	// Issuer is the provider's issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret are our registration. The secret may be
	// empty for a public client (PKCE alone).
	ClientID, ClientSecret string
	// RedirectURL is where the provider sends the browser back to: this
	// server's /api/auth/oidc/callback as the browser reaches it.
	RedirectURL string
	// Claim names the claim (of the ID token, else of userinfo) whose
	// string value becomes the user id (DefaultClaim if empty).
	Claim string
	// Scopes requested (DefaultScopes if empty; openid is added if missing).
	Scopes []string
	// Client makes the requests to the provider (one with a timeout if nil).
	Client *http.Client
}

// Identity is who the provider says logged in.
type Identity struct {
	Issuer, Subject string
	// Value is the configured claim's value; not yet checked against the
	// user id rules.
	Value string
}

// Login is one login in progress: the browser goes to URL, and the rest
// must be kept (in the browser's cookie) until it comes back.
type Login struct {
	URL   string
	State string // compared with the state the browser comes back with
	// Verifier is the PKCE code verifier; only its hash went to URL.
	Verifier string
	Nonce    string // must come back inside the ID token
}

// Provider runs logins against one OpenID provider. Its discovery
// document is fetched on the first login, not at start (a server must
// start while the provider is down), and kept once fetched.
type Provider struct {
	cfg    Config
	client *http.Client

	mu       sync.Mutex
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
}

// New checks cfg and returns its Provider.
func New(cfg Config) (*Provider, error) {
	if u, err := url.Parse(cfg.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("oidc: issuer %q: want an http or https URL", cfg.Issuer)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("oidc: a client id is required")
	}
	if u, err := url.Parse(cfg.RedirectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("oidc: redirect URL %q: want the absolute http or https URL of /api/auth/oidc/callback", cfg.RedirectURL)
	}
	if cfg.Claim == "" {
		cfg.Claim = DefaultClaim
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultScopes
	}
	if !contains(cfg.Scopes, gooidc.ScopeOpenID) {
		cfg.Scopes = append([]string{gooidc.ScopeOpenID}, cfg.Scopes...)
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	return &Provider{cfg: cfg, client: client}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// discovered returns the provider's metadata and ID token verifier,
// fetching them if this is the first successful call.
func (p *Provider) discovered(ctx context.Context) (*gooidc.Provider, *gooidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, p.verifier, nil
	}
	ctx, cancel := context.WithTimeout(p.ctx(ctx), timeout)
	defer cancel()
	prov, err := gooidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("oidc: discovery: %w", err)
	}
	// The key set's requests use this context's client, not its deadline.
	p.provider = prov
	p.verifier = prov.VerifierContext(p.ctx(context.Background()), &gooidc.Config{ClientID: p.cfg.ClientID})
	return p.provider, p.verifier, nil
}

// ctx carries our HTTP client to both libraries.
func (p *Provider) ctx(ctx context.Context) context.Context {
	return context.WithValue(gooidc.ClientContext(ctx, p.client), oauth2.HTTPClient, p.client)
}

func (p *Provider) oauth(prov *gooidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: p.cfg.RedirectURL,
		Endpoint: prov.Endpoint(), Scopes: p.cfg.Scopes,
	}
}

// Start begins a login: a fresh state, PKCE verifier and nonce, and the
// provider's authorization URL that carries them.
func (p *Provider) Start(ctx context.Context) (Login, error) {
	prov, _, err := p.discovered(ctx)
	if err != nil {
		return Login{}, err
	}
	l := Login{State: rand.Text(), Verifier: oauth2.GenerateVerifier(), Nonce: rand.Text()}
	l.URL = p.oauth(prov).AuthCodeURL(l.State, oauth2.S256ChallengeOption(l.Verifier), gooidc.Nonce(l.Nonce))
	return l, nil
}

// Finish completes a login: it trades code (with the verifier) for
// tokens, verifies the ID token (signature, issuer, audience, expiry, and
// nonce) and reads the configured claim.
func (p *Provider) Finish(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	prov, idv, err := p.discovered(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx, cancel := context.WithTimeout(p.ctx(ctx), timeout)
	defer cancel()
	tok, err := p.oauth(prov).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("oidc: code exchange: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, errors.New("oidc: the provider returned no ID token")
	}
	idt, err := idv.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("oidc: ID token: %w", err)
	}
	if idt.Nonce != nonce {
		return Identity{}, errors.New("oidc: ID token nonce does not match this login")
	}
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("oidc: ID token claims: %w", err)
	}
	v, found := claims[p.cfg.Claim]
	if !found && prov.UserInfoEndpoint() != "" {
		// Many providers put profile claims in userinfo only.
		ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return Identity{}, fmt.Errorf("oidc: userinfo: %w", err)
		}
		if ui.Subject != idt.Subject {
			return Identity{}, errors.New("oidc: userinfo is about another subject than the ID token")
		}
		claims = nil
		if err := ui.Claims(&claims); err != nil {
			return Identity{}, fmt.Errorf("oidc: userinfo claims: %w", err)
		}
		v, found = claims[p.cfg.Claim]
	}
	s, isString := v.(string)
	switch {
	case !found:
		return Identity{}, fmt.Errorf("oidc: the provider sent no %q claim", p.cfg.Claim)
	case !isString || s == "":
		return Identity{}, fmt.Errorf("oidc: the %q claim is not a non-empty string", p.cfg.Claim)
	}
	id.Value = s
	return id, nil
}

// Claim is the configured claim's name.
func (p *Provider) Claim() string { return p.cfg.Claim }
