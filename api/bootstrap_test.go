package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startSplit runs serve() with env, its JSON log (standard output) and its standard error kept apart,
// until the test ends; it returns the base URL once the server listens.
func startSplit(t *testing.T, env map[string]string, stdout, stderr io.Writer) string {
	t.Helper()
	listening := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, nil, func(k string) string { return env[k] }, stdout, stderr, &serveHooks{listening: func(a string) { listening <- a }, password: testPasswords})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case addr := <-listening:
		return "http://" + addr
	case err := <-done:
		done <- err
		t.Fatalf("the server did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not start within a minute")
	}
	return ""
}

// Without BOOTSTRAP_ADMIN_PASSWORD the first admin's generated password is shown once outside the
// JSON log, at any LOG_LEVEL: on standard error and in a 0600 file in DATA_DIR; it signs in.
func TestGeneratedAdminPasswordStaysOutOfTheLog(t *testing.T) {
	t.Parallel()
	if os.Getenv("MONGODB_TEST_URI") != "" {
		t.Skip("bootstraps a fresh embedded database")
	}
	dir := t.TempDir()
	env := testEnv(dir, map[string]string{"BOOTSTRAP_ADMIN_PASSWORD": "", "LOG_LEVEL": "error"})
	var logs, console syncBuffer
	base := startSplit(t, env, &logs, &console)

	m := regexp.MustCompile(`One-time password of admin: (\S+)`).FindStringSubmatch(console.String())
	if m == nil {
		t.Fatalf("no one-time password on standard error at LOG_LEVEL=error:\n%s", console.String())
	}
	password := m[1]
	if strings.Contains(logs.String(), password) {
		t.Errorf("the one-time password is in the JSON log:\n%s", logs.String())
	}
	file := filepath.Join(dir, initialPasswordFile)
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", file, st.Mode().Perm())
	}
	if b, _ := os.ReadFile(file); strings.TrimSpace(string(b)) != password {
		t.Errorf("%s holds %q, standard error showed %q", file, b, password)
	}
	login(t, base, "admin", password, "first-admin-phone")
}
