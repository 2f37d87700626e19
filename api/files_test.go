package main

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every file the service creates in DATA_DIR (the embedded database's files with their -wal and
// -shm companions, the keys, the socket) is private to its owner, and a DATA_DIR that group or others
// may open is refused before anything is written in it.
func TestDataDirFilesArePrivate(t *testing.T) {
	t.Parallel()
	if os.Getenv("MONGODB_TEST_URI") != "" {
		t.Skip("about the embedded database")
	}
	s := server(t)
	dir := s.dataDir
	login(t, s.base, "admin", adminPassword, "files-phone") // writes a session and audit entries
	seen := map[string]bool{}
	check := func() {
		t.Helper()
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || path == dir {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			seen[d.Name()] = true
			if perm := info.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("%s has mode %04o: group or others may use it", path, perm)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check()
	for _, name := range []string{"caseguide.sqlite", "field-keys", "jwt-ed25519.pem"} {
		if !seen[name] {
			t.Errorf("no %s in DATA_DIR (seen %v)", name, seen)
		}
	}

	open := t.TempDir()
	env := testEnv(open, nil)
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"api"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "accessible by group or others") || !strings.Contains(err.Error(), "chmod 700") {
		t.Fatalf("start on a DATA_DIR of mode 0755: %v", err)
	}
	if entries, _ := os.ReadDir(open); len(entries) != 0 {
		t.Errorf("files were written in the refused DATA_DIR: %v", entries)
	}
}
