package identity

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Throttling rules: after LockAfterFailures consecutive failures a key is locked for FirstLock,
// doubling with each further failure up to MaxLock. A key whose last failure is older than
// ForgetFailuresAfter starts again from zero (so an office address does not drift towards hour-long
// locks over weeks of occasional typos).
const (
	LockAfterFailures   = 5
	FirstLock           = time.Minute
	MaxLock             = time.Hour
	ForgetFailuresAfter = 24 * time.Hour
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

// LockDuration returns how long a key with failures consecutive failures stays locked after its last
// failure: 0 below LockAfterFailures, then FirstLock doubling per further failure, at most MaxLock.
func LockDuration(failures int) time.Duration {
	if failures < LockAfterFailures {
		return 0
	}
	d := FirstLock
	for i := LockAfterFailures; i < failures && d < MaxLock; i++ {
		d *= 2
	}
	return min(d, MaxLock)
}

// LockedUntil returns when a key with failures failures, the last at lastFailure, unlocks (the zero
// time when it is not locked at all).
func LockedUntil(failures int, lastFailure time.Time) time.Time {
	d := LockDuration(failures)
	if d == 0 {
		return time.Time{}
	}
	return lastFailure.Add(d)
}

// Throttle limits sign-in attempts per account and per client address.
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
		if until := LockedUntil(failures, last); now.Before(until) {
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
		if failures >= LockAfterFailures {
			locked = true
		}
	}
	return locked, nil
}

// Succeed forgets the failures of key (the account key after a successful sign-in; address keys are
// never reset by a success). It returns the store's error.
func (t *Throttle) Succeed(ctx context.Context, key string) error {
	if err := t.store.Reset(ctx, key); err != nil {
		return fmt.Errorf("resetting the sign-in throttle: %w", err)
	}
	return nil
}

// NormalizeUsername returns username trimmed and lower-cased, the form usernames are stored in.
func NormalizeUsername(username string) string { return strings.ToLower(strings.TrimSpace(username)) }
