package fieldcrypt

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// writeKeyFile writes content to dir/field-keys with exactly mode perm (regardless of umask).
func writeKeyFile(t *testing.T, dir, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, KeyFileName)
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadOrCreateCreates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"existing data folder", func(t *testing.T) string { return t.TempDir() }},
		{"missing data folder", func(t *testing.T) string { return filepath.Join(t.TempDir(), "data", "nested") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := tt.dir(t)
			first, err := LoadOrCreate(dir)
			if err != nil {
				t.Fatalf("LoadOrCreate (create): %v", err)
			}
			path := filepath.Join(dir, KeyFileName)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
				t.Errorf("key file mode = %04o, want 0600", fi.Mode().Perm())
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if line := strings.TrimSuffix(string(data), "\n"); strings.ContainsAny(line, "\n,") || !strings.HasPrefix(line, first.ActiveKeyID()+":") {
				t.Errorf("key file is not one %q entry: %q", first.ActiveKeyID(), data)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("data folder holds %d entries, want only the key file (no temporary files left)", len(entries))
			}

			second, err := LoadOrCreate(dir)
			if err != nil {
				t.Fatalf("LoadOrCreate (reload): %v", err)
			}
			if second.ActiveKeyID() != first.ActiveKeyID() {
				t.Fatalf("reload gave key %q, created %q", second.ActiveKeyID(), first.ActiveKeyID())
			}
			tok := mustEncrypt(t, first, "Child A", "case:1:child_pseudonym")
			if got, err := second.Decrypt(tok, "case:1:child_pseudonym"); err != nil || got != "Child A" {
				t.Errorf("reloaded ring: Decrypt = %q, %v (not the same key)", got, err)
			}
		})
	}
}

func TestLoadOrCreateConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rings := make([]*KeyRing, 8)
	errs := make([]error, len(rings))
	var wg sync.WaitGroup
	for i := range rings {
		wg.Go(func() { rings[i], errs[i] = LoadOrCreate(dir) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	tok := mustEncrypt(t, rings[0], "Child A", "case:1:child_pseudonym")
	for i, r := range rings {
		if got, err := r.Decrypt(tok, "case:1:child_pseudonym"); err != nil || got != "Child A" {
			t.Errorf("caller %d has another key: %v", i, err)
		}
	}
}

func TestLoadOrCreateRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	before, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	tok := mustEncrypt(t, before, "Child A", "case:1:child_pseudonym")
	path := filepath.Join(dir, KeyFileName)
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeKeyFile(t, dir, newEntry(t, "k-new")+","+string(old), 0o600) // prepend a new key
	after, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if after.ActiveKeyID() != "k-new" {
		t.Errorf("ActiveKeyID = %q, want k-new", after.ActiveKeyID())
	}
	if got, err := after.Decrypt(tok, "case:1:child_pseudonym"); err != nil || got != "Child A" {
		t.Errorf("old value after rotation: %q, %v", got, err)
	}
	if !after.NeedsRotation(tok) {
		t.Error("old value does not need rotation")
	}
}

func TestLoadOrCreateRefuses(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits on Windows")
	}
	good := newEntry(t, "k1") + "\n"
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  []string
	}{
		{"readable by all (0644)", func(t *testing.T, dir string) { writeKeyFile(t, dir, good, 0o644) }, []string{"group or others", "0644", "chmod 600"}},
		{"readable by group (0640)", func(t *testing.T, dir string) { writeKeyFile(t, dir, good, 0o640) }, []string{"group or others", "0640"}},
		{"writable by others (0602)", func(t *testing.T, dir string) { writeKeyFile(t, dir, good, 0o602) }, []string{"group or others"}},
		{"empty file", func(t *testing.T, dir string) { writeKeyFile(t, dir, "", 0o600) }, []string{KeyFileName, "empty"}},
		{"invalid content", func(t *testing.T, dir string) { writeKeyFile(t, dir, "k1:tooshort\n", 0o600) }, []string{KeyFileName, "entry 1"}},
		{"a folder, not a file", func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, KeyFileName), 0o700); err != nil {
				t.Fatal(err)
			}
		}, []string{"not a regular file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tt.setup(t, dir)
			r, err := LoadOrCreate(dir)
			if err == nil {
				t.Fatalf("LoadOrCreate accepted it: %v", r)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %v reads as a missing file", err)
			}
		})
	}
	t.Run("file left as it was", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := writeKeyFile(t, dir, good, 0o644)
		_, _ = LoadOrCreate(dir)
		data, err := os.ReadFile(path)
		if err != nil || string(data) != good {
			t.Errorf("refused key file was changed: %q, %v", data, err)
		}
	})
}
