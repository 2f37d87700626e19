package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// The users command works on the database of a running service (the embedded one, attached through
// its socket) and the user it creates can sign in through the API.
func TestUsersCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := testEnv(dir, nil)
	s := startServer(t, env, nil)
	defer s.stop()
	getenv := func(k string) string { return env[k] }
	users := func(stdin string, args ...string) (string, error) {
		var out strings.Builder
		err := usersCommand(context.Background(), args, getenv, strings.NewReader(stdin), &out, io.Discard, testPasswords)
		return out.String(), err
	}
	tests := []struct {
		name, stdin string
		args        []string
		wantErr     string
		wantOut     string
	}{
		{"create", "a long shell passphrase\n", []string{"create", "-username", "shelly", "-roles", "caseworker,supervisor", "-display-name", "Shelly"}, "", "created user shelly"},
		{"weak password", "short\n", []string{"create", "-username", "weak", "-roles", "caseworker", "-display-name", "W"}, "password (too_short): The password must be at least 12", ""},
		{"common password", "password1234\n", []string{"create", "-username", "common", "-roles", "caseworker", "-display-name", "C"}, "password (too_common)", ""},
		{"no display name", "a long shell passphrase\n", []string{"create", "-username", "nameless", "-roles", "caseworker"}, "users create needs -display-name", ""},
		{"no password", "", []string{"create", "-username", "nopw", "-roles", "caseworker", "-display-name", "N"}, "no password", ""},
		{"unknown role", "a long shell passphrase\n", []string{"create", "-username", "badrole", "-roles", "wizard", "-display-name", "B"}, "roles", ""},
		{"duplicate", "a long shell passphrase\n", []string{"create", "-username", "admin", "-roles", "caseworker", "-display-name", "A"}, "already in use", ""},
		{"unknown command", "", []string{"promote"}, "unknown users command", ""},
		{"reserved organisation", "a long shell passphrase\n", []string{"create", "-username", "reserved", "-roles", "auditor", "-display-name", "R", "-org", "deployment"}, "not an organisation id", ""},
		{"auditor of another agency", "a long shell passphrase\n", []string{"create", "-username", "otherauditor", "-roles", "auditor", "-display-name", "O", "-org", "other-agency"}, "", "created user otherauditor"},
	}
	for _, tt := range tests {
		out, err := users(tt.stdin, tt.args...)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !strings.Contains(out, tt.wantOut) {
			t.Errorf("%s: %q, %v", tt.name, out, err)
		}
	}
	login(t, s.base, "shelly", "a long shell passphrase", "shell-phone")
	other := login(t, s.base, "otherauditor", "a long shell passphrase", "other-phone")
	if r := get(t, s.base, "/v1/audit?log=deployment", "Authorization: Bearer "+other.AccessToken); r.status != http.StatusForbidden {
		t.Errorf("an auditor of another organisation reading the deployment log: %d %s", r.status, r.body)
	}
	if r := get(t, s.base, "/v1/audit/verify", "Authorization: Bearer "+other.AccessToken); r.status != http.StatusOK {
		t.Errorf("an auditor of another organisation verifying its own log: %d %s", r.status, r.body)
	}

	if _, err := users("another long passphrase\n", "reset-password", "-username", "shelly"); err != nil {
		t.Fatal(err)
	}
	login(t, s.base, "shelly", "another long passphrase", "shell-phone")
	out, err := users("", "list")
	if err != nil || !strings.Contains(out, "shelly") || !strings.Contains(out, "caseworker,supervisor") {
		t.Errorf("list: %q %v", out, err)
	}
	if _, err := users("", "disable", "-username", "shelly"); err != nil {
		t.Fatal(err)
	}
	if r := post(t, s.base, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": "shelly", "password": "another long passphrase", "device_id": "x"}); r.status != http.StatusUnauthorized {
		t.Errorf("disabled user signed in: %d", r.status)
	}
}

// The users command opens only an existing database, and says which one it used: pointed at a
// folder without one (run from another folder, say) it fails and creates nothing.
func TestUsersCommandNeedsAnExistingDatabase(t *testing.T) {
	t.Parallel()
	if os.Getenv("MONGODB_TEST_URI") != "" {
		t.Skip("about the embedded database")
	}
	dir, env := server(t).dataDir, sharedEnv
	tests := []struct {
		name, dataDir, wantErr, wantStderr string
	}{
		{"the service's folder", dir, "", "using the embedded database " + filepath.Join(dir, "caseguide.sqlite") + " (attached to the running service)"},
		{"another folder", filepath.Join(t.TempDir(), "data"), "no database in DATA_DIR", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			getenv := func(k string) string {
				if k == "DATA_DIR" {
					return tt.dataDir
				}
				return env[k]
			}
			err := usersCommand(context.Background(), []string{"list"}, getenv, strings.NewReader(""), &stdout, &stderr, testPasswords)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if _, serr := os.Stat(tt.dataDir); !errors.Is(serr, os.ErrNotExist) {
					t.Errorf("the command created %s: %v", tt.dataDir, serr)
				}
				return
			}
			if err != nil || !strings.Contains(stderr.String(), tt.wantStderr) || !strings.Contains(stdout.String(), "admin") {
				t.Errorf("error %v, stdout %q, stderr %q (want %q)", err, stdout.String(), stderr.String(), tt.wantStderr)
			}
		})
	}
}

// The other tests hash passwords at a test cost (testPasswords); this one runs the service and the
// users command with the production defaults and checks that every stored hash carries them and
// signs in: the bootstrap administrator, a user made through the API and one made from the shell.
// At 64 MiB and 3 passes a hash takes about half a second of a core; beside the package's parallel
// tests on a loaded machine a sign-in can take longer than the default request deadline, so this
// server's is longer.
func TestProductionPasswordCost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := testEnv(dir, map[string]string{"REQUEST_TIMEOUT": "120s"})
	s := startServer(t, env, &serveHooks{password: identity.DefaultPasswordParams()})
	s.dataDir = dir // for rawDatabase
	defer s.stop()
	admin := login(t, s.base, "admin", adminPassword, "admin-console")
	if r := post(t, s.base, http.MethodPost, "/v1/users", admin.AccessToken, map[string]any{"username": "apiuser", "display_name": "API user", "roles": []string{"caseworker"}, "password": "an api user passphrase"}); r.status != http.StatusCreated {
		t.Fatalf("creating a user: %d %s", r.status, r.body)
	}
	getenv := func(k string) string { return env[k] }
	args := []string{"create", "-username", "shelluser", "-roles", "supervisor", "-display-name", "Shell user"}
	if err := usersCommand(context.Background(), args, getenv, strings.NewReader("a shell user passphrase\n"), io.Discard, io.Discard, identity.PasswordParams{}); err != nil {
		t.Fatal(err)
	}
	login(t, s.base, "apiuser", "an api user passphrase", "api-phone")
	login(t, s.base, "shelluser", "a shell user passphrase", "shell-phone")

	cur, err := rawDatabase(t, s).Collection("users").Find(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var stored []struct {
		Username     string `bson:"username"`
		PasswordHash string `bson:"password_hash"`
	}
	if err := cur.All(context.Background(), &stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) != 3 {
		t.Fatalf("%d users stored, want 3", len(stored))
	}
	for _, u := range stored {
		if want := "$argon2id$v=19$m=65536,t=3,p=2$"; !strings.HasPrefix(u.PasswordHash, want) {
			t.Errorf("%s: hash %.32s…, want the production cost %s", u.Username, u.PasswordHash, want)
		}
	}
}
