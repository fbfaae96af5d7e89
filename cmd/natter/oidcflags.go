package main

import (
	"errors"
	"flag"
	"strings"

	"github.com/natter-chat/natter/account"
	"github.com/natter-chat/natter/oidc"
)

// OIDCConfig is the OpenID login of the web UI (docs/CONFIG.md, "OpenID
// Connect login"); off while Issuer is empty.
type OIDCConfig struct {
	Issuer, ClientID, ClientSecret, RedirectURL string
	Claim, Scopes, Name                         string
}

func oidcFlags(fs *flag.FlagSet, c *OIDCConfig) {
	fs.StringVar(&c.Issuer, "oidc-issuer", c.Issuer, "OpenID provider's issuer URL: the web UI offers \"Log in with …\" through it (authorization code + PKCE)")
	fs.StringVar(&c.ClientID, "oidc-client-id", c.ClientID, "client id of this server at the OpenID provider")
	fs.StringVar(&c.ClientSecret, "oidc-client-secret", c.ClientSecret, "client secret at the OpenID provider (empty: a public client, PKCE only)")
	fs.StringVar(&c.RedirectURL, "oidc-redirect-url", c.RedirectURL, "this server's callback as browsers reach it, registered at the provider: https://<host>/api/auth/oidc/callback")
	fs.StringVar(&c.Claim, "oidc-claim", oidc.DefaultClaim, "claim of the ID token (or userinfo) that becomes the user id; it must be 1-64 of A-Z a-z 0-9 _ - or the login is refused")
	fs.StringVar(&c.Scopes, "oidc-scopes", strings.Join(oidc.DefaultScopes, ","), "comma-separated scopes requested (openid is always added)")
	fs.StringVar(&c.Name, "oidc-name", "OpenID", "name of the provider on the login button (\"Log in with <name>\")")
}

// oidcProvider is the configured provider, or nil if there is none.
func (m *Main) oidcProvider() (*oidc.Provider, error) {
	c := m.OIDC
	if c.Issuer == "" {
		return nil, nil
	}
	if m.LoginURL != "" {
		return nil, errors.New("--oidc-issuer and --login-url both name a login page for the web UI: choose one")
	}
	if m.JWTSecret == "" && m.NATS != "" {
		// The login ends with a token of ours, signed with the secret.
		return nil, errors.New("--oidc-issuer needs --jwt-secret with --nats: the login hands out tokens signed with it")
	}
	var scopes []string
	for _, s := range strings.Split(c.Scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			scopes = append(scopes, s)
		}
	}
	return oidc.New(oidc.Config{
		Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
		Claim: c.Claim, Scopes: scopes,
	})
}

// oidcLogin is m.oidc as account.Config wants it: a nil interface, not a
// nil pointer in one, when there is no provider.
func (m *Main) oidcLogin() account.OIDC {
	if m.oidc == nil {
		return nil
	}
	return m.oidc
}
