package jwtauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// KeyFileName is the name of the signing key file LoadOrCreateKey keeps in the data directory.
const KeyFileName = "jwt-ed25519.pem"

// maxKeyFileLen bounds the key file read (a PKCS#8 Ed25519 PEM is about 120 bytes).
const maxKeyFileLen = 16 << 10

// KeyID returns the key id of an Ed25519 public key: the first 16 hex characters of the SHA-256
// of the raw public key. It never fails.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])[:16]
}

// ParsePrivateKeyPEM parses an Ed25519 private key from a PEM "PRIVATE KEY" block (PKCS#8), as given
// in configuration, and returns it with its key id. It returns an error when there is no such block,
// when it does not parse, or when the key is not Ed25519.
func ParsePrivateKeyPEM(data []byte) (ed25519.PrivateKey, string, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, "", errors.New("jwtauth: no PEM block in the signing key")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, "", fmt.Errorf("jwtauth: signing key PEM block is %q, want \"PRIVATE KEY\" (PKCS#8)", block.Type)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("jwtauth: parsing the signing key: %w", err)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, "", fmt.Errorf("jwtauth: signing key is %T, want an Ed25519 key", parsed)
	}
	return key, KeyID(key.Public().(ed25519.PublicKey)), nil
}

// MarshalPrivateKeyPEM encodes an Ed25519 private key as a PKCS#8 PEM "PRIVATE KEY" block.
// It returns an error only when the key is malformed.
func MarshalPrivateKeyPEM(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: encoding the signing key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// LoadOrCreateKey returns the signing key kept in dataDir/jwt-ed25519.pem (PKCS#8 PEM) and its key id.
// When the file does not exist it creates dataDir (mode 0700) if needed and a new key in the file with
// mode 0600; concurrent callers end up with the same key. It returns an error when the file is
// readable by group or others (on Unix), when it does not hold an Ed25519 key, or on I/O failure.
func LoadOrCreateKey(dataDir string) (ed25519.PrivateKey, string, error) {
	path := filepath.Join(dataDir, KeyFileName)
	key, id, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, id, err
	}
	if err := createKey(dataDir, path); err != nil {
		return nil, "", err
	}
	return loadKey(path)
}

// loadKey reads and parses the key file, refusing one that group or others may access.
func loadKey(path string) (ed25519.PrivateKey, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("jwtauth: opening the signing key: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, "", fmt.Errorf("jwtauth: inspecting the signing key: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, "", fmt.Errorf("jwtauth: signing key %s is not a regular file", path)
	}
	// Windows does not keep Unix permission bits; its ACLs are out of reach here.
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, "", fmt.Errorf("jwtauth: signing key %s has mode %04o; it must not be accessible to group or others (chmod 600)", path, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileLen))
	if err != nil {
		return nil, "", fmt.Errorf("jwtauth: reading the signing key: %w", err)
	}
	key, id, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return key, id, nil
}

// createKey writes a new key to path without ever exposing a partly written file: it writes a
// temporary file (mode 0600) and links it into place, which fails if another process got there first,
// in which case that process's key is kept.
func createKey(dataDir, path string) (err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("jwtauth: creating the data directory: %w", err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("jwtauth: generating the signing key: %w", err)
	}
	data, err := MarshalPrivateKeyPEM(key)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dataDir, "."+KeyFileName+".*.tmp") // created with mode 0600
	if err != nil {
		return fmt.Errorf("jwtauth: creating the signing key: %w", err)
	}
	defer func() {
		_ = tmp.Close()
		if rmErr := os.Remove(tmp.Name()); rmErr != nil && err == nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = fmt.Errorf("jwtauth: removing %s: %w", tmp.Name(), rmErr)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("jwtauth: setting the signing key's mode: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("jwtauth: writing the signing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("jwtauth: writing the signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("jwtauth: writing the signing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("jwtauth: installing the signing key: %w", err)
	}
	return nil
}
