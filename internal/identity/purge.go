package identity

import (
	"context"
	"fmt"
	"time"
)

// PurgeReport says what Purge deleted.
type PurgeReport struct {
	Sessions int64 // sessions whose refresh token had expired
	Counters int64 // sign-in failure counters older than ForgetFailuresAfter
}

// Purge deletes what can no longer matter: sessions whose refresh token expired (their tokens are
// refused either way) and sign-in failure counters whose last failure is older than
// ForgetFailuresAfter (the throttle already treats them as zero). Devices are kept: they are the
// record of which phones had access. It returns the store's error.
func (s *Service) Purge(ctx context.Context) (PurgeReport, error) {
	now := s.clock()
	var r PurgeReport
	var err error
	if r.Sessions, err = s.store.DeleteSessionsExpiredBefore(ctx, now); err != nil {
		return r, fmt.Errorf("purging expired sessions: %w", err)
	}
	if r.Counters, err = s.store.DeleteFailuresBefore(ctx, now.Add(-ForgetFailuresAfter)); err != nil {
		return r, fmt.Errorf("purging old sign-in failure counters: %w", err)
	}
	return r, nil
}

// PurgeEvery runs Purge at once and then every interval until ctx ends, logging what it deleted and
// its errors through logf (a log/slog method such as Logger.Info, with key-value pairs).
func (s *Service) PurgeEvery(ctx context.Context, interval time.Duration, logf func(msg string, args ...any)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		r, err := s.Purge(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logf("purging expired sign-in records failed", "error", err.Error())
		case r.Sessions+r.Counters > 0:
			logf("purged expired sign-in records", "sessions", r.Sessions, "failure_counters", r.Counters)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
