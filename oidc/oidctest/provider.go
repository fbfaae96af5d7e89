// Package oidctest runs a real OpenID provider on loopback for tests: the
// provider of github.com/zitadel/oidc/v3 (pkg/op, an OpenID-certified
// implementation), with the in-memory storage and username/password login
// page of that module's example server. Natter's login flow is tested
// against its discovery, authorization (PKCE S256), token and userinfo
// endpoints and its signed ID tokens, not against a mock.
//
// Only tests import it.
package oidctest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"
)

// Client registration of Natter at the provider.
const (
	ClientID     = "natter"
	ClientSecret = "natter-secret"
)

// User is a person the provider knows. Subject is the sub claim;
// Username, also preferred_username, is what the login page asks for.
type User struct {
	Subject, Username, Password, Email string
}

// Provider is the running provider.
type Provider struct {
	// Issuer is the provider's issuer URL (http://127.0.0.1:port).
	Issuer string
	srv    *httptest.Server
}

// Start runs a provider that knows users and lets the client ClientID
// log in with redirect URL redirect; it stops when the test ends.
func Start(t testing.TB, redirect string, users ...User) *Provider {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + l.Addr().String()
	us := userStore{}
	for _, u := range users {
		us[u.Subject] = &storage.User{
			ID: u.Subject, Username: u.Username, Password: u.Password, Email: u.Email,
			EmailVerified: true, FirstName: u.Username, PreferredLanguage: language.English,
		}
	}
	clients := map[string]*storage.Client{ClientID: storage.WebClient(ClientID, ClientSecret, redirect)}
	router := exampleop.SetupServer(issuer, storage.NewStorageWithClients(us, clients), nil, false)
	srv := httptest.NewUnstartedServer(router)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return &Provider{Issuer: issuer, srv: srv}
}

// Close stops the provider (before the test ends: an identity provider
// that goes down).
func (p *Provider) Close() { p.srv.Close() }

// Client is an HTTP client to the provider's own endpoints.
func (p *Provider) Client() *http.Client { return p.srv.Client() }

// userStore is storage.UserStore over a fixed set of users.
type userStore map[string]*storage.User

func (s userStore) GetUserByID(id string) *storage.User { return s[id] }

func (s userStore) GetUserByUsername(name string) *storage.User {
	for _, u := range s {
		if u.Username == name {
			return u
		}
	}
	return nil
}

// ExampleClientID names the example's service user, which we do not use.
func (s userStore) ExampleClientID() string { return storage.ServiceUserID }
