package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// TokenIssuer makes access tokens (the jwtauth adapter).
type TokenIssuer interface {
	// Issue returns a signed access token for p and when it expires; an error when signing fails.
	Issue(p Principal) (token string, expiresAt time.Time, err error)
}

// SecurityEvent is one entry for the audit log: who (actor) did what (action) to which resource,
// and how it ended (outcome). Actor fields are empty when the actor is unknown (a failed sign-in
// with an unknown username); ActorRole is "system" for Bootstrap.
type SecurityEvent struct {
	OrgID        string
	ActorID      string
	ActorRole    string // the actor's roles, comma-separated
	DeviceID     string
	Action       string // one of the Action constants
	ResourceType string // "user", "device" or "session"
	ResourceID   string
	Outcome      string // one of the Outcome constants
	ClientAddr   string // the client's address, for sign-in and refresh events
}

// EventRecorder stores security events (the audit log).
type EventRecorder interface {
	// RecordSecurityEvent stores e; an error when it cannot, which fails the operation that made e.
	RecordSecurityEvent(ctx context.Context, e SecurityEvent) error
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

// Security event outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure" // wrong credentials
	OutcomeDenied  = "denied"  // refused for another reason: revoked device, lock, reused token
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
	events   EventRecorder
	cfg      Config
	now      func() time.Time
	throttle *Throttle
	dummy    string        // a hash nothing matches, with cfg.Password's parameters
	slots    chan struct{} // limits concurrent password hashes (memory)
	auth     *authCache    // positive Authenticate outcomes; nil when disabled
}

// NewService returns a Service over store. now is the clock (nil: time.Now).
func NewService(store Store, issuer TokenIssuer, events EventRecorder, cfg Config, now func() time.Time) *Service {
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

// LoginRequest is a sign-in with a password from a device.
type LoginRequest struct {
	Username   string
	Password   string
	DeviceID   string // chosen by the app, stable per installation
	DeviceName string // shown to admins ("Pixel 8 of A. Smith"); optional
	ClientAddr string // the client's address, for throttling
}

// Login signs a user in on a device and starts a session. It returns:
// a *LockedError when the account from this address, the account, or the address is locked (see
// LockAfterFailures; tried before anything else);
// an *apperr.Error Invalid for missing or malformed fields;
// ErrBadCredentials for an unknown user, a disabled user or a wrong password (all alike, equally
// slow, and each counted as a throttle failure);
// ErrDeviceRevoked when the device was revoked; or the store's, issuer's or recorder's error.
func (s *Service) Login(ctx context.Context, req LoginRequest) (Tokens, Principal, error) {
	now := s.clock()
	username := NormalizeUsername(req.Username)
	var fe fieldErrors
	fe.Required("username", username)
	fe.MaxLength("username", username, 254)
	fe.Required("password", req.Password)
	fe.MaxLength("password", req.Password, 1024)
	fe.deviceID("device_id", req.DeviceID)
	fe.MaxLength("device_name", req.DeviceName, maxDeviceNameLen)
	if err := fe.Err(); err != nil {
		return Tokens{}, Principal{}, err
	}
	keys := []string{PairKey(username, req.ClientAddr), AccountKey(username), AddressKey(req.ClientAddr)}
	if err := s.throttle.Check(ctx, now, keys...); err != nil {
		var locked *LockedError
		if errors.As(err, &locked) {
			if rerr := s.record(ctx, SecurityEvent{DeviceID: req.DeviceID, Action: ActionLoginFailed,
				ResourceType: ResourceUser, Outcome: OutcomeDenied, ClientAddr: req.ClientAddr}); rerr != nil {
				return Tokens{}, Principal{}, rerr
			}
		}
		return Tokens{}, Principal{}, err
	}

	u, err := s.store.UserByUsername(ctx, username)
	known := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Tokens{}, Principal{}, fmt.Errorf("reading the user: %w", err)
	}
	hash := s.dummy
	if known && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	ok, err := s.verify(ctx, hash, req.Password)
	if err != nil {
		return Tokens{}, Principal{}, err
	}
	if !known || u.Disabled || u.PasswordHash == "" || !ok {
		if !known {
			u = User{}
		}
		return Tokens{}, Principal{}, s.loginFailed(ctx, now, keys, u, req)
	}

	d, err := s.store.Device(ctx, u.OrgID, req.DeviceID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Tokens{}, Principal{}, fmt.Errorf("reading the device: %w", err)
	}
	if err == nil && d.RevokedAt != nil {
		return Tokens{}, Principal{}, s.loginOnRevokedDevice(ctx, u, req)
	}
	if err := s.throttle.Succeed(ctx, keys[0], keys[1]); err != nil {
		return Tokens{}, Principal{}, err
	}
	d, err = s.store.UpsertDevice(ctx, Device{ID: req.DeviceID, OrgID: u.OrgID, UserID: u.ID,
		Name: strings.TrimSpace(req.DeviceName), CreatedAt: now, LastSeenAt: now})
	if err != nil {
		return Tokens{}, Principal{}, fmt.Errorf("recording the device: %w", err)
	}
	if d.RevokedAt != nil { // revoked between the check and the upsert
		return Tokens{}, Principal{}, s.loginOnRevokedDevice(ctx, u, req)
	}
	if err := s.rehashIfNeeded(ctx, u, req.Password, now); err != nil {
		return Tokens{}, Principal{}, err
	}
	tokens, p, err := s.startSession(ctx, u, d.ID, now)
	if err != nil {
		return Tokens{}, Principal{}, err
	}
	e := eventBy(p, ActionLogin, ResourceSession, p.SessionID, OutcomeSuccess)
	e.ClientAddr = req.ClientAddr
	if err := s.record(ctx, e); err != nil {
		_ = s.store.RevokeSession(ctx, p.SessionID, now) // best effort: the tokens are never handed out
		return Tokens{}, Principal{}, err
	}
	return tokens, p, nil
}

func (s *Service) loginFailed(ctx context.Context, now time.Time, keys []string, u User, req LoginRequest) error {
	locked, err := s.throttle.Fail(ctx, now, keys...)
	if err != nil {
		return err
	}
	e := SecurityEvent{OrgID: u.OrgID, ActorID: u.ID, ActorRole: roleList(u.Roles), DeviceID: req.DeviceID,
		Action: ActionLoginFailed, ResourceType: ResourceUser, ResourceID: u.ID, Outcome: OutcomeFailure, ClientAddr: req.ClientAddr}
	if err := s.record(ctx, e); err != nil {
		return err
	}
	if locked {
		e.Action, e.Outcome = ActionLocked, OutcomeDenied
		if err := s.record(ctx, e); err != nil {
			return err
		}
	}
	return ErrBadCredentials
}

func (s *Service) loginOnRevokedDevice(ctx context.Context, u User, req LoginRequest) error {
	e := SecurityEvent{OrgID: u.OrgID, ActorID: u.ID, ActorRole: roleList(u.Roles), DeviceID: req.DeviceID,
		Action: ActionLoginFailed, ResourceType: ResourceDevice, ResourceID: req.DeviceID, Outcome: OutcomeDenied, ClientAddr: req.ClientAddr}
	if err := s.record(ctx, e); err != nil {
		return err
	}
	return ErrDeviceRevoked
}

// rehashIfNeeded stores a new hash of pw when u's was made with other parameters than configured.
// A concurrent change of the user wins (the rehash is simply skipped).
func (s *Service) rehashIfNeeded(ctx context.Context, u User, pw string, now time.Time) error {
	if !NeedsRehash(u.PasswordHash, s.cfg.Password) {
		return nil
	}
	hash, err := s.hash(ctx, pw)
	if err != nil {
		return err
	}
	u.PasswordHash, u.UpdatedAt, u.Version = hash, now, u.Version+1
	if err := s.store.UpdateUser(ctx, u); err != nil && !errors.Is(err, ErrStale) {
		return fmt.Errorf("rehashing the password: %w", err)
	}
	return nil
}

// startSession creates a session for u on device deviceID and issues its first tokens.
func (s *Service) startSession(ctx context.Context, u User, deviceID string, now time.Time) (Tokens, Principal, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Tokens{}, Principal{}, fmt.Errorf("making a session id: %w", err)
	}
	refresh := newRefreshToken(id.String())
	sess := Session{ID: id.String(), OrgID: u.OrgID, UserID: u.ID, DeviceID: deviceID, TokenHash: hashToken(refresh),
		CreatedAt: now, RefreshedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL), Version: 1}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return Tokens{}, Principal{}, fmt.Errorf("creating the session: %w", err)
	}
	p := principalOf(u, deviceID, sess.ID)
	tokens, err := s.issue(p, refresh, sess.ExpiresAt)
	return tokens, p, err
}

func (s *Service) issue(p Principal, refresh string, refreshExpires time.Time) (Tokens, error) {
	access, exp, err := s.issuer.Issue(p)
	if err != nil {
		return Tokens{}, fmt.Errorf("issuing an access token: %w", err)
	}
	return Tokens{AccessToken: access, AccessExpiresAt: exp, RefreshToken: refresh, RefreshExpiresAt: refreshExpires, SessionID: p.SessionID}, nil
}

// Refresh exchanges a refresh token for new tokens, rotating the refresh token. It returns:
// ErrSessionInvalid for a malformed, unknown, expired or revoked token, a disabled user, or a token
// that was already rotated (which also revokes its session, so the newer token stops working too,
// and records auth.token_reuse); ErrDeviceRevoked when the session's device was revoked;
// or the store's, issuer's or recorder's error. clientAddr goes into the security events.
func (s *Service) Refresh(ctx context.Context, refreshToken, clientAddr string) (Tokens, Principal, error) {
	now := s.clock()
	id, ok := parseRefreshToken(refreshToken)
	if !ok {
		return Tokens{}, Principal{}, ErrSessionInvalid
	}
	sess, err := s.store.Session(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Tokens{}, Principal{}, ErrSessionInvalid
	}
	if err != nil {
		return Tokens{}, Principal{}, fmt.Errorf("reading the session: %w", err)
	}
	h := hashToken(refreshToken)
	current := equalHash(h, sess.TokenHash)
	previous := false
	for _, old := range sess.PreviousHash {
		previous = equalHash(h, old) || previous
	}
	if !current && !previous { // not a token this session ever had
		return Tokens{}, Principal{}, ErrSessionInvalid
	}
	d, err := s.store.Device(ctx, sess.OrgID, sess.DeviceID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Tokens{}, Principal{}, fmt.Errorf("reading the device: %w", err)
	}
	if err != nil || d.RevokedAt != nil {
		if err == nil {
			return Tokens{}, Principal{}, ErrDeviceRevoked
		}
		return Tokens{}, Principal{}, ErrSessionInvalid
	}
	if sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) {
		return Tokens{}, Principal{}, ErrSessionInvalid
	}
	u, err := s.store.UserByID(ctx, sess.OrgID, sess.UserID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Tokens{}, Principal{}, fmt.Errorf("reading the user: %w", err)
	}
	if err != nil || u.Disabled {
		return Tokens{}, Principal{}, ErrSessionInvalid
	}
	p := principalOf(u, sess.DeviceID, sess.ID)
	if !current {
		return Tokens{}, Principal{}, s.tokenReused(ctx, p, clientAddr, now)
	}
	next := newRefreshToken(sess.ID)
	err = s.store.RotateSession(ctx, sess.ID, sess.TokenHash, hashToken(next), now)
	if errors.Is(err, ErrStale) || errors.Is(err, ErrNotFound) {
		// Another request rotated this very token first: it was used twice.
		return Tokens{}, Principal{}, s.tokenReused(ctx, p, clientAddr, now)
	}
	if err != nil {
		return Tokens{}, Principal{}, fmt.Errorf("rotating the session: %w", err)
	}
	if _, err := s.store.UpsertDevice(ctx, Device{ID: d.ID, OrgID: d.OrgID, UserID: sess.UserID, CreatedAt: now, LastSeenAt: now}); err != nil {
		return Tokens{}, Principal{}, fmt.Errorf("recording the device: %w", err)
	}
	tokens, err := s.issue(p, next, sess.ExpiresAt)
	if err != nil {
		return Tokens{}, Principal{}, err
	}
	e := eventBy(p, ActionRefresh, ResourceSession, sess.ID, OutcomeSuccess)
	e.ClientAddr = clientAddr
	if err := s.record(ctx, e); err != nil {
		return Tokens{}, Principal{}, err
	}
	return tokens, p, nil
}

func (s *Service) tokenReused(ctx context.Context, p Principal, clientAddr string, now time.Time) error {
	defer s.auth.dropSession(p.SessionID)
	if err := s.store.RevokeSession(ctx, p.SessionID, now); err != nil {
		return fmt.Errorf("revoking a session whose token was reused: %w", err)
	}
	e := eventBy(p, ActionTokenReuse, ResourceSession, p.SessionID, OutcomeDenied)
	e.ClientAddr = clientAddr
	if err := s.record(ctx, e); err != nil {
		return err
	}
	return ErrSessionInvalid
}

// Logout ends p's session: its refresh token stops working at once, and so do access tokens checked
// with Authenticate. It returns the store's or the recorder's error.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if p.SessionID == "" {
		return nil
	}
	defer s.auth.dropSession(p.SessionID)
	if err := s.store.RevokeSession(ctx, p.SessionID, s.clock()); err != nil {
		return fmt.Errorf("revoking the session: %w", err)
	}
	return s.record(ctx, eventBy(p, ActionLogout, ResourceSession, p.SessionID, OutcomeSuccess))
}

// Authenticate checks, on every request, the principal taken from a verified access token: its
// device must not be revoked (ErrDeviceRevoked), its session must exist, be unexpired and unrevoked,
// and its user must exist and be enabled (ErrSessionInvalid otherwise). It returns the principal with
// the user's current username and roles, or the store's error. A principal that passed is cached
// for Config.AuthCacheTTL (failures never are): revocations and role changes made through this
// Service apply at once, those made by other instances within the TTL.
func (s *Service) Authenticate(ctx context.Context, p Principal) (Principal, error) {
	if p.SessionID == "" || p.DeviceID == "" || p.UserID == "" || p.OrgID == "" {
		return Principal{}, ErrSessionInvalid
	}
	now := s.clock()
	if cached, ok := s.auth.get(p, now); ok {
		return cached, nil
	}
	epoch := s.auth.begin() // before the reads: a drop after this keeps them out of the cache
	d, err := s.store.Device(ctx, p.OrgID, p.DeviceID)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrSessionInvalid
	}
	if err != nil {
		return Principal{}, fmt.Errorf("reading the device: %w", err)
	}
	if d.RevokedAt != nil {
		return Principal{}, ErrDeviceRevoked
	}
	sess, err := s.store.Session(ctx, p.SessionID)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrSessionInvalid
	}
	if err != nil {
		return Principal{}, fmt.Errorf("reading the session: %w", err)
	}
	if sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) || sess.UserID != p.UserID || sess.OrgID != p.OrgID || sess.DeviceID != p.DeviceID {
		return Principal{}, ErrSessionInvalid
	}
	u, err := s.store.UserByID(ctx, p.OrgID, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrSessionInvalid
	}
	if err != nil {
		return Principal{}, fmt.Errorf("reading the user: %w", err)
	}
	if u.Disabled {
		return Principal{}, ErrSessionInvalid
	}
	out := principalOf(u, p.DeviceID, p.SessionID)
	s.auth.put(epoch, out, now, sess.ExpiresAt)
	return out, nil
}

// Me returns the caller's user record (without the password hash): an *apperr.Error NotFound when it
// no longer exists, or the store's error.
func (s *Service) Me(ctx context.Context, p Principal) (User, error) {
	u, err := s.userOf(ctx, p.OrgID, p.UserID)
	if err != nil {
		return User{}, err
	}
	return u.public(), nil
}

// Devices returns the caller's devices, or with all every device of the organisation (admins and
// supervisors only: ErrForbidden for other roles). It returns the store's error.
func (s *Service) Devices(ctx context.Context, p Principal, all bool) ([]Device, error) {
	userID := p.UserID
	if all {
		if !p.HasAnyRole(RoleAdmin, RoleSupervisor) {
			return nil, ErrForbidden
		}
		userID = ""
	}
	ds, err := s.store.ListDevices(ctx, p.OrgID, userID)
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	return ds, nil
}

// RevokeDevice revokes a device of the caller (admins: any device of their organisation) and all its
// sessions at once; the app on it is told to wipe its data on its next request. Revoking a revoked
// device changes nothing. It returns the device; an *apperr.Error NotFound (wrapping ErrNotFound)
// for an unknown device, another organisation's, or (non-admins) another user's; or the store's or
// recorder's error.
func (s *Service) RevokeDevice(ctx context.Context, p Principal, deviceID string) (Device, error) {
	now := s.clock()
	d, err := s.store.Device(ctx, p.OrgID, deviceID)
	if errors.Is(err, ErrNotFound) || (err == nil && d.UserID != p.UserID && !p.HasRole(RoleAdmin)) {
		return Device{}, errDeviceNotFound(deviceID)
	}
	if err != nil {
		return Device{}, fmt.Errorf("reading the device: %w", err)
	}
	wasRevoked := d.RevokedAt != nil
	defer s.auth.dropDevice(p.OrgID, deviceID)
	if !wasRevoked {
		if err := s.store.RevokeDevice(ctx, p.OrgID, deviceID, now); err != nil {
			return Device{}, fmt.Errorf("revoking the device: %w", err)
		}
	}
	if err := s.store.RevokeDeviceSessions(ctx, p.OrgID, deviceID, now); err != nil {
		return Device{}, fmt.Errorf("revoking the device's sessions: %w", err)
	}
	if !wasRevoked {
		if err := s.record(ctx, eventBy(p, ActionDeviceRevoked, ResourceDevice, deviceID, OutcomeSuccess)); err != nil {
			return Device{}, err
		}
	}
	d, err = s.store.Device(ctx, p.OrgID, deviceID)
	if err != nil {
		return Device{}, fmt.Errorf("reading the device: %w", err)
	}
	return d, nil
}

// NewUser is an admin's request to create a user.
type NewUser struct {
	Username    string
	DisplayName string
	Roles       []Role
	Password    string
}

// CreateUser creates a user in the admin's organisation. It returns the user (without the password
// hash); ErrForbidden when p is not an admin; an *apperr.Error Invalid with field errors for a bad
// username, display name, roles or password (policy), or a username in use (code "taken", wrapping
// ErrUsernameTaken); or the store's or recorder's error.
func (s *Service) CreateUser(ctx context.Context, p Principal, nu NewUser) (User, error) {
	if !p.HasRole(RoleAdmin) {
		return User{}, ErrForbidden
	}
	return s.createUser(ctx, p.OrgID, nu, eventBy(p, ActionUserCreated, ResourceUser, "", OutcomeSuccess))
}

func (s *Service) createUser(ctx context.Context, orgID string, nu NewUser, e SecurityEvent) (User, error) {
	now := s.clock()
	username := NormalizeUsername(nu.Username)
	displayName := strings.TrimSpace(nu.DisplayName)
	var fe fieldErrors
	fe.username("username", username)
	fe.Required("display_name", displayName)
	fe.MaxLength("display_name", displayName, maxDisplayNameLen)
	roles := fe.roles("roles", nu.Roles)
	if err := CheckPasswordPolicy(username, nu.Password); err != nil {
		fe.FieldErrors = append(fe.FieldErrors, asFields(err)...)
	}
	if err := fe.Err(); err != nil {
		return User{}, err
	}
	hash, err := s.hash(ctx, nu.Password)
	if err != nil {
		return User{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return User{}, fmt.Errorf("making a user id: %w", err)
	}
	u := User{ID: id.String(), OrgID: orgID, Username: username, DisplayName: displayName, Roles: roles,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrUsernameTaken) {
			return User{}, errUsernameTaken()
		}
		return User{}, fmt.Errorf("creating the user: %w", err)
	}
	e.OrgID, e.ResourceID = orgID, u.ID
	if err := s.record(ctx, e); err != nil {
		return User{}, err
	}
	return u.public(), nil
}

// UserPage is one page of users. Next is the cursor of the following page ("" on the last one).
type UserPage struct {
	Users []User
	Next  string
}

// ListUsers returns up to limit users (0: DefaultPageSize, at most MaxPageSize) of the admin's
// organisation with ids after afterID, by id, without password hashes. It returns ErrForbidden when
// p is not an admin, or the store's error.
func (s *Service) ListUsers(ctx context.Context, p Principal, afterID string, limit int) (UserPage, error) {
	if !p.HasRole(RoleAdmin) {
		return UserPage{}, ErrForbidden
	}
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	us, err := s.store.ListUsers(ctx, p.OrgID, afterID, limit+1)
	if err != nil {
		return UserPage{}, fmt.Errorf("listing users: %w", err)
	}
	page := UserPage{Users: make([]User, 0, min(len(us), limit))}
	for i, u := range us {
		if i == limit {
			page.Next = page.Users[limit-1].ID
			break
		}
		page.Users = append(page.Users, u.public())
	}
	return page, nil
}

// UserUpdate changes some fields of a user; nil fields stay as they are.
type UserUpdate struct {
	DisplayName *string
	Roles       *[]Role
	Disabled    *bool
}

// UpdateUser changes a user of the admin's organisation whose current version is version, and
// returns it at its new version (an update that changes nothing returns the user as it is).
// Disabling a user also ends all their sessions. It returns ErrForbidden when p is not an admin;
// an *apperr.Error NotFound (wrapping ErrNotFound) for an unknown user or another organisation's;
// an *apperr.Error Conflict wrapping a *StaleError with the current user when version is not
// current; an *apperr.Error Invalid for bad values, or (code self_lockout) when an admin would
// disable themselves or drop their own admin role; or the store's or recorder's error.
func (s *Service) UpdateUser(ctx context.Context, p Principal, id string, upd UserUpdate, version int64) (User, error) {
	if !p.HasRole(RoleAdmin) {
		return User{}, ErrForbidden
	}
	now := s.clock()
	cur, err := s.userOf(ctx, p.OrgID, id)
	if err != nil {
		return User{}, err
	}
	if cur.Version != version {
		return User{}, errUserStale(cur.public())
	}
	next := cur
	var fe fieldErrors
	if upd.DisplayName != nil {
		next.DisplayName = strings.TrimSpace(*upd.DisplayName)
		fe.Required("display_name", next.DisplayName)
		fe.MaxLength("display_name", next.DisplayName, maxDisplayNameLen)
	}
	if upd.Roles != nil {
		next.Roles = fe.roles("roles", *upd.Roles)
	}
	if upd.Disabled != nil {
		next.Disabled = *upd.Disabled
	}
	if err := fe.Err(); err != nil {
		return User{}, err
	}
	if id == p.UserID && (next.Disabled || !next.HasRole(RoleAdmin)) {
		return User{}, errSelfLockout()
	}
	rolesChanged := roleList(next.Roles) != roleList(cur.Roles)
	disabled := next.Disabled && !cur.Disabled
	otherChange := next.DisplayName != cur.DisplayName || (!next.Disabled && cur.Disabled)
	if !rolesChanged && !disabled && !otherChange {
		return cur.public(), nil
	}
	next.Version, next.UpdatedAt = version+1, now
	if rolesChanged || disabled {
		defer s.auth.dropUser(p.OrgID, id)
	}
	if err := s.store.UpdateUser(ctx, next); err != nil {
		return User{}, s.updateFailed(ctx, p.OrgID, id, err)
	}
	if disabled {
		if err := s.store.RevokeUserSessions(ctx, p.OrgID, id, now); err != nil {
			return User{}, fmt.Errorf("ending the sessions of a disabled user: %w", err)
		}
	}
	for _, ev := range []struct {
		happened bool
		action   string
	}{{rolesChanged, ActionRoleChanged}, {disabled, ActionUserDisabled}, {otherChange, ActionUserUpdated}} {
		if !ev.happened {
			continue
		}
		if err := s.record(ctx, eventBy(p, ev.action, ResourceUser, id, OutcomeSuccess)); err != nil {
			return User{}, err
		}
	}
	return next.public(), nil
}

// updateFailed turns a failed Store.UpdateUser into the error for the client.
func (s *Service) updateFailed(ctx context.Context, orgID, id string, err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return errUserNotFound(id)
	case errors.Is(err, ErrStale):
		cur, rerr := s.userOf(ctx, orgID, id)
		if rerr != nil {
			return rerr
		}
		return errUserStale(cur.public())
	default:
		return fmt.Errorf("updating the user: %w", err)
	}
}

// ResetPassword sets a new password for a user of the admin's organisation, ends all the user's
// sessions and clears the account's sign-in lock. It returns the user at its new version;
// ErrForbidden when p is not an admin; an *apperr.Error NotFound for an unknown user or another
// organisation's; an *apperr.Error Invalid when the password breaks the policy; or the store's or
// recorder's error.
func (s *Service) ResetPassword(ctx context.Context, p Principal, id, newPassword string) (User, error) {
	if !p.HasRole(RoleAdmin) {
		return User{}, ErrForbidden
	}
	cur, err := s.userOf(ctx, p.OrgID, id)
	if err != nil {
		return User{}, err
	}
	if err := CheckPasswordPolicy(cur.Username, newPassword); err != nil {
		return User{}, err
	}
	hash, err := s.hash(ctx, newPassword)
	if err != nil {
		return User{}, err
	}
	now := s.clock()
	defer s.auth.dropUser(p.OrgID, id)
	for attempt := 0; ; attempt++ {
		next := cur
		next.PasswordHash, next.Version, next.UpdatedAt = hash, cur.Version+1, now
		err := s.store.UpdateUser(ctx, next)
		if err == nil {
			cur = next
			break
		}
		if !errors.Is(err, ErrStale) || attempt == 2 {
			return User{}, s.updateFailed(ctx, p.OrgID, id, err)
		}
		if cur, err = s.userOf(ctx, p.OrgID, id); err != nil { // changed meanwhile: apply to the new version
			return User{}, err
		}
	}
	if err := s.store.RevokeUserSessions(ctx, p.OrgID, id, now); err != nil {
		return User{}, fmt.Errorf("ending the sessions of the user: %w", err)
	}
	if err := s.throttle.Succeed(ctx, AccountKey(cur.Username)); err != nil {
		return User{}, err
	}
	if err := s.record(ctx, eventBy(p, ActionPasswordReset, ResourceUser, id, OutcomeSuccess)); err != nil {
		return User{}, err
	}
	return cur.public(), nil
}

// Bootstrap makes a fresh deployment usable: when no user exists at all it creates organisation
// "default" and user "admin" (role admin) with password, or with a generated one when password is
// "" (returned so the caller can show it once; it is stored only hashed). When users exist it does
// nothing and returns false. It returns an *apperr.Error Invalid when password breaks the policy,
// or the store's or recorder's error. Safe to run from several instances at once.
func (s *Service) Bootstrap(ctx context.Context, password string) (created bool, generatedPassword string, err error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return false, "", fmt.Errorf("counting users: %w", err)
	}
	if n > 0 {
		return false, "", nil
	}
	if password == "" {
		for CheckPasswordPolicy(BootstrapAdmin, generatedPassword) != nil {
			generatedPassword = rand.Text()
		}
		password = generatedPassword
	} else if err := CheckPasswordPolicy(BootstrapAdmin, password); err != nil {
		return false, "", err
	}
	err = s.store.CreateOrganisation(ctx, Organisation{ID: DefaultOrgID, Name: DefaultOrgName, CreatedAt: s.clock()})
	if err != nil && !errors.Is(err, ErrExists) {
		return false, "", fmt.Errorf("creating the default organisation: %w", err)
	}
	e := SecurityEvent{ActorRole: systemActorRoles, Action: ActionUserCreated, ResourceType: ResourceUser, Outcome: OutcomeSuccess}
	_, err = s.createUser(ctx, DefaultOrgID, NewUser{Username: BootstrapAdmin, DisplayName: "Administrator", Roles: []Role{RoleAdmin}, Password: password}, e)
	if errors.Is(err, ErrUsernameTaken) { // another instance bootstrapped at the same time
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	return true, generatedPassword, nil
}

// userOf reads a user of an organisation, turning ErrNotFound into the client's 404.
func (s *Service) userOf(ctx context.Context, orgID, id string) (User, error) {
	u, err := s.store.UserByID(ctx, orgID, id)
	if errors.Is(err, ErrNotFound) {
		return User{}, errUserNotFound(id)
	}
	if err != nil {
		return User{}, fmt.Errorf("reading user %s: %w", id, err)
	}
	return u, nil
}

func (s *Service) record(ctx context.Context, e SecurityEvent) error {
	if err := s.events.RecordSecurityEvent(ctx, e); err != nil {
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
	return Principal{UserID: u.ID, OrgID: u.OrgID, Username: u.Username, Roles: u.Roles, DeviceID: deviceID, SessionID: sessionID}
}

func eventBy(p Principal, action, resourceType, resourceID, outcome string) SecurityEvent {
	return SecurityEvent{OrgID: p.OrgID, ActorID: p.UserID, ActorRole: roleList(p.Roles), DeviceID: p.DeviceID,
		Action: action, ResourceType: resourceType, ResourceID: resourceID, Outcome: outcome}
}

// roleList names roles comma-separated.
func roleList(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// newRefreshToken returns "<sessionID>.<32 random bytes, unpadded base64url>".
func newRefreshToken(sessionID string) string {
	return sessionID + "." + base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return b
}

// parseRefreshToken returns the session id of a well-formed refresh token.
func parseRefreshToken(tok string) (string, bool) {
	id, secret, ok := strings.Cut(tok, ".")
	if !ok || id == "" || len(id) > 64 {
		return "", false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(secret)
	if err != nil || len(b) != 32 {
		return "", false
	}
	return id, true
}

// hashToken returns the SHA-256 of a refresh token, in hex: the only form the store keeps.
func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

func equalHash(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// HasRole reports whether user userID of organisation orgID exists, is enabled and has role. It
// returns the store's error when the store fails.
func (s *Service) HasRole(ctx context.Context, orgID, userID string, role Role) (bool, error) {
	u, err := s.store.UserByID(ctx, orgID, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading user %s: %w", userID, err)
	}
	return !u.Disabled && u.HasRole(role), nil
}
