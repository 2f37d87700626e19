package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// ErrExchange is returned when the provider's token endpoint refuses an authorization code (unknown,
// expired or already used, or a PKCE verifier that does not match) or cannot be reached.
var ErrExchange = errors.New("oidc: the provider refused the authorization code")

// CodeFlow signs users in with the authorization code flow (RFC 6749 section 4.1) and PKCE
// (RFC 7636, S256), for the web console: the browser goes to the provider's authorization endpoint
// with a state, a nonce and a code challenge, comes back with a code, and the code is exchanged at
// the token endpoint for an ID token, which the Verifier checks exactly as it checks the API's
// bearer tokens, and whose nonce must be the one sent. It is safe for concurrent use.
type CodeFlow struct {
	v            *Verifier
	clientID     string
	clientSecret string
}

// NewCodeFlow returns the code flow of v's provider for the client clientID (v's audience when
// empty), authenticated at the token endpoint with clientSecret (empty for a public client, which
// PKCE protects). It returns an error when the provider's discovery document names no
// authorization or token endpoint.
func NewCodeFlow(v *Verifier, clientID, clientSecret string) (*CodeFlow, error) {
	if clientID == "" {
		clientID = v.cfg.Audience
	}
	ep := v.provider.Endpoint()
	if ep.AuthURL == "" || ep.TokenURL == "" {
		return nil, errors.New("oidc: the provider's discovery document names no authorization_endpoint or token_endpoint")
	}
	return &CodeFlow{v: v, clientID: clientID, clientSecret: clientSecret}, nil
}

// Challenge is what one sign-in attempt keeps until the provider sends the browser back: the
// random state (also sent, to match the answer to the attempt), the nonce the ID token must carry,
// and the PKCE verifier whose S256 hash was sent as the code challenge.
type Challenge struct {
	State, Nonce, Verifier string
}

// NewChallenge returns a fresh state, nonce and PKCE verifier (each 32 random bytes).
func NewChallenge() Challenge {
	return Challenge{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
}

func (f *CodeFlow) config(redirectURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: f.clientID, ClientSecret: f.clientSecret, Endpoint: f.v.provider.Endpoint(),
		RedirectURL: redirectURL, Scopes: []string{gooidc.ScopeOpenID, "profile"}}
}

// AuthURL returns the provider's authorization URL for ch, asking for a code sent to redirectURL.
func (f *CodeFlow) AuthURL(redirectURL string, ch Challenge) string {
	return f.config(redirectURL).AuthCodeURL(ch.State, oauth2.S256ChallengeOption(ch.Verifier), gooidc.Nonce(ch.Nonce))
}

// Exchange trades code for the provider's tokens (sending ch's PKCE verifier), verifies the ID token
// with the Verifier and checks that it carries ch's nonce. It returns the identity; an error wrapping
// ErrExchange when the token endpoint refuses the code or answers without an ID token; an error
// wrapping ErrInvalid when the ID token fails verification or carries another nonce.
func (f *CodeFlow) Exchange(ctx context.Context, redirectURL, code string, ch Challenge) (Identity, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, f.v.client)
	tok, err := f.config(redirectURL).Exchange(ctx, code, oauth2.VerifierOption(ch.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrExchange, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, fmt.Errorf("%w: the token response has no id_token", ErrExchange)
	}
	id, idt, err := f.v.verify(ctx, raw)
	if err != nil {
		return Identity{}, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(ch.Nonce)) != 1 || ch.Nonce == "" {
		return Identity{}, fmt.Errorf("%w: the ID token's nonce is not the one sent", ErrInvalid)
	}
	return id, nil
}
