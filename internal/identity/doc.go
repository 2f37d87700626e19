// Package identity holds organisations (the deploying agencies), their users and roles, the devices
// users sign in from, refresh-token sessions, password hashing and login throttling. Access tokens
// themselves are made and checked by a TokenIssuer (the jwtauth adapter).
//
// Service.Authenticate, run on every request, caches the principals that passed its checks per
// session for a few seconds (Config.AuthCacheTTL, default 5s; failures are never cached). The
// Service's own revoking operations (logout, device revocation, password reset, disabling a user,
// role changes, refresh-token reuse) drop the affected entries, so revocation takes effect at once
// on the instance that performs it and within AuthCacheTTL on the others.
//
// Errors for clients: validation failures, unknown records (404, also for other organisations'
// records) and stale versions (409, with the current record in a *StaleError) are *apperr.Error
// values. Sign-in and authorization refusals have no apperr kind yet and are typed here instead:
// the Denial constants ErrBadCredentials, ErrSessionInvalid, ErrDeviceRevoked (401; the last tells
// the app to wipe its local data) and ErrForbidden (403), and *LockedError (429 with Retry-After).
package identity
