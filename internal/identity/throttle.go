package identity

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Throttling rules: a sign-in counts failures under three keys: the account from the client's
// address (PairKey), the account from anywhere (AccountKey) and the address for any account
// (AddressKey). After LockAfterFailures consecutive failures of an account from one address, that
// account is locked there for FirstLock, doubling with each further failure up to MaxLock; the
// account is locked everywhere only after AccountLockAfterFailures (guessing from many addresses),
// and an address for every account only after AddressLockAfterFailures (spraying many names), so
// one person's typos, or names nobody has, never lock out colleagues signing in from the same office
// or proxy address. A key whose last failure is older than ForgetFailuresAfter starts again from
// zero (so an office address does not drift towards hour-long locks over weeks of occasional typos).
const (
	LockAfterFailures        = 5
	AccountLockAfterFailures = 20
	AddressLockAfterFailures = 100
	FirstLock                = time.Minute
	MaxLock                  = time.Hour
	ForgetFailuresAfter      = 24 * time.Hour
)

// ThrottleStore keeps failure counters per key.
type ThrottleStore interface {
	// Failure adds one failure to key, records now as its last failure and returns the new count.
	Failure(ctx context.Context, key string, now time.Time) (failures int, err error)
	// Reset forgets key's failures.
	Reset(ctx context.Context, key string) error
	// State returns key's failure count and last failure time (0 and the zero time for an unknown key).
	State(ctx context.Context, key string) (failures int, lastFailure time.Time, err error)
}

// AccountKey returns the throttle key of an account: "user:" and the lower-cased username.
func AccountKey(username string) string { return "user:" + NormalizeUsername(username) }

// AddressKey returns the throttle key of a client address ("addr:" and the address), or "" when the
// address is unknown.
func AddressKey(addr string) string {
	if addr == "" {
		return ""
	}
	return "addr:" + addr
}

// PairKey returns the throttle key of an account signing in from a client address ("pair:", the
// address, a space and the lower-cased username), or "" when the address is unknown.
func PairKey(username, addr string) string {
	if addr == "" {
		return ""
	}
	return "pair:" + addr + " " + NormalizeUsername(username)
}

// lockAfter is the number of failures that locks key: AddressLockAfterFailures for an address,
// AccountLockAfterFailures for an account, LockAfterFailures for an account from an address.
func lockAfter(key string) int {
	switch {
	case strings.HasPrefix(key, "addr:"):
		return AddressLockAfterFailures
	case strings.HasPrefix(key, "user:"):
		return AccountLockAfterFailures
	}
	return LockAfterFailures
}

// LockDuration returns how long a key with failures consecutive failures stays locked after its last
// failure when LockAfterFailures lock it (an account from an address): 0 below, then FirstLock
// doubling per further failure, at most MaxLock.
func LockDuration(failures int) time.Duration { return lockDuration(failures, LockAfterFailures) }

func lockDuration(failures, after int) time.Duration {
	if failures < after {
		return 0
	}
	d := FirstLock
	for i := after; i < failures && d < MaxLock; i++ {
		d *= 2
	}
	return min(d, MaxLock)
}

// LockedUntil returns when a key locked by LockAfterFailures (an account from an address) with
// failures failures, the last at lastFailure, unlocks (the zero time when it is not locked at all).
func LockedUntil(failures int, lastFailure time.Time) time.Time {
	return lockedUntil(failures, LockAfterFailures, lastFailure)
}

func lockedUntil(failures, after int, lastFailure time.Time) time.Time {
	d := lockDuration(failures, after)
	if d == 0 {
		return time.Time{}
	}
	return lastFailure.Add(d)
}

// Throttle limits sign-in attempts per account from an address, per account and per client address.
type Throttle struct {
	store ThrottleStore
}

// NewThrottle returns a Throttle keeping its counters in store.
func NewThrottle(store ThrottleStore) *Throttle { return &Throttle{store: store} }

// Check returns a *LockedError when any of keys ("" keys are skipped) is locked at now, with the
// longest remaining time; nil when none is; or the store's error.
func (t *Throttle) Check(ctx context.Context, now time.Time, keys ...string) error {
	var wait time.Duration
	for _, key := range keys {
		if key == "" {
			continue
		}
		failures, last, err := t.store.State(ctx, key)
		if err != nil {
			return fmt.Errorf("reading the sign-in throttle: %w", err)
		}
		if forgotten(last, now) {
			continue
		}
		if until := lockedUntil(failures, lockAfter(key), last); now.Before(until) {
			wait = max(wait, until.Sub(now))
		}
	}
	if wait > 0 {
		return &LockedError{RetryAfter: (wait + time.Second - 1).Truncate(time.Second)} // rounded up
	}
	return nil
}

func forgotten(last, now time.Time) bool {
	return !last.IsZero() && now.Sub(last) > ForgetFailuresAfter
}

// Fail records a failure at now for each of keys ("" keys are skipped) and reports whether any of
// them is locked as a result. It returns the store's error.
func (t *Throttle) Fail(ctx context.Context, now time.Time, keys ...string) (locked bool, err error) {
	for _, key := range keys {
		if key == "" {
			continue
		}
		_, last, err := t.store.State(ctx, key)
		if err != nil {
			return locked, fmt.Errorf("reading the sign-in throttle: %w", err)
		}
		if forgotten(last, now) {
			if err := t.store.Reset(ctx, key); err != nil {
				return locked, fmt.Errorf("resetting the sign-in throttle: %w", err)
			}
		}
		failures, err := t.store.Failure(ctx, key, now)
		if err != nil {
			return locked, fmt.Errorf("recording a sign-in failure: %w", err)
		}
		if failures >= lockAfter(key) {
			locked = true
		}
	}
	return locked, nil
}

// Succeed forgets the failures of keys ("" keys are skipped; after a successful sign-in, the
// account's keys: address keys are never reset by a success). It returns the store's error.
func (t *Throttle) Succeed(ctx context.Context, keys ...string) error {
	for _, key := range keys {
		if key == "" {
			continue
		}
		if err := t.store.Reset(ctx, key); err != nil {
			return fmt.Errorf("resetting the sign-in throttle: %w", err)
		}
	}
	return nil
}

// NormalizeUsername returns username trimmed and lower-cased, the form usernames are stored in.
func NormalizeUsername(username string) string { return strings.ToLower(strings.TrimSpace(username)) }
