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

	"github.com/childsafe-protocols/caseguide/internal/audit"
)

// LoginRequest is a sign-in with a password from a device.
type LoginRequest struct {
	Username   string
	Password   string
	DeviceID   string // chosen by the app, stable per installation
	DeviceName string // shown to admins ("Pixel 8 of A. Smith"); optional
	ClientAddr string // the client's address, for throttling
	// SessionTTL is the absolute lifetime of the session (0: Config.RefreshTTL); the console's
	// sessions are shorter than the apps'.
	SessionTTL time.Duration
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
			if rerr := s.record(ctx, audit.Event{DeviceID: req.DeviceID, Action: ActionLoginFailed,
				ResourceType: ResourceUser, Outcome: audit.OutcomeDenied}); rerr != nil {
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
	ttl := s.cfg.RefreshTTL
	if req.SessionTTL > 0 {
		ttl = min(req.SessionTTL, ttl)
	}
	tokens, p, err := s.startSession(ctx, u, d.ID, now, ttl)
	if err != nil {
		return Tokens{}, Principal{}, err
	}
	e := eventBy(p, ActionLogin, ResourceSession, p.SessionID, audit.OutcomeSuccess)
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
	e := audit.Event{OrgID: u.OrgID, ActorID: u.ID, ActorRole: roleList(u.Roles), DeviceID: req.DeviceID,
		Action: ActionLoginFailed, ResourceType: ResourceUser, ResourceID: u.ID, Outcome: audit.OutcomeFailure}
	if err := s.record(ctx, e); err != nil {
		return err
	}
	if locked {
		e.Action, e.Outcome = ActionLocked, audit.OutcomeDenied
		if err := s.record(ctx, e); err != nil {
			return err
		}
	}
	return ErrBadCredentials
}

func (s *Service) loginOnRevokedDevice(ctx context.Context, u User, req LoginRequest) error {
	e := audit.Event{OrgID: u.OrgID, ActorID: u.ID, ActorRole: roleList(u.Roles), DeviceID: req.DeviceID,
		Action: ActionLoginFailed, ResourceType: ResourceDevice, ResourceID: req.DeviceID, Outcome: audit.OutcomeDenied}
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
func (s *Service) startSession(ctx context.Context, u User, deviceID string, now time.Time, ttl time.Duration) (Tokens, Principal, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Tokens{}, Principal{}, fmt.Errorf("making a session id: %w", err)
	}
	refresh := newRefreshToken(id.String())
	sess := Session{ID: id.String(), OrgID: u.OrgID, UserID: u.ID, DeviceID: deviceID, TokenHash: hashToken(refresh),
		CreatedAt: now, RefreshedAt: now, ExpiresAt: now.Add(ttl), Version: 1}
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
// or the store's, issuer's or recorder's error.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Tokens, Principal, error) {
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
		return Tokens{}, Principal{}, s.tokenReused(ctx, p, now)
	}
	next := newRefreshToken(sess.ID)
	err = s.store.RotateSession(ctx, sess.ID, sess.TokenHash, hashToken(next), now)
	if errors.Is(err, ErrStale) || errors.Is(err, ErrNotFound) {
		// Another request rotated this very token first: it was used twice.
		return Tokens{}, Principal{}, s.tokenReused(ctx, p, now)
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
	e := eventBy(p, ActionRefresh, ResourceSession, sess.ID, audit.OutcomeSuccess)
	if err := s.record(ctx, e); err != nil {
		return Tokens{}, Principal{}, err
	}
	return tokens, p, nil
}

func (s *Service) tokenReused(ctx context.Context, p Principal, now time.Time) error {
	defer s.auth.dropSession(p.SessionID)
	if err := s.store.RevokeSession(ctx, p.SessionID, now); err != nil {
		return fmt.Errorf("revoking a session whose token was reused: %w", err)
	}
	e := eventBy(p, ActionTokenReuse, ResourceSession, p.SessionID, audit.OutcomeDenied)
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
	return s.record(ctx, eventBy(p, ActionLogout, ResourceSession, p.SessionID, audit.OutcomeSuccess))
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
