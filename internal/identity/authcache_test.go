package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
)

// fakeStore is an in-memory Store with the methods Authenticate and the revoking operations use
// (the others panic through the nil embedded Store). It counts the reads Authenticate makes.
type fakeStore struct {
	Store
	throttle memThrottle

	mu       sync.Mutex
	reads    int
	users    map[string]User // by org/id
	devices  map[string]Device
	sessions map[string]Session
	onUser   func() // called (without mu) before UserByID returns; nil: nothing
}

func newFakeStore() *fakeStore {
	return &fakeStore{users: map[string]User{}, devices: map[string]Device{}, sessions: map[string]Session{}}
}

func (f *fakeStore) Failure(ctx context.Context, key string, now time.Time) (int, error) {
	return f.throttle.Failure(ctx, key, now)
}
func (f *fakeStore) Reset(ctx context.Context, key string) error { return f.throttle.Reset(ctx, key) }
func (f *fakeStore) State(ctx context.Context, key string) (int, time.Time, error) {
	return f.throttle.State(ctx, key)
}

func (f *fakeStore) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func (f *fakeStore) UserByID(_ context.Context, orgID, id string) (User, error) {
	f.mu.Lock()
	f.reads++
	u, ok := f.users[orgID+"/"+id]
	hook := f.onUser
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	if !ok {
		return User{}, ErrNotFound
	}
	u.Roles = slices.Clone(u.Roles)
	return u, nil
}

func (f *fakeStore) UpdateUser(_ context.Context, u User) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, ok := f.users[u.OrgID+"/"+u.ID]
	if !ok {
		return ErrNotFound
	}
	if cur.Version != u.Version-1 {
		return ErrStale
	}
	u.Roles = slices.Clone(u.Roles)
	f.users[u.OrgID+"/"+u.ID] = u
	return nil
}

func (f *fakeStore) Device(_ context.Context, orgID, id string) (Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	d, ok := f.devices[orgID+"/"+id]
	if !ok {
		return Device{}, ErrNotFound
	}
	return d, nil
}

func (f *fakeStore) RevokeDevice(_ context.Context, orgID, id string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.devices[orgID+"/"+id]
	if !ok {
		return ErrNotFound
	}
	if d.RevokedAt == nil {
		d.RevokedAt = &at
	}
	f.devices[orgID+"/"+id] = d
	return nil
}

func (f *fakeStore) Session(_ context.Context, id string) (Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	s, ok := f.sessions[id]
	if !ok {
		return Session{}, ErrNotFound
	}
	s.PreviousHash = slices.Clone(s.PreviousHash)
	return s, nil
}

func (f *fakeStore) revokeWhere(at time.Time, match func(Session) bool) {
	for id, s := range f.sessions {
		if s.RevokedAt == nil && match(s) {
			s.RevokedAt = &at
			f.sessions[id] = s
		}
	}
}

func (f *fakeStore) RevokeSession(_ context.Context, id string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revokeWhere(at, func(s Session) bool { return s.ID == id })
	return nil
}

func (f *fakeStore) RevokeDeviceSessions(_ context.Context, orgID, deviceID string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revokeWhere(at, func(s Session) bool { return s.OrgID == orgID && s.DeviceID == deviceID })
	return nil
}

func (f *fakeStore) RevokeUserSessions(_ context.Context, orgID, userID string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revokeWhere(at, func(s Session) bool { return s.OrgID == orgID && s.UserID == userID })
	return nil
}

// setSession changes a stored session directly, as another instance would.
func (f *fakeStore) setSession(id string, change func(*Session)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessions[id]
	change(&s)
	f.sessions[id] = s
}

// setUser changes a stored user directly, as another instance would.
func (f *fakeStore) setUser(orgID, id string, change func(*User)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[orgID+"/"+id]
	change(&u)
	f.users[orgID+"/"+id] = u
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type nopIssuer struct{}

func (nopIssuer) Issue(Principal) (string, time.Time, error) {
	return "", time.Time{}, errors.New("not in these tests")
}

type nopEvents struct{}

func (nopEvents) RecordEvent(context.Context, audit.Event) error { return nil }

// authFixture is a Service over a fakeStore holding organisation "o1" with admin alice (session
// s-alice on device d-alice) and caseworker bob (sessions s-bob1 on d-bob1 and s-bob2 on d-bob2).
type authFixture struct {
	t     *testing.T
	ctx   context.Context
	store *fakeStore
	clock *fakeClock
	svc   *Service
	alice Principal
	bob   Principal // on s-bob1
	bob2  Principal // on s-bob2
	// oldBobToken is a refresh token of s-bob1 that was already rotated.
	oldBobToken string
}

const testAuthTTL = 5 * time.Second

func newAuthFixture(t *testing.T, ttl time.Duration) *authFixture {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	st := newFakeStore()
	now := clock.Now()
	for _, u := range []User{
		{ID: "alice", OrgID: "o1", Username: "alice", Roles: []Role{RoleAdmin}, Version: 1},
		{ID: "bob", OrgID: "o1", Username: "bob", Roles: []Role{RoleCaseworker}, Version: 1},
	} {
		st.users[u.OrgID+"/"+u.ID] = u
	}
	old := newRefreshToken("s-bob1")
	for _, s := range []Session{
		{ID: "s-alice", OrgID: "o1", UserID: "alice", DeviceID: "d-alice"},
		{ID: "s-bob1", OrgID: "o1", UserID: "bob", DeviceID: "d-bob1", PreviousHash: []string{hashToken(old)}},
		{ID: "s-bob2", OrgID: "o1", UserID: "bob", DeviceID: "d-bob2"},
	} {
		s.TokenHash = hashToken(newRefreshToken(s.ID))
		s.CreatedAt, s.RefreshedAt, s.ExpiresAt, s.Version = now, now, now.Add(DefaultRefreshTTL), 1
		st.sessions[s.ID] = s
		st.devices["o1/"+s.DeviceID] = Device{ID: s.DeviceID, OrgID: "o1", UserID: s.UserID, CreatedAt: now, LastSeenAt: now}
	}
	svc := NewService(st, nopIssuer{}, nopEvents{}, Config{Password: PasswordParams{Memory: 64, Time: 1, Threads: 1}, AuthCacheTTL: ttl}, clock.Now)
	return &authFixture{t: t, ctx: context.Background(), store: st, clock: clock, svc: svc,
		alice:       Principal{UserID: "alice", OrgID: "o1", DeviceID: "d-alice", SessionID: "s-alice", Roles: []Role{RoleAdmin}},
		bob:         Principal{UserID: "bob", OrgID: "o1", DeviceID: "d-bob1", SessionID: "s-bob1"},
		bob2:        Principal{UserID: "bob", OrgID: "o1", DeviceID: "d-bob2", SessionID: "s-bob2"},
		oldBobToken: old}
}

// auth calls Authenticate and returns its result and how many store reads it made.
func (f *authFixture) auth(p Principal) (Principal, int, error) {
	f.t.Helper()
	before := f.store.readCount()
	got, err := f.svc.Authenticate(f.ctx, p)
	return got, f.store.readCount() - before, err
}

// mustAuth calls Authenticate, fails the test on an error, and checks the number of reads.
func (f *authFixture) mustAuth(what string, p Principal, wantReads int) Principal {
	f.t.Helper()
	got, reads, err := f.auth(p)
	if err != nil {
		f.t.Fatalf("%s: Authenticate: %v", what, err)
	}
	if reads != wantReads {
		f.t.Fatalf("%s: Authenticate made %d store reads, want %d", what, reads, wantReads)
	}
	return got
}

func TestAuthenticateCachesWithinTTL(t *testing.T) {
	t.Parallel()
	f := newAuthFixture(t, testAuthTTL)
	first := f.mustAuth("first call", f.bob, 3)
	if first.Username != "bob" || !slices.Equal(first.Roles, []Role{RoleCaseworker}) {
		t.Fatalf("principal %+v", first)
	}
	first.Roles[0] = RoleAdmin // a caller's change must not reach the cache
	for i := range 5 {
		got := f.mustAuth(fmt.Sprintf("call %d within the TTL", i), f.bob, 0)
		if !slices.Equal(got.Roles, []Role{RoleCaseworker}) || got.Username != "bob" || got.SessionID != "s-bob1" {
			t.Fatalf("cached principal %+v", got)
		}
		f.clock.Advance(time.Second - time.Millisecond)
	}
	f.clock.Advance(5 * time.Millisecond) // now past the TTL
	f.mustAuth("after the TTL", f.bob, 3)
	f.mustAuth("again within the new TTL", f.bob, 0)
	f.mustAuth("another session", f.bob2, 3)
}

func TestAuthenticateCacheDisabled(t *testing.T) {
	t.Parallel()
	f := newAuthFixture(t, -1)
	f.mustAuth("first call", f.bob, 3)
	f.mustAuth("second call", f.bob, 3)
}

func TestAuthenticateCacheDefaults(t *testing.T) {
	t.Parallel()
	f := newAuthFixture(t, 0)
	if f.svc.cfg.AuthCacheTTL != DefaultAuthCacheTTL || f.svc.cfg.AuthCacheSize != DefaultAuthCacheSize {
		t.Fatalf("config %+v", f.svc.cfg)
	}
	f.mustAuth("first call", f.bob, 3)
	f.mustAuth("second call", f.bob, 0)
}

// TestAuthenticateCacheChecks covers what the cache must not paper over.
func TestAuthenticateCacheChecks(t *testing.T) {
	t.Parallel()
	t.Run("claims must match the cached session", func(t *testing.T) {
		t.Parallel()
		f := newAuthFixture(t, testAuthTTL)
		f.mustAuth("bob", f.bob, 3)
		for _, forged := range []Principal{
			{UserID: "alice", OrgID: "o1", DeviceID: "d-bob1", SessionID: "s-bob1"},
			{UserID: "bob", OrgID: "o2", DeviceID: "d-bob1", SessionID: "s-bob1"},
			{UserID: "bob", OrgID: "o1", DeviceID: "d-bob2", SessionID: "s-bob1"},
		} {
			if _, _, err := f.auth(forged); err == nil {
				t.Errorf("forged principal %+v passed", forged)
			}
		}
	})
	t.Run("failures are not cached", func(t *testing.T) {
		t.Parallel()
		f := newAuthFixture(t, testAuthTTL)
		f.store.setUser("o1", "bob", func(u *User) { u.Disabled = true })
		if _, _, err := f.auth(f.bob); !errors.Is(err, ErrSessionInvalid) {
			t.Fatalf("disabled user: %v", err)
		}
		f.store.setUser("o1", "bob", func(u *User) { u.Disabled = false })
		f.mustAuth("re-enabled user", f.bob, 3)
	})
	t.Run("not past the session's expiry", func(t *testing.T) {
		t.Parallel()
		f := newAuthFixture(t, testAuthTTL)
		f.store.setSession("s-bob1", func(s *Session) { s.ExpiresAt = f.clock.Now().Add(2 * time.Second) })
		f.mustAuth("before expiry", f.bob, 3)
		f.clock.Advance(2 * time.Second)
		if _, _, err := f.auth(f.bob); !errors.Is(err, ErrSessionInvalid) {
			t.Fatalf("expired session: %v", err)
		}
	})
	t.Run("other instances' changes show within the TTL", func(t *testing.T) {
		t.Parallel()
		f := newAuthFixture(t, testAuthTTL)
		f.mustAuth("before", f.bob, 3)
		at := f.clock.Now()
		f.store.setSession("s-bob1", func(s *Session) { s.RevokedAt = &at }) // not through this Service
		f.mustAuth("within the TTL", f.bob, 0)
		f.clock.Advance(testAuthTTL)
		if _, _, err := f.auth(f.bob); !errors.Is(err, ErrSessionInvalid) {
			t.Fatalf("after the TTL: %v", err)
		}
	})
}

// TestAuthenticateCacheInvalidation checks that this Service's revoking operations apply at once,
// and drop only the entries they concern.
func TestAuthenticateCacheInvalidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		op        func(f *authFixture) error
		wantErr   error  // of bob's next Authenticate on s-bob1
		wantRoles []Role // when wantErr is nil
		bob2Kept  bool   // whether bob's other session stays cached
	}{
		{name: "logout", op: func(f *authFixture) error { return f.svc.Logout(f.ctx, f.bob) },
			wantErr: ErrSessionInvalid, bob2Kept: true},
		{name: "own device revoked", op: func(f *authFixture) error {
			_, err := f.svc.RevokeDevice(f.ctx, f.bob, "d-bob1")
			return err
		}, wantErr: ErrDeviceRevoked, bob2Kept: true},
		{name: "device revoked by an admin", op: func(f *authFixture) error {
			_, err := f.svc.RevokeDevice(f.ctx, f.alice, "d-bob1")
			return err
		}, wantErr: ErrDeviceRevoked, bob2Kept: true},
		{name: "password reset", op: func(f *authFixture) error {
			_, err := f.svc.ResetPassword(f.ctx, f.alice, "bob", "Fresh-tulip-2026")
			return err
		}, wantErr: ErrSessionInvalid},
		{name: "user disabled", op: func(f *authFixture) error {
			_, err := f.svc.UpdateUser(f.ctx, f.alice, "bob", UserUpdate{Disabled: new(true)}, 1)
			return err
		}, wantErr: ErrSessionInvalid},
		{name: "roles changed", op: func(f *authFixture) error {
			_, err := f.svc.UpdateUser(f.ctx, f.alice, "bob", UserUpdate{Roles: &[]Role{RoleSupervisor, RoleAuditor}}, 1)
			return err
		}, wantRoles: []Role{RoleSupervisor, RoleAuditor}},
		{name: "refresh token reused", op: func(f *authFixture) error {
			_, _, err := f.svc.Refresh(f.ctx, f.oldBobToken)
			if !errors.Is(err, ErrSessionInvalid) {
				return fmt.Errorf("refresh with a rotated token: %v", err)
			}
			return nil
		}, wantErr: ErrSessionInvalid, bob2Kept: true},
		{name: "display name changed", op: func(f *authFixture) error {
			_, err := f.svc.UpdateUser(f.ctx, f.alice, "bob", UserUpdate{DisplayName: new("Robert")}, 1)
			return err
		}, wantRoles: []Role{RoleCaseworker}, bob2Kept: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newAuthFixture(t, testAuthTTL)
			f.mustAuth("alice", f.alice, 3)
			f.mustAuth("bob", f.bob, 3)
			f.mustAuth("bob's other session", f.bob2, 3)
			f.mustAuth("bob cached", f.bob, 0)
			if err := tc.op(f); err != nil {
				t.Fatal(err)
			}
			got, _, err := f.auth(f.bob)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Authenticate after %s = %+v, %v; want %v", tc.name, got, err, tc.wantErr)
				}
			} else if err != nil || !slices.Equal(got.Roles, tc.wantRoles) {
				t.Fatalf("Authenticate after %s = %+v, %v; want roles %v", tc.name, got, err, tc.wantRoles)
			}
			f.mustAuth("alice is untouched", f.alice, 0)
			if _, reads, _ := f.auth(f.bob2); (reads == 0) != tc.bob2Kept {
				t.Fatalf("bob's other session made %d reads; kept = %v", reads, tc.bob2Kept)
			}
		})
	}
}

// TestAuthenticateRacingLogout checks that an Authenticate that read the session before a logout
// does not cache what it read.
func TestAuthenticateRacingLogout(t *testing.T) {
	t.Parallel()
	f := newAuthFixture(t, testAuthTTL)
	var once sync.Once
	f.store.onUser = func() { // the session and device were read: log out now
		once.Do(func() {
			if err := f.svc.Logout(f.ctx, f.bob); err != nil {
				t.Error(err)
			}
		})
	}
	if _, _, err := f.auth(f.bob); err != nil { // began before the logout: may pass
		t.Fatal(err)
	}
	if _, _, err := f.auth(f.bob); !errors.Is(err, ErrSessionInvalid) {
		t.Fatalf("Authenticate after the logout: %v", err)
	}
}

func TestAuthenticateConcurrent(t *testing.T) {
	t.Parallel()
	f := newAuthFixture(t, testAuthTTL)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 200 {
				_, _ = f.svc.Authenticate(f.ctx, []Principal{f.alice, f.bob, f.bob2}[i%3])
				if i%50 == 0 {
					f.clock.Advance(time.Second)
				}
			}
		})
	}
	wg.Go(func() {
		if _, err := f.svc.UpdateUser(f.ctx, f.alice, "bob", UserUpdate{Roles: &[]Role{RoleSupervisor}}, 1); err != nil {
			t.Error(err)
		}
		if err := f.svc.Logout(f.ctx, f.bob2); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if got, _, err := f.auth(f.bob); err != nil || !slices.Equal(got.Roles, []Role{RoleSupervisor}) {
		t.Fatalf("bob after the role change = %+v, %v", got, err)
	}
	if _, _, err := f.auth(f.bob2); !errors.Is(err, ErrSessionInvalid) {
		t.Fatalf("bob's logged-out session: %v", err)
	}
	if _, _, err := f.auth(f.alice); err != nil {
		t.Fatal(err)
	}
}

func TestAuthCacheBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := newAuthCache(time.Minute, 10)
	for i := range 25 {
		p := Principal{UserID: "u", OrgID: "o", DeviceID: "d", SessionID: fmt.Sprint("s", i)}
		c.put(c.begin(), p, now, now.Add(time.Hour))
		if len(c.entries) > 10 {
			t.Fatalf("%d entries after %d puts, want at most 10", len(c.entries), i+1)
		}
		if _, ok := c.get(p, now); !ok {
			t.Fatalf("entry %d missing right after put", i)
		}
	}
	// Expired entries go first.
	c = newAuthCache(time.Minute, 10)
	for i := range 10 {
		c.put(c.begin(), Principal{SessionID: fmt.Sprint("s", i)}, now.Add(time.Duration(i)*time.Second), now.Add(time.Hour))
	}
	later := now.Add(time.Minute + 5*time.Second) // s0 to s5 expired
	p := Principal{UserID: "u", OrgID: "o", DeviceID: "d", SessionID: "fresh"}
	c.put(c.begin(), p, later, later.Add(time.Hour))
	if len(c.entries) != 5 {
		t.Fatalf("%d entries, want s6 to s9 and the fresh one", len(c.entries))
	}
	if _, ok := c.get(Principal{SessionID: "s9"}, later); !ok {
		t.Fatal("an unexpired entry was evicted while expired ones were there")
	}
	// A drop between begin and put keeps the put out.
	e := c.begin()
	c.dropSession("unrelated")
	q := Principal{UserID: "u", OrgID: "o", DeviceID: "d", SessionID: "late"}
	c.put(e, q, later, later.Add(time.Hour))
	if _, ok := c.get(q, later); ok {
		t.Fatal("a put that began before a drop was cached")
	}
}
