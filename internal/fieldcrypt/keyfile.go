package fieldcrypt

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// KeyFileName is the key ring file LoadOrCreate keeps in the data folder.
const KeyFileName = "field-keys"

// maxKeyFileSize bounds what LoadOrCreate reads (about 1,000 keys).
const maxKeyFileSize = 64 << 10

// NewKeyEntry returns a key ring entry "<id>:<base64 of 32 random bytes>" for a fresh key, to prepend
// to a ring when rotating. An empty id gets a generated one ("k<yyyymmdd>-<6 hex digits>"). It returns
// an error when id is not 1-32 characters from [a-z0-9-].
func NewKeyEntry(id string) (string, error) {
	if id == "" {
		var suffix [3]byte
		_, _ = rand.Read(suffix[:]) // crypto/rand.Read never fails (Go 1.24+)
		id = "k" + time.Now().UTC().Format("20060102") + "-" + hex.EncodeToString(suffix[:])
	}
	if err := validKeyID(id); err != nil {
		return "", fmt.Errorf("fieldcrypt: %w", err)
	}
	key := make([]byte, KeySize)
	_, _ = rand.Read(key)
	entry := id + ":" + base64.StdEncoding.EncodeToString(key)
	clear(key)
	return entry, nil
}

// LoadOrCreate returns the key ring kept in <dataDir>/field-keys (one line, ParseKeyRing's format),
// for the embedded default. When the file is absent it creates dataDir (mode 0700) if needed and the
// file with one fresh random key, mode 0600, atomically (a concurrent caller never sees a partial file,
// and two callers never end up with different keys). To rotate, prepend a new entry (NewKeyEntry) and
// a comma to the line and restart; see the package documentation.
//
// It returns an error when the file is not a regular file, when group or others have any permission
// on it (mode & 0o077 != 0; fix with chmod 600), when its content is not a valid key ring, or when it
// cannot be read or created.
func LoadOrCreate(dataDir string) (*KeyRing, error) {
	path := filepath.Join(dataDir, KeyFileName)
	ring, err := loadKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return ring, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("fieldcrypt: creating the data folder for the key file: %w", err)
	}
	entry, err := NewKeyEntry("")
	if err != nil {
		return nil, err
	}
	if err := createKeyFile(path, entry+"\n"); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process created it first: use theirs
			return loadKeyFile(path)
		}
		return nil, err
	}
	return loadKeyFile(path)
}

// loadKeyFile reads and checks a key file. The error wraps fs.ErrNotExist when the file is absent.
func loadKeyFile(path string) (*KeyRing, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("fieldcrypt: opening the key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("fieldcrypt: checking the key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("fieldcrypt: the key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits to check; the folder's ACL protects the file there.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("fieldcrypt: the key file %s is accessible by group or others (mode %04o): it protects child data, so only its owner may read it; run: chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("fieldcrypt: reading the key file: %w", err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("fieldcrypt: the key file %s is larger than %d bytes", path, maxKeyFileSize)
	}
	ring, err := ParseKeyRing(strings.TrimSpace(string(data)))
	clear(data)
	if err != nil {
		return nil, fmt.Errorf("fieldcrypt: the key file %s: %w", path, err)
	}
	return ring, nil
}

// createKeyFile writes content to a 0600 temporary file in path's folder, syncs it and links it to
// path, so path appears complete or not at all and an existing path is never replaced (the error then
// wraps fs.ErrExist). Where hard links are unsupported it falls back to an exclusive create.
func createKeyFile(path, content string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+KeyFileName+".tmp-*")
	if err != nil {
		return fmt.Errorf("fieldcrypt: creating the key file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := writeSynced(tmp, content); err != nil {
		return err
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		// No hard links here (some network or FUSE file systems): create the file exclusively.
		f, cerr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if cerr != nil {
			if errors.Is(cerr, fs.ErrExist) {
				return cerr
			}
			return fmt.Errorf("fieldcrypt: creating the key file: %w", errors.Join(err, cerr))
		}
		if err := writeSynced(f, content); err != nil {
			_ = os.Remove(path)
			return err
		}
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable; best effort
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// writeSynced sets f to mode 0600, writes content, syncs and closes f.
func writeSynced(f *os.File, content string) error {
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(content)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fieldcrypt: writing the key file: %w", err)
	}
	return nil
}
