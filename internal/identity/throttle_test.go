package identity

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// memThrottle is an in-memory ThrottleStore.
type memThrottle struct {
	mu   sync.Mutex
	keys map[string]memThrottleState
}

type memThrottleState struct {
	failures int
	last     time.Time
}

func (m *memThrottle) Failure(_ context.Context, key string, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = map[string]memThrottleState{}
	}
	s := m.keys[key]
	s.failures++
	s.last = now
	m.keys[key] = s
	return s.failures, nil
}

func (m *memThrottle) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, key)
	return nil
}

func (m *memThrottle) State(_ context.Context, key string) (int, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.keys[key]
	return s.failures, s.last, nil
}

func TestLockDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {1, 0}, {4, 0},
		{5, time.Minute}, {6, 2 * time.Minute}, {7, 4 * time.Minute}, {8, 8 * time.Minute},
		{10, 32 * time.Minute}, {11, time.Hour}, {12, time.Hour}, {1000, time.Hour},
	}
	for _, tc := range tests {
		if got := LockDuration(tc.failures); got != tc.want {
			t.Errorf("LockDuration(%d) = %s, want %s", tc.failures, got, tc.want)
		}
	}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if got := LockedUntil(4, t0); !got.IsZero() {
		t.Errorf("LockedUntil(4) = %s, want zero", got)
	}
	if got := LockedUntil(6, t0); !got.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("LockedUntil(6) = %s", got)
	}
}

// TestThrottleTimeline plays failures and checks against one key at injected times.
func TestThrottleTimeline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	th := NewThrottle(&memThrottle{})
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if key := AccountKey(" ASmith "); key != "user:asmith" {
		t.Fatalf("AccountKey = %q", key)
	}
	key := PairKey(" ASmith ", "192.0.2.7")
	if key != "pair:192.0.2.7 asmith" {
		t.Fatalf("PairKey = %q", key)
	}
	steps := []struct {
		name      string
		at        time.Duration // after t0
		fail      bool          // record a failure (else check)
		succeed   bool          // reset the key
		wantLock  bool          // Fail reported a lock
		wantRetry time.Duration // Check's RetryAfter (0: not locked)
	}{
		{name: "failure 1", at: 0, fail: true},
		{name: "failure 2", at: time.Second, fail: true},
		{name: "failure 3", at: 2 * time.Second, fail: true},
		{name: "failure 4", at: 3 * time.Second, fail: true},
		{name: "not locked after 4", at: 3 * time.Second},
		{name: "failure 5 locks", at: 4 * time.Second, fail: true, wantLock: true},
		{name: "locked for a minute", at: 4 * time.Second, wantRetry: time.Minute},
		{name: "remaining time rounds up", at: 34*time.Second + 500*time.Millisecond, wantRetry: 30 * time.Second},
		{name: "unlocked after a minute", at: 64 * time.Second},
		{name: "failure 6 locks for 2 minutes", at: 70 * time.Second, fail: true, wantLock: true},
		{name: "locked for 2 minutes", at: 70 * time.Second, wantRetry: 2 * time.Minute},
		{name: "still locked", at: 189 * time.Second, wantRetry: time.Second},
		{name: "unlocked after 2 minutes", at: 190 * time.Second},
		{name: "failure 7 locks for 4 minutes", at: 200 * time.Second, fail: true, wantLock: true},
		{name: "locked for 4 minutes", at: 200 * time.Second, wantRetry: 4 * time.Minute},
		{name: "success resets", at: 500 * time.Second, succeed: true},
		{name: "not locked after reset", at: 500 * time.Second},
		{name: "one failure after reset does not lock", at: 501 * time.Second, fail: true},
	}
	for _, st := range steps {
		now := t0.Add(st.at)
		switch {
		case st.fail:
			locked, err := th.Fail(ctx, now, key, "")
			if err != nil || locked != st.wantLock {
				t.Fatalf("%s: Fail = %v, %v; want %v", st.name, locked, err, st.wantLock)
			}
		case st.succeed:
			if err := th.Succeed(ctx, key); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		default:
			err := th.Check(ctx, now, "", key)
			var locked *LockedError
			if st.wantRetry == 0 && err != nil {
				t.Fatalf("%s: Check = %v, want nil", st.name, err)
			}
			if st.wantRetry != 0 && (!errors.As(err, &locked) || locked.RetryAfter != st.wantRetry) {
				t.Fatalf("%s: Check = %v, want a lock of %s", st.name, err, st.wantRetry)
			}
		}
	}
}

func TestThrottleCapsAndForgets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &memThrottle{}
	th := NewThrottle(store)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	key := PairKey("asmith", "192.0.2.7")
	now := t0
	for range 20 { // each failure right after the previous lock ends
		if _, err := th.Fail(ctx, now, key); err != nil {
			t.Fatal(err)
		}
		failures, last, _ := store.State(ctx, key)
		now = LockedUntil(failures, last)
		if now.IsZero() {
			now = last.Add(time.Second)
		}
	}
	var locked *LockedError
	if err := th.Check(ctx, now.Add(-time.Second), key); !errors.As(err, &locked) || locked.RetryAfter != time.Second {
		t.Fatalf("Check before the end of a capped lock = %v", err)
	}
	failures, last, _ := store.State(ctx, key)
	if d := LockedUntil(failures, last).Sub(last); d != MaxLock {
		t.Fatalf("lock after %d failures lasts %s, want %s", failures, d, MaxLock)
	}
	// A day without failures: the counter starts again, so one failure does not lock.
	later := last.Add(ForgetFailuresAfter + time.Minute)
	if err := th.Check(ctx, later, key); err != nil {
		t.Fatalf("Check after a quiet day = %v", err)
	}
	locked2, err := th.Fail(ctx, later, key)
	if err != nil || locked2 {
		t.Fatalf("first failure after a quiet day locked: %v, %v", locked2, err)
	}
	if n, _, _ := store.State(ctx, key); n != 1 {
		t.Fatalf("failures after a quiet day = %d, want 1", n)
	}
	if AddressKey("") != "" {
		t.Fatal("an unknown address has a key")
	}
}

// An account from one address locks after LockAfterFailures, the account everywhere only after
// AccountLockAfterFailures, an address for everyone only after AddressLockAfterFailures.
func TestThrottleLocksEachKindOfKeyAtItsCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		key   string
		after int
	}{
		{"account from an address", PairKey("asmith", "192.0.2.7"), LockAfterFailures},
		{"account", AccountKey("asmith"), AccountLockAfterFailures},
		{"address", AddressKey("192.0.2.7"), AddressLockAfterFailures},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			th := NewThrottle(&memThrottle{})
			for i := 1; i <= tt.after; i++ {
				locked, err := th.Fail(ctx, t0, tt.key)
				if err != nil || locked != (i == tt.after) {
					t.Fatalf("failure %d: locked %v, %v", i, locked, err)
				}
				if err := th.Check(ctx, t0, tt.key); (err != nil) != (i == tt.after) {
					t.Fatalf("check after failure %d: %v", i, err)
				}
			}
		})
	}
	if PairKey("asmith", "") != "" {
		t.Fatal("an unknown address has a pair key")
	}
}
