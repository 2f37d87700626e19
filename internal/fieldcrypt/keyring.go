package fieldcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// KeySize is the length in bytes of every key (AES-256).
const KeySize = 32

// maxKeyIDLen is the longest key id accepted.
const maxKeyIDLen = 32

// KeyRing holds the active key and any number of older keys, by id. It is immutable once built and
// safe for concurrent use. Its String, GoString and LogValue never show key material.
type KeyRing struct {
	active string
	ids    []string // in configuration order, active first
	aeads  map[string]cipher.AEAD
}

// ParseKeyRing parses a key ring written as comma-separated "<id>:<base64 key>" entries, the first of
// which is the active key. Whitespace around entries is ignored. Keys may use standard or URL-safe
// base64, padded or not, and must decode to exactly 32 bytes. It returns an error naming every bad
// entry (by position and id, never showing key material): empty spec or entry, missing ":", invalid
// key id, invalid base64, wrong key length, duplicate id.
func ParseKeyRing(spec string) (*KeyRing, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("fieldcrypt: the key ring is empty: want comma-separated <id>:<base64 of 32 bytes> entries, active key first")
	}
	r := &KeyRing{aeads: make(map[string]cipher.AEAD)}
	var errs []error
	seen := make(map[string]bool)
	for i, entry := range strings.Split(spec, ",") {
		n := i + 1
		entry = strings.TrimSpace(entry)
		if entry == "" {
			errs = append(errs, fmt.Errorf("fieldcrypt: key ring entry %d is empty", n))
			continue
		}
		id, b64, ok := strings.Cut(entry, ":")
		if !ok {
			errs = append(errs, fmt.Errorf("fieldcrypt: key ring entry %d has no \":\": want <id>:<base64 of 32 bytes>", n))
			continue
		}
		id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
		if err := validKeyID(id); err != nil {
			errs = append(errs, fmt.Errorf("fieldcrypt: key ring entry %d: %w", n, err))
			continue
		}
		if seen[id] {
			errs = append(errs, fmt.Errorf("fieldcrypt: key ring entry %d: duplicate key id %q", n, id))
			continue
		}
		seen[id] = true
		key, err := decodeKey(b64)
		if err != nil {
			errs = append(errs, fmt.Errorf("fieldcrypt: key ring entry %d (key %q): %w", n, id, err))
			continue
		}
		aead, err := newAEAD(key)
		clear(key)
		if err != nil {
			errs = append(errs, fmt.Errorf("fieldcrypt: key ring entry %d (key %q): %w", n, id, err))
			continue
		}
		r.aeads[id] = aead
		r.ids = append(r.ids, id)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	r.active = r.ids[0]
	return r, nil
}

// ActiveKeyID returns the id of the key that encrypts new values.
func (r *KeyRing) ActiveKeyID() string { return r.active }

// KeyIDs returns the ids of all keys in the ring, active first, in configuration order.
func (r *KeyRing) KeyIDs() []string { return append([]string(nil), r.ids...) }

// String describes the ring by key ids only.
func (r *KeyRing) String() string {
	return fmt.Sprintf("fieldcrypt.KeyRing{active: %q, keys: %q}", r.active, r.ids)
}

// GoString describes the ring by key ids only, so %#v does not print key schedules.
func (r *KeyRing) GoString() string { return r.String() }

// LogValue describes the ring by key ids only, for log/slog.
func (r *KeyRing) LogValue() slog.Value {
	return slog.GroupValue(slog.String("active", r.active), slog.Any("keys", r.ids))
}

// validKeyID checks that id is 1-32 characters from [a-z0-9-].
func validKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("key id %q must be 1 to %d characters from a-z, 0-9 and -", id, maxKeyIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return fmt.Errorf("key id %q must be 1 to %d characters from a-z, 0-9 and -", id, maxKeyIDLen)
		}
	}
	return nil
}

// decodeKey decodes a base64 key (standard or URL-safe alphabet, padded or not) of exactly KeySize bytes.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("the key is missing after \":\"")
	}
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.Strict().DecodeString(s)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if len(key) != KeySize {
			clear(key)
			return nil, fmt.Errorf("the key is %d bytes, want %d (base64 of 32 random bytes, e.g. openssl rand -base64 32)", len(key), KeySize)
		}
		return key, nil
	}
	return nil, fmt.Errorf("the key is not valid base64: %w", firstErr)
}

// newAEAD returns AES-256-GCM with random 96-bit nonces prepended to the ciphertext.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating the cipher: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("creating the cipher: %w", err)
	}
	return aead, nil
}
