package main

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/checkpoint"
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
	// checkpoints signs and finds the checkpoints of the audit logs and custody chains
	checkpoints *checkpoint.Keeper
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
	if err := keysBelongToData(ctx, cfg, db); err != nil {
		return nil, err
	}
	keys, err := fieldKeys(cfg)
	if err != nil {
		return nil, err
	}
	checkpoints, err := newCheckpoints(key, db)
	if err != nil {
		return nil, err
	}
	auditLog := audit.NewService(db.Audit(), time.Now).WithCheckpoints(checkpoints, audit.DefaultCheckpointInterval)
	ids := identity.NewService(db.Identity(), tokenIssuer{signer}, auditLog,
		identity.Config{RefreshTTL: cfg.RefreshTokenTTL, Password: password}, time.Now).WithDeploymentOrg(cfg.DeploymentAuditOrg)
	a := &authenticator{signer: signer, identity: ids}
	if cfg.OIDCIssuerURL != "" {
		a.oidc, err = oidc.NewVerifier(ctx, oidc.Config{IssuerURL: cfg.OIDCIssuerURL, Audience: cfg.OIDCAudience,
			RolesClaim: cfg.OIDCRolesClaim, OrgClaim: cfg.OIDCOrgClaim, DefaultOrgID: cfg.OIDCDefaultOrg}, nil)
		if err != nil {
			return nil, fmt.Errorf("OpenID Connect provider %s: %w", cfg.OIDCIssuerURL, err)
		}
	}
	return &security{identity: ids, audit: auditLog, auth: a, signer: signer, tokenKey: key, keys: keys, checkpoints: checkpoints}, nil
}

// checkpointKeyInfo names the purpose of the checkpoint key derived from the token-signing key.
const checkpointKeyInfo = "caseguide chain checkpoints v1"

// newCheckpoints builds the keeper of the signed checkpoints of the audit logs and custody chains. Its
// Ed25519 key is derived with HKDF-SHA256 from the token-signing key's seed, like the receipt key
// (every instance sharing the token key signs with the same key, no new secret to configure) and
// distinct from both. It returns an error only when the derivation fails.
func newCheckpoints(key ed25519.PrivateKey, db *mongodb.DB) (*checkpoint.Keeper, error) {
	seed, err := hkdf.Key(sha256.New, key.Seed(), nil, checkpointKeyInfo, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("deriving the checkpoint key: %w", err)
	}
	signer, err := checkpoint.NewSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		return nil, err
	}
	return checkpoint.NewKeeper(db.Checkpoints(), signer, time.Now), nil
}

// keysBelongToData refuses to create a new field-encryption key ring for a database that already holds
// data (a restored backup, or a DATA_DIR whose key file was lost): everything encrypted under the old
// keys would be unreadable, and new data would be encrypted under keys nobody kept. It returns that
// refusal, or the database's error.
func keysBelongToData(ctx context.Context, cfg config.Config, db *mongodb.DB) error {
	if cfg.FieldKeys != "" {
		return nil
	}
	file := filepath.Join(cfg.DataDir, fieldcrypt.KeyFileName)
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	n, err := db.Identity().CountUsers(ctx)
	if err != nil {
		return fmt.Errorf("counting users: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("the database already holds data but there is no field-encryption key ring (%s is missing and FIELD_KEYS is unset): "+
			"a new one could not read anything encrypted so far. Put this database's key file back (mode 0600) or set FIELD_KEYS; a restored backup needs the keys kept apart from it", file)
	}
	return nil
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

// initialPasswordFile is the file in DATA_DIR (mode 0600) holding the first admin's generated
// password until the admin deletes it.
const initialPasswordFile = "initial-admin-password"

// bootstrap creates the first administrator when no user exists: with BOOTSTRAP_ADMIN_PASSWORD, or
// with a random password shown once outside the JSON log (which may be shipped to log stores), at any
// LOG_LEVEL: on console (standard error) and in DATA_DIR/initial-admin-password (mode 0600). The log
// only says where to find it. It returns an error when the administrator cannot be created.
func (s *security) bootstrap(ctx context.Context, password, dataDir string, console io.Writer, log *slog.Logger) error {
	created, generated, err := s.identity.Bootstrap(ctx, password)
	if err != nil {
		return fmt.Errorf("creating the first administrator: %w", err)
	}
	switch {
	case created && generated != "":
		file := filepath.Join(dataDir, initialPasswordFile)
		werr := os.MkdirAll(dataDir, 0o700)
		if werr == nil {
			werr = os.WriteFile(file, []byte(generated+"\n"), 0o600)
		}
		where := "and in " + file + " (delete that file once you have signed in)"
		if werr != nil {
			where = "only here (it could not be written to " + file + ": " + werr.Error() + ")"
		}
		fmt.Fprintf(console, "\n  First start: created organisation \"default\" and user \"admin\".\n"+
			"  One-time password of admin: %s\n  It is shown only now, %s.\n"+
			"  Sign in at /console/ and choose your own password (required at the first sign-in), or use POST /v1/me/password.\n\n", generated, where)
		log.Warn("first start: created organisation \"default\" and user \"admin\" with a one-time password, shown on standard error and in DATA_DIR, never in this log; change it after signing in",
			"username", "admin", "password_file_written", werr == nil)
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
