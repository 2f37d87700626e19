package mongodb_test

import (
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// A generated first-admin password must be replaced; a given one, or a user an admin created, need
// not; a password an admin reset must be; ChangePassword lifts the requirement.
func TestIdentityPasswordChangeRequired(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	admin := f.bootstrap()
	if !admin.PasswordChangeRequired {
		t.Fatal("the first admin with a generated password may go on without changing it")
	}
	given := newIdentityFixture(t)
	if _, _, err := given.svc.Bootstrap(given.ctx, "given-strong-pw-9"); err != nil {
		t.Fatal(err)
	}
	if _, p := given.login("admin", "given-strong-pw-9", "laptop"); p.PasswordChangeRequired {
		t.Fatal("BOOTSTRAP_ADMIN_PASSWORD was given, yet a change is required")
	}

	u := f.createUser(admin, "kofi", identity.RoleCaseworker)
	if _, p := f.login("kofi", userPassword("kofi"), "phone-k"); p.PasswordChangeRequired || u.PasswordChangeRequired {
		t.Fatal("a user an admin created must change the password")
	}
	if _, err := f.svc.ResetPassword(f.ctx, admin, u.ID, "reset by the admin 42"); err != nil {
		t.Fatal(err)
	}
	_, kofi := f.login("kofi", "reset by the admin 42", "phone-k2")
	if !kofi.PasswordChangeRequired {
		t.Fatal("after a reset the user must choose a password")
	}

	for _, tc := range []struct {
		name, current, next, field, code string
	}{
		{"wrong current", "not the password 1", "a new passphrase 77", "current_password", "incorrect"},
		{"weak new", "reset by the admin 42", "short", "new_password", "too_short"},
		{"same as current", "reset by the admin 42", "reset by the admin 42", "new_password", "same_as_current"},
	} {
		_, err := f.svc.ChangePassword(f.ctx, kofi, tc.current, tc.next)
		e := wantKind(t, tc.name, err, apperr.Invalid)
		if len(e.Fields) == 0 || e.Fields[0].Field != tc.field || e.Fields[0].Code != tc.code {
			t.Errorf("%s: fields %+v, want %s %s", tc.name, e.Fields, tc.field, tc.code)
		}
	}
	if n := f.events.count(identity.ActionPasswordChanged); n != 1 {
		t.Errorf("%d password_changed events after one wrong current password, want 1 (failure)", n)
	}
	changed, err := f.svc.ChangePassword(f.ctx, kofi, "reset by the admin 42", "a new passphrase 77")
	if err != nil || changed.PasswordChangeRequired {
		t.Fatalf("ChangePassword = %+v, %v", changed, err)
	}
	after, err := f.svc.Authenticate(f.ctx, kofi)
	if err != nil || after.PasswordChangeRequired {
		t.Fatalf("the session still requires a change after it: %+v, %v", after, err)
	}
	f.login("kofi", "a new passphrase 77", "phone-k3")
}

// A console session is the refresh token of a session that is never rotated: it ends when idle
// too long, at its absolute lifetime, on logout and when its device is revoked.
func TestIdentityWebSession(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	admin := f.bootstrap()
	f.createUser(admin, "ama", identity.RoleSupervisor)
	start := func(device string) string {
		t.Helper()
		tk, _, err := f.svc.Login(f.ctx, identity.LoginRequest{Username: "ama", Password: userPassword("ama"), DeviceID: device,
			DeviceName: "Web console", ClientAddr: "203.0.113.9", SessionTTL: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if got := tk.RefreshExpiresAt.Sub(f.clock.Now()); got != 2*time.Hour {
			t.Fatalf("session lifetime %v, want 2h", got)
		}
		return tk.RefreshToken
	}
	idle := 30 * time.Minute

	tok := start("console-a")
	for i := 0; i < 5; i++ { // used every 20 minutes: never idle for 30
		f.clock.Advance(20 * time.Minute)
		p, err := f.svc.WebSession(f.ctx, tok, idle)
		if err != nil || !p.HasRole(identity.RoleSupervisor) || p.DeviceID != "console-a" {
			t.Fatalf("use %d after %v: %+v, %v", i, 20*time.Minute*time.Duration(i+1), p, err)
		}
	}
	f.clock.Advance(21 * time.Minute) // 2h01 after sign-in: past the absolute lifetime
	_, err := f.svc.WebSession(f.ctx, tok, idle)
	wantDenial(t, "past the lifetime", err, identity.ErrSessionInvalid)

	tok = start("console-b")
	f.clock.Advance(31 * time.Minute)
	_, err = f.svc.WebSession(f.ctx, tok, idle)
	wantDenial(t, "idle", err, identity.ErrSessionInvalid)
	f.clock.Advance(-31 * time.Minute) // the idle session was revoked, not merely refused
	_, err = f.svc.WebSession(f.ctx, tok, idle)
	wantDenial(t, "idle, then back in time", err, identity.ErrSessionInvalid)

	tok = start("console-c")
	_, err = f.svc.WebSession(f.ctx, tok[:len(tok)-2]+"AA", idle)
	wantDenial(t, "tampered", err, identity.ErrSessionInvalid)
	p, err := f.svc.WebSession(f.ctx, tok, idle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RevokeDevice(f.ctx, admin, p.DeviceID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.WebSession(f.ctx, tok, idle)
	if err == nil {
		t.Fatal("a session of a revoked device still works")
	}

	tok = start("console-d")
	p, _ = f.svc.WebSession(f.ctx, tok, idle)
	if err := f.svc.Logout(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.WebSession(f.ctx, tok, idle)
	wantDenial(t, "signed out", err, identity.ErrSessionInvalid)
}

// The console language is a stored preference the principal carries.
func TestIdentitySetLocale(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	admin := f.bootstrap()
	u, err := f.svc.SetLocale(f.ctx, admin, "ar")
	if err != nil || u.Locale != "ar" {
		t.Fatalf("SetLocale = %+v, %v", u, err)
	}
	p, err := f.svc.Authenticate(f.ctx, admin)
	if err != nil || p.Locale != "ar" {
		t.Fatalf("principal locale %q, %v", p.Locale, err)
	}
	if again, err := f.svc.SetLocale(f.ctx, admin, "ar"); err != nil || again.Version != u.Version {
		t.Fatalf("setting the same locale again changed the user: %+v, %v", again, err)
	}
}
