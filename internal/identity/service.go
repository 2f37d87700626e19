package identity

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
)

// TokenIssuer makes access tokens (the jwtauth adapter).
type TokenIssuer interface {
	// Issue returns a signed access token for p and when it expires; an error when signing fails.
	Issue(p Principal) (token string, expiresAt time.Time, err error)
}

// Security event actions.
const (
	ActionLogin         = "auth.login"
	ActionLoginFailed   = "auth.login_failed"
	ActionLocked        = "auth.locked"
	ActionRefresh       = "auth.refresh"
	ActionTokenReuse    = "auth.token_reuse"
	ActionLogout        = "auth.logout"
	ActionDeviceRevoked = "device.revoked"
	ActionUserCreated   = "user.created"
	ActionUserUpdated   = "user.updated"
	ActionUserDisabled  = "user.disabled"
	ActionPasswordReset = "user.password_reset"
	ActionRoleChanged   = "user.role_changed"
)

// Resource types of security events.
const (
	ResourceUser    = "user"
	ResourceDevice  = "device"
	ResourceSession = "session"
)

// Bootstrap names.
const (
	DefaultOrgID     = "default"
	DefaultOrgName   = "Default organisation"
	BootstrapAdmin   = "admin"
	systemActorRoles = "system"
)

// Config tunes the Service. Zero values take the defaults.
type Config struct {
	RefreshTTL          time.Duration  // lifetime of a sign-in (absolute, not extended by refreshes); default 30 days
	Password            PasswordParams // argon2id parameters of new hashes; default DefaultPasswordParams()
	MaxConcurrentHashes int            // password hashes computed at once (each holds Password.Memory); default 4

	// AuthCacheTTL is how long Authenticate trusts a session it has checked without reading the store
	// again; default DefaultAuthCacheTTL (5s), negative disables the cache. Revocation (logout,
	// device revocation, password reset, disabling a user, role changes, token reuse) takes effect at
	// once on the instance that performs it and within AuthCacheTTL on the others.
	AuthCacheTTL time.Duration
	// AuthCacheSize bounds the sessions the Authenticate cache holds; default DefaultAuthCacheSize.
	AuthCacheSize int
}

// DefaultRefreshTTL is how long a sign-in lasts when Config.RefreshTTL is zero.
const DefaultRefreshTTL = 30 * 24 * time.Hour

// Page sizes of ListUsers.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Service signs users in and out, rotates refresh tokens, checks access tokens' principals, and lets
// admins manage the users and devices of their organisation. Authenticate caches positive checks per
// session for Config.AuthCacheTTL; the Service's own revoking operations drop the affected entries
// at once, other instances' within the TTL. Safe for concurrent use.
type Service struct {
	store    Store
	issuer   TokenIssuer
	events   audit.Recorder
	cfg      Config
	now      func() time.Time
	throttle *Throttle
	dummy    string        // a hash nothing matches, with cfg.Password's parameters
	slots    chan struct{} // limits concurrent password hashes (memory)
	auth     *authCache    // positive Authenticate outcomes; nil when disabled
	// deploymentOrg is the organisation whose admins edit the organisation directory (directory.go).
	deploymentOrg string
}

// NewService returns a Service over store. now is the clock (nil: time.Now).
func NewService(store Store, issuer TokenIssuer, events audit.Recorder, cfg Config, now func() time.Time) *Service {
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = DefaultRefreshTTL
	}
	cfg.Password = cfg.Password.withDefaults()
	if cfg.MaxConcurrentHashes <= 0 {
		cfg.MaxConcurrentHashes = 4
	}
	if cfg.AuthCacheTTL == 0 {
		cfg.AuthCacheTTL = DefaultAuthCacheTTL
	}
	if cfg.AuthCacheSize <= 0 {
		cfg.AuthCacheSize = DefaultAuthCacheSize
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, issuer: issuer, events: events, cfg: cfg, now: now,
		throttle: NewThrottle(store), dummy: dummyHash(cfg.Password), slots: make(chan struct{}, cfg.MaxConcurrentHashes),
		auth: newAuthCache(cfg.AuthCacheTTL, cfg.AuthCacheSize)}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// record stores e in its organisation's audit log, or in the deployment's when it belongs to no
// organisation (a failed sign-in with an unknown user name, a lock of a client address).
func (s *Service) record(ctx context.Context, e audit.Event) error {
	if e.OrgID == "" {
		e.OrgID = audit.DeploymentLog
	}
	if err := s.events.RecordEvent(ctx, e); err != nil {
		return fmt.Errorf("recording security event %s: %w", e.Action, err)
	}
	return nil
}

// hash and verify compute password hashes, at most cfg.MaxConcurrentHashes at once.
func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.slots }()
	return HashPasswordWith(pw, s.cfg.Password)
}

func (s *Service) verify(ctx context.Context, hash, pw string) (bool, error) {
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-s.slots }()
	ok, err := VerifyPassword(hash, pw)
	if err != nil {
		return false, fmt.Errorf("verifying a password: %w", err)
	}
	return ok, nil
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting to check a password: %w", ctx.Err())
	}
}

func principalOf(u User, deviceID, sessionID string) Principal {
	return Principal{UserID: u.ID, OrgID: u.OrgID, Username: u.Username, Roles: u.Roles, DeviceID: deviceID, SessionID: sessionID,
		PasswordChangeRequired: u.PasswordChangeRequired, Locale: u.Locale}
}

func eventBy(p Principal, action, resourceType, resourceID string, outcome audit.Outcome) audit.Event {
	return p.AuditEvent("", action, resourceType, resourceID, outcome)
}

// roleList names roles comma-separated.
func roleList(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}
