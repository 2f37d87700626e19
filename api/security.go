package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/config"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/jwtauth"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/oidc"
)

// security is the sign-in and audit machinery assembled from the configuration.
type security struct {
	identity *identity.Service
	audit    *audit.Service
	auth     *authenticator
	signer   *jwtauth.Signer
	tokenKey ed25519.PrivateKey  // the access-token signing key, read once (custody receipts derive theirs from it)
	keys     *fieldcrypt.KeyRing // encrypts free text and identifying fields at rest
}

// newSecurity builds the token signer (key from JWT_PRIVATE_KEY_FILE or created under DATA_DIR),
// the audit log, the identity service and the authenticator (with the OpenID Connect verifier when
// configured). New password hashes cost password (zero: identity.DefaultPasswordParams()). It returns
// an error when a key cannot be read or created or the provider cannot be reached.
func newSecurity(ctx context.Context, cfg config.Config, db *mongodb.DB, password identity.PasswordParams) (*security, error) {
	key, keyID, err := signingKey(cfg)
	if err != nil {
		return nil, err
	}
	signer, err := jwtauth.NewSigner(key, keyID, cfg.TokenIssuer, cfg.TokenIssuer, cfg.AccessTokenTTL, time.Now)
	if err != nil {
		return nil, err
	}
	keys, err := fieldKeys(cfg)
	if err != nil {
		return nil, err
	}
	auditLog := audit.NewService(db.Audit(), time.Now)
	ids := identity.NewService(db.Identity(), tokenIssuer{signer}, auditLog,
		identity.Config{RefreshTTL: cfg.RefreshTokenTTL, Password: password}, time.Now)
	a := &authenticator{signer: signer, identity: ids}
	if cfg.OIDCIssuerURL != "" {
		a.oidc, err = oidc.NewVerifier(ctx, oidc.Config{IssuerURL: cfg.OIDCIssuerURL, Audience: cfg.OIDCAudience,
			RolesClaim: cfg.OIDCRolesClaim, OrgClaim: cfg.OIDCOrgClaim, DefaultOrgID: cfg.OIDCDefaultOrg}, nil)
		if err != nil {
			return nil, fmt.Errorf("OpenID Connect provider %s: %w", cfg.OIDCIssuerURL, err)
		}
	}
	return &security{identity: ids, audit: auditLog, auth: a, signer: signer, tokenKey: key, keys: keys}, nil
}

// fieldKeys reads the field-encryption key ring from FIELD_KEYS, or from (creating it) DATA_DIR.
func fieldKeys(cfg config.Config) (*fieldcrypt.KeyRing, error) {
	if cfg.FieldKeys != "" {
		keys, err := fieldcrypt.ParseKeyRing(cfg.FieldKeys)
		if err != nil {
			return nil, fmt.Errorf("FIELD_KEYS: %w", err)
		}
		return keys, nil
	}
	keys, err := fieldcrypt.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("field-encryption keys in DATA_DIR: %w", err)
	}
	return keys, nil
}

// signingKey reads the access-token signing key from JWT_PRIVATE_KEY_FILE, or from (creating it)
// DATA_DIR, with its key id.
func signingKey(cfg config.Config) (ed25519.PrivateKey, string, error) {
	if cfg.JWTKeyFile != "" {
		pem, err := os.ReadFile(cfg.JWTKeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("JWT_PRIVATE_KEY_FILE: %w", err)
		}
		key, id, err := jwtauth.ParsePrivateKeyPEM(pem)
		return key, id, err
	}
	key, id, err := jwtauth.LoadOrCreateKey(cfg.DataDir)
	return key, id, err
}

// bootstrap creates the first administrator when no user exists: with BOOTSTRAP_ADMIN_PASSWORD, or
// with a random password printed once to the log.
func (s *security) bootstrap(ctx context.Context, password string, log *slog.Logger) error {
	created, generated, err := s.identity.Bootstrap(ctx, password)
	if err != nil {
		return fmt.Errorf("creating the first administrator: %w", err)
	}
	switch {
	case created && generated != "":
		log.Warn("first start: created organisation \"default\" and user \"admin\"; this one-time password is shown only now, change it after signing in",
			"username", "admin", "password", generated)
	case created:
		log.Info("first start: created organisation \"default\" and user \"admin\" with BOOTSTRAP_ADMIN_PASSWORD")
	}
	return nil
}

// flush lets the audit log finish what it still holds in memory (the writes queued and the move of
// each log's head, see audit.Service.Record) before the database closes.
func (s *security) flush(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.audit.Flush(ctx); err != nil {
		log.Warn("the audit log was not flushed before stopping: the head of a log may lag until the next write", "error", err.Error())
	}
}

// tokenIssuer adapts the JWT signer to identity.TokenIssuer.
type tokenIssuer struct{ signer *jwtauth.Signer }

// Issue signs an access token for p. It returns the signer's error.
func (t tokenIssuer) Issue(p identity.Principal) (string, time.Time, error) {
	roles := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		roles[i] = string(r)
	}
	return t.signer.Issue(jwtauth.Claims{Subject: p.UserID, OrgID: p.OrgID, Roles: roles, DeviceID: p.DeviceID, SessionID: p.SessionID})
}

// authenticator implements httpapi.Authenticator: the service's own access tokens (checked against
// revoked devices and disabled users), or, when configured, tokens of the OpenID Connect provider.
type authenticator struct {
	signer   *jwtauth.Signer
	identity *identity.Service
	oidc     *oidc.Verifier
}

// Authenticate returns the principal of bearer, or an identity.Denial (401).
func (a *authenticator) Authenticate(ctx context.Context, bearer string) (identity.Principal, error) {
	claims, err := a.signer.Verify(bearer)
	if err == nil {
		roles := make([]identity.Role, 0, len(claims.Roles))
		for _, r := range claims.Roles {
			if slices.Contains(identity.Roles, identity.Role(r)) {
				roles = append(roles, identity.Role(r))
			}
		}
		return a.identity.Authenticate(ctx, identity.Principal{UserID: claims.Subject, OrgID: claims.OrgID, Roles: roles,
			DeviceID: claims.DeviceID, SessionID: claims.SessionID})
	}
	if a.oidc != nil && errors.Is(err, jwtauth.ErrInvalid) {
		id, oerr := a.oidc.Verify(ctx, bearer)
		if oerr == nil {
			roles := make([]identity.Role, len(id.Roles))
			for i, r := range id.Roles {
				roles[i] = identity.Role(r)
			}
			return identity.Principal{UserID: id.Issuer + "#" + id.Subject, OrgID: id.OrgID, Username: id.Username, Roles: roles}, nil
		}
	}
	return identity.Principal{}, fmt.Errorf("%w: %w", identity.ErrSessionInvalid, err)
}
