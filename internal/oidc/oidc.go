// Package oidc verifies tokens issued by an agency's own OpenID Connect identity provider, for
// deployments where users sign in there instead of with a password here. It wraps
// github.com/coreos/go-oidc/v3: discovery finds the provider's JWKS, whose keys the library fetches
// and refreshes itself, and the library checks signature, issuer, audience and expiry. This package
// then maps the provider's claims to an Identity: subject, username, organisation and the roles
// this service knows (any other role the provider sends is dropped).
//
// Every verification failure wraps ErrInvalid; an expired token also wraps ErrExpired. The HTTP layer
// turns them into 401 responses.
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// Leeway is the clock skew tolerated after a token's expiry (the library allows five minutes on nbf).
const Leeway = 30 * time.Second

// DefaultRolesClaim and DefaultUsernameClaim are used when Config leaves the claim names empty.
const (
	DefaultRolesClaim    = "roles"
	DefaultUsernameClaim = "preferred_username"
)

// maxTokenLen bounds the size of a token Verify will parse.
const maxTokenLen = 16 << 10

// discoveryTimeout bounds each request to the provider when NewVerifier is given no HTTP client.
const discoveryTimeout = 10 * time.Second

// ErrInvalid reports a token that failed verification for any reason: malformed, signed by a key
// not in the provider's key set or with an unsupported algorithm, wrong issuer or audience, expired,
// or lacking the subject or organisation.
var ErrInvalid = errors.New("oidc: identity token invalid")

// ErrExpired is wrapped, in addition to ErrInvalid, by the error for a token that has expired.
var ErrExpired = errors.New("oidc: identity token expired")

// Config describes the provider and where its tokens carry what this service needs.
type Config struct {
	// IssuerURL is the provider's issuer; discovery reads IssuerURL/.well-known/openid-configuration.
	// It must be https, except on a loopback address (tests, local development).
	IssuerURL string
	// Audience is this service's client id at the provider; tokens must list it in "aud".
	Audience string
	// RolesClaim names the claim holding the user's roles (an array of strings, or one
	// space-separated string). A dotted path such as "realm_access.roles" reaches into nested
	// objects; a claim whose name itself contains dots (such as "https://example.org/roles") is
	// matched first. Empty means DefaultRolesClaim.
	RolesClaim string
	// OrgClaim names the claim holding the organisation id (string or number; dotted paths as for
	// RolesClaim). A token without it is refused. Exactly one of OrgClaim and DefaultOrgID is set.
	OrgClaim string
	// DefaultOrgID is the organisation every user of this provider belongs to, for a provider that
	// serves a single agency.
	DefaultOrgID string
	// UsernameClaim names the claim holding the username (dotted paths as for RolesClaim).
	// Empty means DefaultUsernameClaim.
	UsernameClaim string
}

// Identity is what a verified token says about its user.
type Identity struct {
	// Subject is the provider's stable user id; it is unique only together with Issuer.
	Subject string
	// Username is the UsernameClaim value, empty when the token has none.
	Username string
	// OrgID is the organisation id from OrgClaim, or DefaultOrgID.
	OrgID string
	// Roles are the token's roles that this service knows (caseworker, supervisor, content_editor,
	// admin, auditor), each once, in that order. It may be empty: such a user may do nothing.
	Roles []string
	// Issuer is the provider's issuer URL.
	Issuer string
}

// Verifier verifies the provider's tokens. It is safe for concurrent use.
type Verifier struct {
	cfg      Config
	verifier *gooidc.IDTokenVerifier
	provider *gooidc.Provider // its endpoints, for the console's authorization code flow (codeflow.go)
	client   *http.Client     // the client discovery used, for the code exchange too
}

// NewVerifier checks cfg, fetches the provider's discovery document with httpClient (nil means a
// client with a 10 s timeout) and returns a Verifier whose key set is fetched from the provider's
// jwks_uri on first use and again whenever a token names a key it does not hold. ctx bounds
// discovery only. It returns an error when cfg is incomplete or inconsistent, when the discovery
// document cannot be fetched or parsed, or when it names another issuer than cfg.IssuerURL.
func NewVerifier(ctx context.Context, cfg Config, httpClient *http.Client) (*Verifier, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = DefaultRolesClaim
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = DefaultUsernameClaim
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: discoveryTimeout}
	}
	// The provider keeps the client from this context for its later key set requests.
	provider, err := gooidc.NewProvider(gooidc.ClientContext(ctx, httpClient), cfg.IssuerURL)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovering %s: %w", cfg.IssuerURL, err)
	}
	return &Verifier{
		cfg:      cfg,
		provider: provider,
		client:   httpClient,
		verifier: provider.Verifier(&gooidc.Config{
			ClientID: cfg.Audience,
			// SupportedSigningAlgs is left empty: the library then accepts the asymmetric
			// algorithms the provider advertises (never "none" or HMAC), RS256 if it advertises none.
			Now: func() time.Time { return time.Now().Add(-Leeway) },
		}),
	}, nil
}

// check reports an incomplete or inconsistent configuration.
func (c Config) check() error {
	if c.IssuerURL == "" || c.Audience == "" {
		return errors.New("oidc: issuer URL and audience (client id) are required")
	}
	if (c.OrgClaim == "") == (c.DefaultOrgID == "") {
		return errors.New("oidc: set exactly one of the organisation claim and the default organisation id")
	}
	u, err := url.Parse(c.IssuerURL)
	if err != nil {
		return fmt.Errorf("oidc: issuer URL: %w", err)
	}
	switch {
	case u.Scheme == "https" && u.Host != "":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("oidc: issuer URL %q must be an https URL", c.IssuerURL)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Verify verifies rawToken (signature by a key of the provider, issuer, audience, expiry) and returns
// the identity it carries. It returns an error wrapping ErrInvalid when the token fails any check,
// has no subject, or lacks the organisation claim; for an expired token the error also wraps ErrExpired.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (Identity, error) {
	id, _, err := v.verify(ctx, rawToken)
	return id, err
}

// verify is Verify, also returning the verified token (whose nonce the code flow checks).
func (v *Verifier) verify(ctx context.Context, rawToken string) (Identity, *gooidc.IDToken, error) {
	if len(rawToken) > maxTokenLen {
		return Identity{}, nil, fmt.Errorf("%w: token is longer than %d bytes", ErrInvalid, maxTokenLen)
	}
	tok, err := v.verifier.Verify(ctx, rawToken)
	if err != nil {
		// A token without "exp" also fails as "expired" (at the zero time): that one is only invalid.
		if expired, ok := errors.AsType[*gooidc.TokenExpiredError](err); ok && !expired.Expiry.IsZero() {
			return Identity{}, nil, fmt.Errorf("%w: %w: %w", ErrInvalid, ErrExpired, err)
		}
		return Identity{}, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var claims map[string]json.RawMessage
	if err := tok.Claims(&claims); err != nil {
		return Identity{}, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	id := Identity{Subject: tok.Subject, Issuer: tok.Issuer, OrgID: v.cfg.DefaultOrgID}
	if id.Subject == "" {
		return Identity{}, nil, fmt.Errorf("%w: token has no subject", ErrInvalid)
	}
	if v.cfg.OrgClaim != "" {
		org, ok := scalarClaim(claims, v.cfg.OrgClaim)
		if !ok || org == "" {
			return Identity{}, nil, fmt.Errorf("%w: token has no organisation claim %q", ErrInvalid, v.cfg.OrgClaim)
		}
		id.OrgID = org
	}
	id.Username, _ = scalarClaim(claims, v.cfg.UsernameClaim)
	id.Roles = knownRoles(rolesClaim(claims, v.cfg.RolesClaim))
	return id, tok, nil
}

// lookup finds a claim by its literal name, or else by following a dotted path through nested objects.
func lookup(claims map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if raw, ok := claims[name]; ok {
		return raw, true
	}
	parts := strings.Split(name, ".")
	if len(parts) < 2 {
		return nil, false
	}
	cur := claims
	for i, p := range parts {
		raw, ok := cur[p]
		if !ok {
			return nil, false
		}
		if i == len(parts)-1 {
			return raw, true
		}
		cur = nil
		if err := json.Unmarshal(raw, &cur); err != nil || cur == nil {
			return nil, false
		}
	}
	return nil, false
}

// scalarClaim returns a string or number claim as a string.
func scalarClaim(claims map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := lookup(claims, name)
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

// rolesClaim returns the strings of an array claim (other elements skipped), or the words of a
// string claim; nothing for anything else.
func rolesClaim(claims map[string]json.RawMessage, name string) []string {
	raw, ok := lookup(claims, name)
	if !ok {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.Fields(s)
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	roles := make([]string, 0, len(items))
	for _, it := range items {
		if json.Unmarshal(it, &s) == nil {
			roles = append(roles, s)
		}
	}
	return roles
}

// knownRoles keeps the roles this service knows, each once, in a fixed order.
func knownRoles(roles []string) []string {
	var out []string
	for _, known := range [...]string{"caseworker", "supervisor", "content_editor", "admin", "auditor"} {
		for _, r := range roles {
			if r == known {
				out = append(out, known)
				break
			}
		}
	}
	return out
}
