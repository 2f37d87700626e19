package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
	"github.com/childsafe-protocols/caseguide/internal/jwtauth"
)

// A backup taken while caseworkers write through the API holds every write acknowledged before it
// began; restored into a new DATA_DIR with the same keys, the service finds each exactly once and every
// chain (custody, audit) verifies. Restore refuses a folder that is not empty, and the service refuses
// to start on the restored data without its field keys.
func TestBackupUnderLoadRestores(t *testing.T) {
	t.Parallel()
	if os.Getenv("MONGODB_TEST_URI") != "" {
		t.Skip("backs up the embedded database; MongoDB has mongodump")
	}
	src := t.TempDir()
	env := testEnv(src, nil)
	a := startServer(t, env, nil)
	w := newWorkload(t, a.base, adminPassword)
	ctx, stop := context.WithCancel(context.Background())
	reached := w.waitFor(40)
	wait := w.write(ctx, t, 4, true)
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		stop()
		wait()
		t.Fatal("the workload did not reach 40 writes in a minute")
	}

	before := w.snapshot()
	file := filepath.Join(t.TempDir(), "caseguide.backup")
	var out strings.Builder
	err := run(ctx, []string{"api", "backup", "-o", file}, func(k string) string { return env[k] }, &out, io.Discard)
	during := w.snapshot()
	stop()
	wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "keys are not in the backup") {
		t.Errorf("backup output: %s", out.String())
	}
	t.Logf("%d writes acknowledged before the backup, %d when it ended, %d in all", before.count(), during.count(), w.snapshot().count())
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", st, err)
	}

	restoreEnv := func(dir string) func(string) string {
		e := testEnv(dir, nil)
		return func(k string) string { return e[k] }
	}
	if err := run(context.Background(), []string{"api", "restore", file}, restoreEnv(src), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("restore into a DATA_DIR in use: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	out.Reset()
	if err := run(context.Background(), []string{"api", "restore", file}, restoreEnv(dst), &out, io.Discard); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if !strings.Contains(out.String(), fieldcrypt.KeyFileName) {
		t.Errorf("restore does not say to put the keys back: %s", out.String())
	}

	err = run(context.Background(), []string{"api"}, restoreEnv(dst), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no field-encryption key ring") {
		t.Fatalf("start on restored data without its keys: %v", err)
	}
	for _, key := range []string{fieldcrypt.KeyFileName, jwtauth.KeyFileName} {
		b, err := os.ReadFile(filepath.Join(src, key))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, key), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b := startServer(t, testEnv(dst, nil), nil)
	defer b.stop()
	w.signIn(t, b.base)
	w.verify(t, before)
}
