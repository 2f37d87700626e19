package main

import (
	"fmt"
	"net/url"

	"github.com/childsafe-protocols/caseguide/internal/config"
	"github.com/childsafe-protocols/caseguide/internal/console"
	"github.com/childsafe-protocols/caseguide/internal/oidc"
)

// consoleOIDC returns the console's sign-in with the OpenID Connect provider, built on the very
// verifier the API checks the provider's bearer tokens with; nil when no provider is configured. It
// returns an error when the provider's discovery document names no authorization or token endpoint.
func consoleOIDC(cfg config.Config, sec *security) (*console.OIDC, error) {
	if sec.auth.oidc == nil {
		return nil, nil
	}
	flow, err := oidc.NewCodeFlow(sec.auth.oidc, cfg.OIDCClientID, cfg.OIDCClientSecret)
	if err != nil {
		return nil, fmt.Errorf("OpenID Connect provider %s: %w", cfg.OIDCIssuerURL, err)
	}
	name := cfg.OIDCProviderName
	if name == "" {
		if u, err := url.Parse(cfg.OIDCIssuerURL); err == nil {
			name = u.Host
		}
	}
	return &console.OIDC{Flow: flow, ProviderName: name, RedirectURL: cfg.OIDCRedirectURL}, nil
}
