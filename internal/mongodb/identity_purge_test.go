package mongodb_test

import (
	"errors"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

func TestIdentityPurge(t *testing.T) {
	t.Parallel()
	f := newIdentityFixture(t)
	admin := f.bootstrap() // session 1, now
	f.createUser(admin, "purgeuser", identity.RoleCaseworker)
	if _, err := f.store.Failure(f.ctx, "user:old", f.clock.Now()); err != nil {
		t.Fatal(err)
	}

	f.clock.Advance(20 * 24 * time.Hour)
	recent, _ := f.login("purgeuser", userPassword("purgeuser"), "second-phone") // session 2, 20 days later
	f.clock.Advance(10*24*time.Hour + time.Minute)                               // session 1 has just expired
	if _, err := f.store.Failure(f.ctx, "user:recent", f.clock.Now()); err != nil {
		t.Fatal(err)
	}

	r, err := f.svc.Purge(f.ctx)
	if err != nil || r.Sessions != 1 || r.Counters != 1 {
		t.Fatalf("Purge = %+v, %v; want 1 session and 1 counter", r, err)
	}
	if r, err := f.svc.Purge(f.ctx); err != nil || r != (identity.PurgeReport{}) {
		t.Fatalf("second Purge = %+v, %v; want nothing left to delete", r, err)
	}

	tests := []struct {
		key  string
		want int
	}{{"user:old", 0}, {"user:recent", 1}}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if n, _, err := f.store.State(f.ctx, tt.key); err != nil || n != tt.want {
				t.Errorf("State(%s) = %d, %v; want %d", tt.key, n, err, tt.want)
			}
		})
	}
	if _, _, err := f.svc.Refresh(f.ctx, recent.RefreshToken); err != nil {
		t.Errorf("refreshing the unexpired session after the purge: %v", err)
	}
	if _, err := f.store.Session(f.ctx, admin.SessionID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("the expired session is still stored: %v", err)
	}
}
