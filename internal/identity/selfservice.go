package identity

import (
	"github.com/childsafe-protocols/caseguide/internal/audit"

	"context"
	"errors"
	"fmt"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// Self-service security event actions.
const (
	ActionPasswordChanged = "user.password_changed"
	ActionLocaleChanged   = "user.locale_changed"
)

// ChangePassword lets a signed-in user replace their own password: current must be their password
// now (a wrong one counts as a sign-in failure of the account, so it cannot be guessed faster than
// a sign-in), next must meet the password policy and differ from current. It clears
// User.PasswordChangeRequired and returns the user at its new version. It returns a *LockedError
// when the account is locked; an *apperr.Error Invalid with field errors (current_password:
// incorrect; new_password: the policy's codes, or same_as_current); ErrSessionInvalid when the user
// is gone or uses an external identity provider; or the store's or recorder's error.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string) (User, error) {
	now := s.clock()
	var fe fieldErrors
	fe.Required("current_password", current)
	fe.MaxLength("current_password", current, 1024)
	if err := fe.Err(); err != nil {
		return User{}, err
	}
	key := AccountKey(p.Username)
	if err := s.throttle.Check(ctx, now, key); err != nil {
		return User{}, err
	}
	u, err := s.store.UserByID(ctx, p.OrgID, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrSessionInvalid
	}
	if err != nil {
		return User{}, fmt.Errorf("reading the user: %w", err)
	}
	if u.PasswordHash == "" || u.Disabled {
		return User{}, ErrSessionInvalid
	}
	ok, err := s.verify(ctx, u.PasswordHash, current)
	if err != nil {
		return User{}, err
	}
	if !ok {
		if _, err := s.throttle.Fail(ctx, now, key); err != nil {
			return User{}, err
		}
		if err := s.record(ctx, eventBy(p, ActionPasswordChanged, ResourceUser, p.UserID, audit.OutcomeFailure)); err != nil {
			return User{}, err
		}
		return User{}, apperr.Validation(apperr.FieldError{Field: "current_password", Code: "incorrect", MessageID: "field.current_password_incorrect"})
	}
	if err := CheckPasswordPolicy(u.Username, next); err != nil {
		fields := asFields(err)
		for i := range fields {
			fields[i].Field = "new_password"
		}
		return User{}, apperr.Validation(fields...)
	}
	if next == current {
		return User{}, apperr.Validation(apperr.FieldError{Field: "new_password", Code: "same_as_current", MessageID: "field.new_password_same"})
	}
	hash, err := s.hash(ctx, next)
	if err != nil {
		return User{}, err
	}
	defer s.auth.dropUser(p.OrgID, p.UserID)
	u.PasswordHash, u.PasswordChangeRequired, u.Version, u.UpdatedAt = hash, false, u.Version+1, now
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return User{}, s.updateFailed(ctx, p.OrgID, p.UserID, err)
	}
	if err := s.throttle.Succeed(ctx, key); err != nil {
		return User{}, err
	}
	if err := s.record(ctx, eventBy(p, ActionPasswordChanged, ResourceUser, p.UserID, audit.OutcomeSuccess)); err != nil {
		return User{}, err
	}
	return u.public(), nil
}

// SetLocale stores the caller's preferred console language (a supported locale code, or "" to
// follow the browser; the caller checks the code). It returns the user at its new version; an
// *apperr.Error NotFound when the user is gone; or the store's or recorder's error. Setting the
// locale the user already has changes nothing.
func (s *Service) SetLocale(ctx context.Context, p Principal, locale string) (User, error) {
	defer s.auth.dropUser(p.OrgID, p.UserID) // principals carry the locale
	for attempt := 0; ; attempt++ {
		u, err := s.userOf(ctx, p.OrgID, p.UserID)
		if err != nil {
			return User{}, err
		}
		if u.Locale == locale {
			return u.public(), nil
		}
		u.Locale, u.Version, u.UpdatedAt = locale, u.Version+1, s.clock()
		err = s.store.UpdateUser(ctx, u)
		if errors.Is(err, ErrStale) && attempt < 2 {
			continue
		}
		if err != nil {
			return User{}, s.updateFailed(ctx, p.OrgID, p.UserID, err)
		}
		if err := s.record(ctx, eventBy(p, ActionLocaleChanged, ResourceUser, p.UserID, audit.OutcomeSuccess)); err != nil {
			return User{}, err
		}
		return u.public(), nil
	}
}

// touchEvery is how stale a web session's last activity may get before it is written again (a
// write per request would cost more than the idle timeout's precision is worth).
const touchEvery = time.Minute

// WebSession authenticates the console's session cookie, whose value is the refresh token Login
// returned (it is never rotated: the console sends no refresh). The token must be the session's
// current one; the session must be unrevoked, unexpired (its absolute lifetime) and used within
// idle; then the principal is checked as Authenticate does (device, user). A session idle for
// longer is revoked. Activity is recorded at most once a minute. It returns ErrSessionInvalid or
// ErrDeviceRevoked, or the store's error.
func (s *Service) WebSession(ctx context.Context, token string, idle time.Duration) (Principal, error) {
	now := s.clock()
	id, ok := parseRefreshToken(token)
	if !ok {
		return Principal{}, ErrSessionInvalid
	}
	sess, err := s.store.Session(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrSessionInvalid
	}
	if err != nil {
		return Principal{}, fmt.Errorf("reading the session: %w", err)
	}
	if !equalHash(hashToken(token), sess.TokenHash) || sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) {
		return Principal{}, ErrSessionInvalid
	}
	if idle > 0 && now.Sub(sess.RefreshedAt) > idle {
		s.auth.dropSession(sess.ID)
		if err := s.store.RevokeSession(ctx, sess.ID, now); err != nil {
			return Principal{}, fmt.Errorf("ending an idle session: %w", err)
		}
		return Principal{}, ErrSessionInvalid
	}
	p, err := s.Authenticate(ctx, Principal{UserID: sess.UserID, OrgID: sess.OrgID, DeviceID: sess.DeviceID, SessionID: sess.ID})
	if err != nil {
		return Principal{}, err
	}
	if now.Sub(sess.RefreshedAt) >= touchEvery {
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			return Principal{}, fmt.Errorf("recording the session's activity: %w", err)
		}
	}
	return p, nil
}

// DisplayNames returns the display names of the users of organisation orgID among ids (users of
// other organisations and unknown ids are left out), for showing who is who in lists. It returns
// the store's error.
func (s *Service) DisplayNames(ctx context.Context, orgID string, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		if _, done := out[id]; done || id == "" {
			continue
		}
		u, err := s.store.UserByID(ctx, orgID, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading user %s: %w", id, err)
		}
		out[id] = u.DisplayName
	}
	return out, nil
}
