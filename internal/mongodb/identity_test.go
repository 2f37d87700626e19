package mongodb_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// identityIssuer is a fake TokenIssuer: the "token" names the principal.
type identityIssuer struct{ clock *testClock }

func (i identityIssuer) Issue(p identity.Principal) (string, time.Time, error) {
	return "access." + p.UserID + "." + p.SessionID, i.clock.Now().Add(15 * time.Minute), nil
}

// identityEvents is an in-memory EventRecorder.
type identityEvents struct {
	eventLog
}

// count returns how many events with action were recorded.
func (r *identityEvents) count(action string) int {
	n := 0
	for _, e := range r.all() {
		if e.Action == action {
			n++
		}
	}
	return n
}

// last returns the last event with action.
func (r *identityEvents) last(action string) (audit.Event, bool) {
	events := r.all()
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Action == action {
			return events[i], true
		}
	}
	return audit.Event{}, false
}

type identityFixture struct {
	t      *testing.T
	ctx    context.Context
	db     *mongodb.DB
	store  *mongodb.IdentityStore
	clock  *testClock
	events *identityEvents
	svc    *identity.Service
}

// testPasswordParams keep argon2id cheap in tests; password_test.go in package identity covers the
// production parameters.
func testPasswordParams() identity.PasswordParams {
	return identity.PasswordParams{Memory: 64, Time: 1, Threads: 1}
}

// newIdentityFixture returns a Service over a fresh database, not bootstrapped.
func newIdentityFixture(t *testing.T) *identityFixture {
	t.Helper()
	ctx := context.Background()
	db := dbtest.Open(t)
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	events := &identityEvents{}
	svc := identity.NewService(db.Identity(), identityIssuer{clock}, events, identity.Config{Password: testPasswordParams()}, clock.Now)
	return &identityFixture{t: t, ctx: ctx, db: db, store: db.Identity(), clock: clock, events: events, svc: svc}
}

// bootstrap creates the default organisation and signs its admin in on device "admin-laptop".
func (f *identityFixture) bootstrap() identity.Principal {
	f.t.Helper()
	created, pw, err := f.svc.Bootstrap(f.ctx, "")
	if err != nil || !created || pw == "" {
		f.t.Fatalf("Bootstrap = %v, %q, %v", created, pw, err)
	}
	_, p := f.login("admin", pw, "admin-laptop")
	return p
}

// login signs username in from device, failing the test on error.
func (f *identityFixture) login(username, pw, device string) (identity.Tokens, identity.Principal) {
	f.t.Helper()
	tokens, p, err := f.svc.Login(f.ctx, identity.LoginRequest{Username: username, Password: pw, DeviceID: device, DeviceName: "Phone " + device, ClientAddr: "203.0.113.1"})
	if err != nil {
		f.t.Fatalf("login of %s on %s: %v", username, device, err)
	}
	return tokens, p
}

// createUser has admin create a user with one role and returns it.
func (f *identityFixture) createUser(admin identity.Principal, username string, role identity.Role) identity.User {
	f.t.Helper()
	u, err := f.svc.CreateUser(f.ctx, admin, identity.NewUser{Username: username, DisplayName: "User " + username, Roles: []identity.Role{role}, Password: userPassword(username)})
	if err != nil {
		f.t.Fatalf("creating %s: %v", username, err)
	}
	return u
}

// userPassword returns the password createUser gives username (it must not contain the username).
func userPassword(username string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(username)))
	return "Tulip-" + hex.EncodeToString(sum[:6])
}

func wantDenial(t *testing.T, what string, err error, want identity.Denial) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %s", what, err, want)
	}
}

func wantKind(t *testing.T, what string, err error, want apperr.Kind) *apperr.Error {
	t.Helper()
	e := apperr.As(err)
	if e == nil || e.Kind != want {
		t.Fatalf("%s: error %v, want an apperr of kind %s", what, err, want)
	}
	return e
}

func TestIdentityBootstrapCreatesOnce(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)

	if _, _, err := f.svc.Bootstrap(f.ctx, "short"); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("Bootstrap with a weak password = %v, want Invalid", err)
	}
	created, pw, err := f.svc.Bootstrap(f.ctx, "")
	if err != nil || !created || len(pw) < 12 {
		t.Fatalf("first Bootstrap = %v, %q, %v", created, pw, err)
	}
	for _, again := range []string{"", "another-strong-pw-9"} {
		created, pw2, err := f.svc.Bootstrap(f.ctx, again)
		if err != nil || created || pw2 != "" {
			t.Fatalf("second Bootstrap(%q) = %v, %q, %v; want nothing done", again, created, pw2, err)
		}
	}
	org, err := f.store.Organisation(f.ctx, identity.DefaultOrgID)
	if err != nil || org.Name != "Default organisation" {
		t.Fatalf("default organisation = %+v, %v", org, err)
	}
	if n, err := f.store.CountUsers(f.ctx); err != nil || n != 1 {
		t.Fatalf("CountUsers = %d, %v; want 1", n, err)
	}
	u, err := f.store.UserByUsername(f.ctx, "ADMIN")
	if err != nil || !u.HasRole(identity.RoleAdmin) || u.OrgID != identity.DefaultOrgID || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("admin = %+v, %v", u, err)
	}
	if _, p := f.login("admin", pw, "laptop"); !p.HasRole(identity.RoleAdmin) {
		t.Fatalf("admin principal %+v", p)
	}
	if e, ok := f.events.last(identity.ActionUserCreated); !ok || e.ResourceID != u.ID || e.ActorRole != "system" {
		t.Fatalf("user.created event = %+v, %v", e, ok)
	}
}

func TestIdentityBootstrapGivenPassword(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	created, pw, err := f.svc.Bootstrap(f.ctx, "given-strong-pw-9")
	if err != nil || !created || pw != "" {
		t.Fatalf("Bootstrap = %v, %q, %v; want created with no generated password", created, pw, err)
	}
	f.login("admin", "given-strong-pw-9", "laptop")
}

func TestIdentityLogin(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	admin := f.bootstrap()
	cw := f.createUser(admin, "Caseworker.One", identity.RoleCaseworker)
	off := f.createUser(admin, "leaver", identity.RoleCaseworker)
	if _, err := f.svc.UpdateUser(f.ctx, admin, off.ID, identity.UserUpdate{Disabled: new(true)}, off.Version); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		req       identity.LoginRequest
		wantErr   error       // a Denial, or nil
		wantKind  apperr.Kind // when the error is an apperr
		wantEvent string      // action recorded last
		wantRoles []identity.Role
	}{
		{name: "success", req: identity.LoginRequest{Username: "caseworker.one", Password: userPassword("caseworker.one"), DeviceID: "phone-a"},
			wantEvent: identity.ActionLogin, wantRoles: []identity.Role{identity.RoleCaseworker}},
		{name: "username in any case", req: identity.LoginRequest{Username: "  CaseWorker.ONE ", Password: userPassword("caseworker.one"), DeviceID: "phone-a"},
			wantEvent: identity.ActionLogin, wantRoles: []identity.Role{identity.RoleCaseworker}},
		{name: "wrong password", req: identity.LoginRequest{Username: "caseworker.one", Password: "wrong-password-1", DeviceID: "phone-a"},
			wantErr: identity.ErrBadCredentials, wantEvent: identity.ActionLoginFailed},
		{name: "unknown user", req: identity.LoginRequest{Username: "nobody", Password: "whatever-pw-12", DeviceID: "phone-a"},
			wantErr: identity.ErrBadCredentials, wantEvent: identity.ActionLoginFailed},
		{name: "disabled user with the right password", req: identity.LoginRequest{Username: "leaver", Password: userPassword("leaver"), DeviceID: "phone-a"},
			wantErr: identity.ErrBadCredentials, wantEvent: identity.ActionLoginFailed},
		{name: "missing device id", req: identity.LoginRequest{Username: "caseworker.one", Password: userPassword("caseworker.one")}, wantKind: apperr.Invalid},
		{name: "malformed device id", req: identity.LoginRequest{Username: "caseworker.one", Password: userPassword("caseworker.one"), DeviceID: "a b"}, wantKind: apperr.Invalid},
		{name: "missing password", req: identity.LoginRequest{Username: "caseworker.one", DeviceID: "phone-a"}, wantKind: apperr.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.ClientAddr = "198.51.100." + fmt.Sprint(len(tc.name)) // keep the address throttle out of the way
			tokens, p, err := f.svc.Login(f.ctx, tc.req)
			switch {
			case tc.wantKind != apperr.Internal:
				wantKind(t, "Login", err, tc.wantKind)
				return
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Login error %v, want %v", err, tc.wantErr)
				}
			case err != nil:
				t.Fatalf("Login: %v", err)
			default:
				if p.UserID != cw.ID || p.OrgID != cw.OrgID || p.Username != "caseworker.one" || p.DeviceID != "phone-a" || !slices.Equal(p.Roles, tc.wantRoles) {
					t.Fatalf("principal %+v", p)
				}
				if !regexp.MustCompile(`^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$`).MatchString(tokens.RefreshToken) || !strings.HasPrefix(tokens.RefreshToken, p.SessionID+".") {
					t.Fatalf("refresh token %q", tokens.RefreshToken)
				}
				sess, err := f.store.Session(f.ctx, p.SessionID)
				sum := sha256.Sum256([]byte(tokens.RefreshToken))
				if err != nil || sess.TokenHash != hex.EncodeToString(sum[:]) || sess.UserID != cw.ID || !sess.ExpiresAt.Equal(f.clock.Now().Add(identity.DefaultRefreshTTL)) {
					t.Fatalf("stored session %+v, %v", sess, err)
				}
				if tokens.AccessToken == "" || !tokens.RefreshExpiresAt.Equal(sess.ExpiresAt) || tokens.SessionID != p.SessionID {
					t.Fatalf("tokens %+v", tokens)
				}
				d, err := f.store.Device(f.ctx, cw.OrgID, "phone-a")
				if err != nil || d.UserID != cw.ID || d.RevokedAt != nil {
					t.Fatalf("device %+v, %v", d, err)
				}
			}
			if _, ok := f.events.last(tc.wantEvent); !ok {
				t.Fatalf("no %s event", tc.wantEvent)
			}
		})
	}
	if e, _ := f.events.last(identity.ActionLoginFailed); e.OrgID != off.OrgID || e.ActorID != off.ID {
		t.Fatalf("login_failed of a known user does not name them: %+v", e)
	}
}

func TestIdentityLoginFailsWhenEventsCannotBeRecorded(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	admin := f.bootstrap()
	f.createUser(admin, "case1", identity.RoleCaseworker)
	f.events.setFail(true)
	_, _, err := f.svc.Login(f.ctx, identity.LoginRequest{Username: "case1", Password: userPassword("case1"), DeviceID: "phone"})
	if err == nil || errors.Is(err, identity.ErrBadCredentials) {
		t.Fatalf("Login with a failing audit log = %v, want its error", err)
	}
}

func TestIdentityLoginLock(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	admin := f.bootstrap()
	f.createUser(admin, "case1", identity.RoleCaseworker)
	right := identity.LoginRequest{Username: "case1", Password: userPassword("case1"), DeviceID: "phone", ClientAddr: "203.0.113.50"}
	wrong := right
	wrong.Password = "not-the-password"

	type step struct {
		name      string
		advance   time.Duration
		req       identity.LoginRequest
		wantErr   error         // nil: success
		wantRetry time.Duration // for a *LockedError
	}
	var steps []step
	for i := 1; i <= 5; i++ {
		steps = append(steps, step{name: fmt.Sprintf("failure %d", i), advance: time.Second, req: wrong, wantErr: identity.ErrBadCredentials})
	}
	steps = append(steps,
		step{name: "locked even with the right password", advance: 10 * time.Second, req: right, wantRetry: 50 * time.Second},
		step{name: "unlocked after a minute", advance: 51 * time.Second, req: right},
	)
	// The success reset the account key, not the address key: four more failures from another
	// address do not lock the account.
	elsewhere := wrong
	elsewhere.ClientAddr = "203.0.113.60"
	for i := 1; i <= 4; i++ {
		steps = append(steps, step{name: fmt.Sprintf("failure %d after reset", i), advance: time.Second, req: elsewhere, wantErr: identity.ErrBadCredentials})
	}
	steps = append(steps, step{name: "not locked after four", advance: time.Second, req: right})
	for _, st := range steps {
		f.clock.Advance(st.advance)
		_, _, err := f.svc.Login(f.ctx, st.req)
		var locked *identity.LockedError
		switch {
		case st.wantRetry != 0:
			if !errors.As(err, &locked) || locked.RetryAfter != st.wantRetry {
				t.Fatalf("%s: error %v, want a lock of %s", st.name, err, st.wantRetry)
			}
		case st.wantErr != nil:
			if !errors.Is(err, st.wantErr) {
				t.Fatalf("%s: error %v, want %v", st.name, err, st.wantErr)
			}
		case err != nil:
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	if got := f.events.count(identity.ActionLocked); got != 1 {
		t.Fatalf("auth.locked recorded %d times before the address lock, want 1", got)
	}
	// The first address counts its failures for any account, but locks every account only at
	// AddressLockAfterFailures: a failure for another name does not keep this account out.
	wrong.Username = "someone-else"
	if _, _, err := f.svc.Login(f.ctx, wrong); !errors.Is(err, identity.ErrBadCredentials) {
		t.Fatalf("sixth failure from the address: %v", err)
	}
	if _, _, err := f.svc.Login(f.ctx, right); err != nil {
		t.Fatalf("login from an address where another name failed = %v, want success", err)
	}
	if got := f.events.count(identity.ActionLocked); got != 1 {
		t.Fatalf("auth.locked recorded %d times, want 1", got)
	}
}

func TestIdentityRefreshRotation(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	admin := f.bootstrap()
	f.createUser(admin, "case1", identity.RoleCaseworker)
	t1, p := f.login("case1", userPassword("case1"), "phone")

	f.clock.Advance(15 * time.Minute)
	t2, p2, err := f.svc.Refresh(f.ctx, t1.RefreshToken)
	if err != nil {
		t.Fatalf("first refresh: %v", err)
	}
	if t2.RefreshToken == t1.RefreshToken || p2.SessionID != p.SessionID || !t2.RefreshExpiresAt.Equal(t1.RefreshExpiresAt) {
		t.Fatalf("refresh did not rotate within the session: %+v / %+v", t1, t2)
	}
	f.clock.Advance(15 * time.Minute)
	t3, _, err := f.svc.Refresh(f.ctx, t2.RefreshToken)
	if err != nil {
		t.Fatalf("second refresh: %v", err)
	}
	sess, err := f.store.Session(f.ctx, p.SessionID)
	if err != nil || len(sess.PreviousHash) != 2 || sess.Version != 3 || !sess.RefreshedAt.Equal(f.clock.Now()) {
		t.Fatalf("session after two rotations: %+v, %v", sess, err)
	}
	if got := f.events.count(identity.ActionRefresh); got != 2 {
		t.Fatalf("auth.refresh recorded %d times, want 2", got)
	}
	if _, err := f.svc.Authenticate(f.ctx, p2); err != nil {
		t.Fatalf("Authenticate during the session: %v", err)
	}

	for _, bad := range []string{"", "no-dot", p.SessionID + ".short", "00000000-0000-7000-8000-000000000000." + strings.Repeat("A", 43), p.SessionID + "." + strings.Repeat("A", 43)} {
		_, _, err := f.svc.Refresh(f.ctx, bad)
		wantDenial(t, fmt.Sprintf("refresh with %q", bad), err, identity.ErrSessionInvalid)
	}
	if _, err := f.svc.Authenticate(f.ctx, p2); err != nil {
		t.Fatalf("a forged token revoked the session: %v", err)
	}

	// Reusing the rotated t1 revokes the family: t3 stops working too.
	_, _, err = f.svc.Refresh(f.ctx, t1.RefreshToken)
	wantDenial(t, "reuse of a rotated token", err, identity.ErrSessionInvalid)
	e, ok := f.events.last(identity.ActionTokenReuse)
	if !ok || e.ResourceID != p.SessionID || e.Outcome != audit.OutcomeDenied {
		t.Fatalf("auth.token_reuse event = %+v, %v", e, ok)
	}
	_, _, err = f.svc.Refresh(f.ctx, t3.RefreshToken)
	wantDenial(t, "refresh with the newest token after reuse", err, identity.ErrSessionInvalid)
	_, err = f.svc.Authenticate(f.ctx, p2)
	wantDenial(t, "access after reuse", err, identity.ErrSessionInvalid)
}

func TestIdentitySessionEnds(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	admin := f.bootstrap()
	f.createUser(admin, "case1", identity.RoleCaseworker)

	t.Run("expiry", func(t *testing.T) {
		tokens, p := f.login("case1", userPassword("case1"), "phone-1")
		f.clock.Advance(identity.DefaultRefreshTTL)
		_, _, err := f.svc.Refresh(f.ctx, tokens.RefreshToken)
		wantDenial(t, "refresh of an expired session", err, identity.ErrSessionInvalid)
		_, err = f.svc.Authenticate(f.ctx, p)
		wantDenial(t, "access in an expired session", err, identity.ErrSessionInvalid)
	})
	t.Run("logout", func(t *testing.T) {
		tokens, p := f.login("case1", userPassword("case1"), "phone-2")
		if err := f.svc.Logout(f.ctx, p); err != nil {
			t.Fatal(err)
		}
		_, _, err := f.svc.Refresh(f.ctx, tokens.RefreshToken)
		wantDenial(t, "refresh after logout", err, identity.ErrSessionInvalid)
		_, err = f.svc.Authenticate(f.ctx, p)
		wantDenial(t, "access after logout", err, identity.ErrSessionInvalid)
		if f.events.count(identity.ActionLogout) != 1 {
			t.Fatal("auth.logout not recorded")
		}
	})
}

func TestIdentityRevokedDevice(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	admin := f.bootstrap()
	f.createUser(admin, "case1", identity.RoleCaseworker)
	f.createUser(admin, "case2", identity.RoleCaseworker)
	f.createUser(admin, "sup", identity.RoleSupervisor)
	t1, p1 := f.login("case1", userPassword("case1"), "phone-1")
	t2, p2 := f.login("case1", userPassword("case1"), "phone-2")
	_, other := f.login("case2", userPassword("case2"), "phone-9")
	_, supP := f.login("sup", userPassword("sup"), "sup-phone")

	own, err := f.svc.Devices(f.ctx, p1, false)
	if err != nil || len(own) != 2 || own[0].ID != "phone-1" || own[1].ID != "phone-2" || own[0].Name != "Phone phone-1" {
		t.Fatalf("own devices = %+v, %v", own, err)
	}
	_, err = f.svc.Devices(f.ctx, p1, true)
	wantDenial(t, "a caseworker listing all devices", err, identity.ErrForbidden)
	for _, p := range []identity.Principal{admin, supP} {
		all, err := f.svc.Devices(f.ctx, p, true)
		if err != nil || len(all) != 5 {
			t.Fatalf("all devices for %s = %d, %v; want 5", p.Username, len(all), err)
		}
	}
	_, err = f.svc.RevokeDevice(f.ctx, other, "phone-1")
	wantKind(t, "another caseworker revoking my device", err, apperr.NotFound)
	_, err = f.svc.RevokeDevice(f.ctx, supP, "phone-1")
	wantKind(t, "a supervisor revoking my device", err, apperr.NotFound)
	_, err = f.svc.RevokeDevice(f.ctx, p1, "no-such-device")
	wantKind(t, "revoking an unknown device", err, apperr.NotFound)

	d, err := f.svc.RevokeDevice(f.ctx, p1, "phone-1")
	if err != nil || d.RevokedAt == nil || !d.RevokedAt.Equal(f.clock.Now()) {
		t.Fatalf("RevokeDevice = %+v, %v", d, err)
	}
	if e, ok := f.events.last(identity.ActionDeviceRevoked); !ok || e.ResourceID != "phone-1" || e.ActorID != p1.UserID {
		t.Fatalf("device.revoked event = %+v, %v", e, ok)
	}
	_, _, err = f.svc.Refresh(f.ctx, t1.RefreshToken)
	wantDenial(t, "refresh on a revoked device", err, identity.ErrDeviceRevoked)
	_, _, err = f.svc.Login(f.ctx, identity.LoginRequest{Username: "case1", Password: userPassword("case1"), DeviceID: "phone-1"})
	wantDenial(t, "login on a revoked device", err, identity.ErrDeviceRevoked)
	_, err = f.svc.Authenticate(f.ctx, p1)
	wantDenial(t, "access from a revoked device", err, identity.ErrDeviceRevoked)
	sess, err := f.store.Session(f.ctx, p1.SessionID)
	if err != nil || sess.RevokedAt == nil {
		t.Fatalf("the revoked device's session is still open: %+v, %v", sess, err)
	}

	// The other device is untouched; an admin may revoke it.
	if _, _, err := f.svc.Refresh(f.ctx, t2.RefreshToken); err != nil {
		t.Fatalf("refresh on the other device: %v", err)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.svc.RevokeDevice(f.ctx, admin, "phone-2"); err != nil {
		t.Fatalf("admin revoking a caseworker's device: %v", err)
	}
	_, err = f.svc.Authenticate(f.ctx, p2)
	wantDenial(t, "access from the device the admin revoked", err, identity.ErrDeviceRevoked)
	revokedAt := f.clock.Now()
	f.clock.Advance(time.Minute)
	again, err := f.svc.RevokeDevice(f.ctx, admin, "phone-2")
	if err != nil || !again.RevokedAt.Equal(revokedAt) {
		t.Fatalf("revoking twice = %+v, %v", again, err)
	}
	if got := f.events.count(identity.ActionDeviceRevoked); got != 2 {
		t.Fatalf("device.revoked recorded %d times, want 2 (revoking twice records once)", got)
	}
}

func TestIdentityUserAdmin(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	admin := f.bootstrap()
	u := f.createUser(admin, "Alice", identity.RoleCaseworker)
	if u.Username != "alice" || u.Version != 1 || u.PasswordHash != "" || u.OrgID != admin.OrgID {
		t.Fatalf("created user %+v", u)
	}
	if e, ok := f.events.last(identity.ActionUserCreated); !ok || e.ResourceID != u.ID || e.ActorID != admin.UserID {
		t.Fatalf("user.created event %+v", e)
	}

	t.Run("create refused", func(t *testing.T) {
		tests := []struct {
			name   string
			nu     identity.NewUser
			fields []string // field:code
		}{
			{"duplicate username in another case", identity.NewUser{Username: "ALICE", DisplayName: "A", Roles: []identity.Role{identity.RoleCaseworker}, Password: "another-fine-pw-1"},
				[]string{"username:taken"}},
			{"everything wrong", identity.NewUser{Username: "a b", Roles: []identity.Role{"root"}, Password: "short"},
				[]string{"username:format", "display_name:required", "roles:oneof", "password:too_short"}},
			{"no roles, password with username", identity.NewUser{Username: "bob", DisplayName: "Bob", Password: "bob-is-the-best-1"},
				[]string{"roles:required", "password:contains_username"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.CreateUser(f.ctx, admin, tc.nu)
				e := wantKind(t, "CreateUser", err, apperr.Invalid)
				var got []string
				for _, fe := range e.Fields {
					got = append(got, fe.Field+":"+fe.Code)
				}
				if !slices.Equal(got, tc.fields) {
					t.Fatalf("field errors %v, want %v", got, tc.fields)
				}
			})
		}
		if _, err := f.svc.CreateUser(f.ctx, admin, identity.NewUser{Username: "alice", DisplayName: "A", Roles: []identity.Role{identity.RoleCaseworker}, Password: "another-fine-pw-1"}); !errors.Is(err, identity.ErrUsernameTaken) {
			t.Fatalf("duplicate username error %v does not wrap ErrUsernameTaken", err)
		}
	})

	_, alice := f.login("alice", userPassword("alice"), "alice-phone")
	t.Run("only admins manage users", func(t *testing.T) {
		_, err := f.svc.CreateUser(f.ctx, alice, identity.NewUser{Username: "eve", DisplayName: "Eve", Roles: []identity.Role{identity.RoleAdmin}, Password: "eve-strong-pw-99"})
		wantDenial(t, "CreateUser by a caseworker", err, identity.ErrForbidden)
		_, err = f.svc.ListUsers(f.ctx, alice, "", 0)
		wantDenial(t, "ListUsers by a caseworker", err, identity.ErrForbidden)
		_, err = f.svc.UpdateUser(f.ctx, alice, alice.UserID, identity.UserUpdate{Roles: &[]identity.Role{identity.RoleAdmin}}, 1)
		wantDenial(t, "UpdateUser by a caseworker", err, identity.ErrForbidden)
		_, err = f.svc.ResetPassword(f.ctx, alice, admin.UserID, "takeover-pw-123")
		wantDenial(t, "ResetPassword by a caseworker", err, identity.ErrForbidden)
	})

	t.Run("update with versions", func(t *testing.T) {
		name := "Alice Martin"
		v2, err := f.svc.UpdateUser(f.ctx, admin, u.ID, identity.UserUpdate{DisplayName: &name, Roles: &[]identity.Role{identity.RoleSupervisor, identity.RoleCaseworker}}, 1)
		if err != nil || v2.Version != 2 || v2.DisplayName != name || !slices.Equal(v2.Roles, []identity.Role{identity.RoleCaseworker, identity.RoleSupervisor}) || v2.PasswordHash != "" {
			t.Fatalf("update = %+v, %v", v2, err)
		}
		if f.events.count(identity.ActionRoleChanged) != 1 || f.events.count(identity.ActionUserUpdated) != 1 {
			t.Fatal("user.role_changed and user.updated not recorded")
		}
		other := "Someone"
		_, err = f.svc.UpdateUser(f.ctx, admin, u.ID, identity.UserUpdate{DisplayName: &other}, 1)
		wantKind(t, "stale update", err, apperr.Conflict)
		var stale *identity.StaleError
		if !errors.As(err, &stale) || !errors.Is(err, identity.ErrStale) || stale.Current.Version != 2 || stale.Current.DisplayName != name || stale.Current.PasswordHash != "" {
			t.Fatalf("stale error %v does not carry the current user", err)
		}
		// A role change applies to the next request at once.
		p, err := f.svc.Authenticate(f.ctx, alice)
		if err != nil || !p.HasRole(identity.RoleSupervisor) {
			t.Fatalf("Authenticate after a role change = %+v, %v", p, err)
		}
		_, err = f.svc.UpdateUser(f.ctx, admin, u.ID, identity.UserUpdate{Roles: &[]identity.Role{}}, 2)
		wantKind(t, "update to no roles", err, apperr.Invalid)
		_, err = f.svc.UpdateUser(f.ctx, admin, admin.UserID, identity.UserUpdate{Disabled: new(true)}, 1)
		if e := wantKind(t, "an admin disabling themselves", err, apperr.Invalid); e.Code != "self_lockout" {
			t.Fatalf("code %s", e.Code)
		}
		_, err = f.svc.UpdateUser(f.ctx, admin, "no-such-user", identity.UserUpdate{DisplayName: &other}, 1)
		wantKind(t, "update of an unknown user", err, apperr.NotFound)
	})

	t.Run("disable", func(t *testing.T) {
		tokens, p := f.login("alice", userPassword("alice"), "alice-tablet")
		v3, err := f.svc.UpdateUser(f.ctx, admin, u.ID, identity.UserUpdate{Disabled: new(true)}, 2)
		if err != nil || !v3.Disabled || v3.Version != 3 {
			t.Fatalf("disable = %+v, %v", v3, err)
		}
		_, err = f.svc.Authenticate(f.ctx, p)
		wantDenial(t, "access of a disabled user", err, identity.ErrSessionInvalid)
		_, _, err = f.svc.Refresh(f.ctx, tokens.RefreshToken)
		wantDenial(t, "refresh of a disabled user", err, identity.ErrSessionInvalid)
		_, _, err = f.svc.Login(f.ctx, identity.LoginRequest{Username: "alice", Password: userPassword("alice"), DeviceID: "alice-phone"})
		wantDenial(t, "login of a disabled user", err, identity.ErrBadCredentials)
		if f.events.count(identity.ActionUserDisabled) != 1 {
			t.Fatal("user.disabled not recorded")
		}
		if _, err := f.svc.UpdateUser(f.ctx, admin, u.ID, identity.UserUpdate{Disabled: new(false)}, 3); err != nil {
			t.Fatalf("enable: %v", err)
		}
		// Re-enabling does not bring old sessions back.
		_, _, err = f.svc.Refresh(f.ctx, tokens.RefreshToken)
		wantDenial(t, "refresh of a session ended by disabling", err, identity.ErrSessionInvalid)
	})

	t.Run("reset password", func(t *testing.T) {
		tokens, p := f.login("alice", userPassword("alice"), "alice-phone")
		_, err := f.svc.ResetPassword(f.ctx, admin, u.ID, "alice")
		wantKind(t, "reset to a weak password", err, apperr.Invalid)
		v, err := f.svc.ResetPassword(f.ctx, admin, u.ID, "brand-new-pw-2026")
		if err != nil || v.Version != 5 || v.PasswordHash != "" {
			t.Fatalf("ResetPassword = %+v, %v", v, err)
		}
		_, _, err = f.svc.Refresh(f.ctx, tokens.RefreshToken)
		wantDenial(t, "refresh after a password reset", err, identity.ErrSessionInvalid)
		_, err = f.svc.Authenticate(f.ctx, p)
		wantDenial(t, "access after a password reset", err, identity.ErrSessionInvalid)
		_, _, err = f.svc.Login(f.ctx, identity.LoginRequest{Username: "alice", Password: userPassword("alice"), DeviceID: "alice-phone"})
		wantDenial(t, "login with the old password", err, identity.ErrBadCredentials)
		f.login("alice", "brand-new-pw-2026", "alice-phone")
		if f.events.count(identity.ActionPasswordReset) != 1 {
			t.Fatal("user.password_reset not recorded")
		}
		me, err := f.svc.Me(f.ctx, alice)
		if err != nil || me.ID != u.ID || me.PasswordHash != "" || me.Version != 5 {
			t.Fatalf("Me = %+v, %v", me, err)
		}
	})

	t.Run("list pages", func(t *testing.T) {
		for _, name := range []string{"carol", "dave", "erin"} {
			f.createUser(admin, name, identity.RoleAuditor)
		}
		var seen []string
		after := ""
		for pages := 0; ; pages++ {
			page, err := f.svc.ListUsers(f.ctx, admin, after, 2)
			if err != nil || pages > 5 {
				t.Fatalf("ListUsers: %v (page %d)", err, pages)
			}
			for _, u := range page.Users {
				if u.PasswordHash != "" {
					t.Fatal("ListUsers shows a password hash")
				}
				seen = append(seen, u.Username)
			}
			if page.Next == "" {
				break
			}
			after = page.Next
		}
		slices.Sort(seen)
		if !slices.Equal(seen, []string{"admin", "alice", "carol", "dave", "erin"}) {
			t.Fatalf("listed %v", seen)
		}
	})
}

func TestIdentityCrossOrganisation(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	admin := f.bootstrap()
	alice := f.createUser(admin, "alice", identity.RoleCaseworker)
	f.login("alice", userPassword("alice"), "shared-id")

	// A second organisation with its own admin, who uses the same device id.
	now := f.clock.Now()
	if err := f.store.CreateOrganisation(f.ctx, identity.Organisation{ID: "org-b", Name: "B", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateOrganisation(f.ctx, identity.Organisation{ID: "org-b", Name: "B again", CreatedAt: now}); !errors.Is(err, identity.ErrExists) {
		t.Fatalf("duplicate organisation: %v", err)
	}
	hash, err := identity.HashPasswordWith(userPassword("bob"), testPasswordParams())
	if err != nil {
		t.Fatal(err)
	}
	err = f.store.CreateUser(f.ctx, identity.User{ID: "bob-id", OrgID: "org-b", Username: "bob", DisplayName: "Bob", Roles: []identity.Role{identity.RoleAdmin},
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, bob := f.login("bob", userPassword("bob"), "shared-id")
	if bob.OrgID != "org-b" {
		t.Fatalf("bob's principal %+v", bob)
	}

	name := "Hijacked"
	_, err = f.svc.UpdateUser(f.ctx, bob, alice.ID, identity.UserUpdate{DisplayName: &name}, 1)
	wantKind(t, "update of another organisation's user", err, apperr.NotFound)
	if !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("error %v does not wrap ErrNotFound", err)
	}
	_, err = f.svc.ResetPassword(f.ctx, bob, alice.ID, "takeover-pw-123")
	wantKind(t, "password reset of another organisation's user", err, apperr.NotFound)
	if _, err := f.store.UserByID(f.ctx, "org-b", alice.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("UserByID across organisations: %v", err)
	}
	if _, err := f.store.UserByID(f.ctx, "org-b", "bob-id"); err != nil {
		t.Fatalf("UserByID in the organisation: %v", err)
	}
	page, err := f.svc.ListUsers(f.ctx, bob, "", 0)
	if err != nil || len(page.Users) != 1 || page.Users[0].ID != "bob-id" {
		t.Fatalf("bob's users = %+v, %v", page, err)
	}
	all, err := f.svc.Devices(f.ctx, bob, true)
	if err != nil || len(all) != 1 || all[0].OrgID != "org-b" {
		t.Fatalf("bob's devices = %+v, %v", all, err)
	}
	// Bob revokes "shared-id": his organisation's device only.
	if _, err := f.svc.RevokeDevice(f.ctx, bob, "shared-id"); err != nil {
		t.Fatal(err)
	}
	d, err := f.store.Device(f.ctx, alice.OrgID, "shared-id")
	if err != nil || d.RevokedAt != nil {
		t.Fatalf("revoking in org B revoked org A's device: %+v, %v", d, err)
	}
	_, err = f.svc.RevokeDevice(f.ctx, bob, "admin-laptop")
	wantKind(t, "revoking another organisation's device", err, apperr.NotFound)
	// A principal claiming another organisation is refused.
	forged := bob
	forged.OrgID = alice.OrgID
	_, err = f.svc.Authenticate(f.ctx, forged)
	wantDenial(t, "a principal with the wrong organisation", err, identity.ErrSessionInvalid)
}

// TestIdentityStoreQueries checks the query shapes the store relies on, on the real database.
func TestIdentityStoreQueries(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	s := f.store
	ctx := f.ctx
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

	t.Run("device upsert never un-revokes", func(t *testing.T) {
		d, err := s.UpsertDevice(ctx, identity.Device{ID: "d1", OrgID: "o", UserID: "u1", Name: "First", CreatedAt: t0, LastSeenAt: t0})
		if err != nil || d.Name != "First" || !d.CreatedAt.Equal(t0) {
			t.Fatalf("create = %+v, %v", d, err)
		}
		if err := s.RevokeDevice(ctx, "o", "d1", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeDevice(ctx, "o", "d1", t0.Add(time.Hour)); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		d, err = s.UpsertDevice(ctx, identity.Device{ID: "d1", OrgID: "o", UserID: "u2", CreatedAt: t0.Add(2 * time.Minute), LastSeenAt: t0.Add(2 * time.Minute)})
		if err != nil || d.RevokedAt == nil || !d.RevokedAt.Equal(t0.Add(time.Minute)) || d.Name != "First" || d.UserID != "u2" || !d.CreatedAt.Equal(t0) || !d.LastSeenAt.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("upsert of a revoked device = %+v, %v", d, err)
		}
		if err := s.RevokeDevice(ctx, "o", "nope", t0); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("revoking an unknown device: %v", err)
		}
		if _, err := s.Device(ctx, "other-org", "d1"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("device of another organisation: %v", err)
		}
	})

	t.Run("session rotation is conditional and keeps a bounded history", func(t *testing.T) {
		sess := identity.Session{ID: "s1", OrgID: "o", UserID: "u1", DeviceID: "d2", TokenHash: "h0", CreatedAt: t0, RefreshedAt: t0, ExpiresAt: t0.Add(time.Hour), Version: 1}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctx, sess); !errors.Is(err, identity.ErrExists) {
			t.Fatalf("duplicate session: %v", err)
		}
		n := identity.SessionHashHistory + 5
		for i := 1; i <= n; i++ {
			if err := s.RotateSession(ctx, "s1", fmt.Sprintf("h%d", i-1), fmt.Sprintf("h%d", i), t0.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatalf("rotation %d: %v", i, err)
			}
		}
		if err := s.RotateSession(ctx, "s1", "h0", "hx", t0); !errors.Is(err, identity.ErrStale) {
			t.Fatalf("rotating from an old hash: %v", err)
		}
		if err := s.RotateSession(ctx, "nope", "h0", "hx", t0); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("rotating an unknown session: %v", err)
		}
		got, err := s.Session(ctx, "s1")
		if err != nil || got.TokenHash != fmt.Sprintf("h%d", n) || len(got.PreviousHash) != identity.SessionHashHistory ||
			got.PreviousHash[0] != "h5" || got.Version != int64(n+1) || got.RevokedAt != nil {
			t.Fatalf("session after %d rotations: hash %s, %d previous from %v, version %d, %v", n, got.TokenHash, len(got.PreviousHash), got.PreviousHash[:1], got.Version, err)
		}
		if err := s.RevokeDeviceSessions(ctx, "o", "d2", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RotateSession(ctx, "s1", got.TokenHash, "hy", t0); !errors.Is(err, identity.ErrStale) {
			t.Fatalf("rotating a revoked session: %v", err)
		}
		if err := s.RevokeSession(ctx, "s1", t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Session(ctx, "s1"); got.RevokedAt == nil || !got.RevokedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("revocation time moved: %+v", got.RevokedAt)
		}
	})

	t.Run("user sessions are revoked together, other users' are not", func(t *testing.T) {
		for i, u := range []string{"ua", "ua", "ub"} {
			id := fmt.Sprintf("us%d", i)
			if err := s.CreateSession(ctx, identity.Session{ID: id, OrgID: "o", UserID: u, DeviceID: "d", TokenHash: id, CreatedAt: t0, RefreshedAt: t0, ExpiresAt: t0.Add(time.Hour), Version: 1}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RevokeUserSessions(ctx, "o", "ua", t0); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]bool{"us0": true, "us1": true, "us2": false} {
			got, err := s.Session(ctx, id)
			if err != nil || (got.RevokedAt != nil) != want {
				t.Fatalf("session %s revoked = %v, want %v (%v)", id, got.RevokedAt != nil, want, err)
			}
		}
	})

	t.Run("throttle counters", func(t *testing.T) {
		for i := 1; i <= 3; i++ {
			n, err := s.Failure(ctx, "user:x", t0.Add(time.Duration(i)*time.Second))
			if err != nil || n != i {
				t.Fatalf("failure %d counted %d, %v", i, n, err)
			}
		}
		n, last, err := s.State(ctx, "user:x")
		if err != nil || n != 3 || !last.Equal(t0.Add(3*time.Second)) {
			t.Fatalf("State = %d, %s, %v", n, last, err)
		}
		if err := s.Reset(ctx, "user:x"); err != nil {
			t.Fatal(err)
		}
		if n, last, err := s.State(ctx, "user:x"); err != nil || n != 0 || !last.IsZero() {
			t.Fatalf("State after reset = %d, %s, %v", n, last, err)
		}
	})

	t.Run("usernames are unique across organisations", func(t *testing.T) {
		mk := func(id, org, name string) error {
			return s.CreateUser(ctx, identity.User{ID: id, OrgID: org, Username: name, DisplayName: name, Roles: []identity.Role{identity.RoleAuditor}, CreatedAt: t0, UpdatedAt: t0, Version: 1})
		}
		if err := mk("u-1", "o1", "Same"); err != nil {
			t.Fatal(err)
		}
		if err := mk("u-2", "o2", "same"); !errors.Is(err, identity.ErrUsernameTaken) {
			t.Fatalf("same username in another organisation: %v", err)
		}
		u, err := s.UserByUsername(ctx, "SAME")
		if err != nil || u.ID != "u-1" || u.Username != "same" {
			t.Fatalf("UserByUsername = %+v, %v", u, err)
		}
		u.DisplayName, u.Version = "Changed", 2
		if err := s.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateUser(ctx, u); !errors.Is(err, identity.ErrStale) {
			t.Fatalf("second update from version 1: %v", err)
		}
		u.OrgID = "o2"
		u.Version = 3
		if err := s.UpdateUser(ctx, u); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("update through another organisation: %v", err)
		}
	})
}
