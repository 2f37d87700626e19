package fieldcrypt

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// dataKeyPrefix starts every token encrypted under a data key (a per-record key, such as a case's,
// see [DataKey]) rather than directly under the key ring.
const dataKeyPrefix = "enc:d1:"

// DataKey is a key of one record (in this service: of one case). Its material lives in the database
// only wrapped (encrypted) by the key ring ([KeyRing.WrapDataKey]); destroying the wrapped copy makes
// every value encrypted under it unrecoverable, whatever keys the ring holds. It is safe for
// concurrent use, and its String never shows key material.
type DataKey struct {
	aead cipher.AEAD
}

// NewDataKeyMaterial returns 32 fresh random bytes for a data key. It returns an error only when the
// system's random source fails.
func NewDataKeyMaterial() ([]byte, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("fieldcrypt: making a data key: %w", err)
	}
	return b, nil
}

// NewDataKey builds a data key from 32 bytes of material (which the caller should clear after). It
// returns an error when the material is not 32 bytes.
func NewDataKey(material []byte) (*DataKey, error) {
	if len(material) != KeySize {
		return nil, fmt.Errorf("fieldcrypt: a data key is %d bytes, got %d", KeySize, len(material))
	}
	aead, err := newAEAD(material)
	if err != nil {
		return nil, err
	}
	return &DataKey{aead: aead}, nil
}

// String never shows key material.
func (k *DataKey) String() string { return "fieldcrypt.DataKey{…}" }

// WrapDataKey encrypts data key material under the ring's active key, bound to aad (for example
// "case_key:<case id>"), as a ring token. It returns Encrypt's errors.
func (r *KeyRing) WrapDataKey(material []byte, aad string) (string, error) {
	if len(material) != KeySize {
		return "", fmt.Errorf("fieldcrypt: a data key is %d bytes, got %d", KeySize, len(material))
	}
	return r.Encrypt(base64.RawStdEncoding.EncodeToString(material), aad)
}

// UnwrapDataKey decrypts a wrapped data key (see WrapDataKey) and builds it. It returns Decrypt's
// errors (matching ErrUndecryptable), or an error when the unwrapped value is not a key.
func (r *KeyRing) UnwrapDataKey(wrapped, aad string) (*DataKey, error) {
	if wrapped == "" {
		return nil, fmt.Errorf("%w: no wrapped data key", ErrUndecryptable)
	}
	plain, err := r.Decrypt(wrapped, aad)
	if err != nil {
		return nil, err
	}
	material, err := base64.RawStdEncoding.DecodeString(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: the wrapped data key is not a key", ErrUndecryptable)
	}
	defer clear(material)
	return NewDataKey(material)
}

// Encrypt encrypts plaintext under the data key, bound to aad, as an "enc:d1:<base64url>" token. An
// empty plaintext returns "". It returns ErrMissingAAD when aad is empty.
func (k *DataKey) Encrypt(plaintext, aad string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	if aad == "" {
		return "", ErrMissingAAD
	}
	sealed := k.aead.Seal(nil, nil, []byte(plaintext), dataKeyAD(aad))
	return dataKeyPrefix + payloadEncoding.EncodeToString(sealed), nil
}

// Decrypt returns the plaintext of a data-key token encrypted with the same aad; "" decrypts to
// itself. It returns ErrMissingAAD when aad is empty and an error matching ErrUndecryptable for
// anything that is not such a token, a wrong aad, another key, or an altered token.
func (k *DataKey) Decrypt(token, aad string) (string, error) {
	if token == "" {
		return "", nil
	}
	if aad == "" {
		return "", ErrMissingAAD
	}
	payload, ok := strings.CutPrefix(token, dataKeyPrefix)
	if !ok || payload == "" {
		return "", fmt.Errorf("%w: not a data-key token (no %q prefix)", ErrUndecryptable, dataKeyPrefix)
	}
	sealed, err := payloadEncoding.DecodeString(payload)
	if err != nil {
		return "", fmt.Errorf("%w: the token's payload is not base64url: %w", ErrUndecryptable, err)
	}
	if len(sealed) < nonceSize+tagSize {
		return "", fmt.Errorf("%w: the token's payload is too short (%d bytes)", ErrUndecryptable, len(sealed))
	}
	plain, err := k.aead.Open(nil, nil, sealed, dataKeyAD(aad))
	if err != nil {
		return "", fmt.Errorf("%w: authentication failed (another key, record or field, or altered): %w", ErrUndecryptable, err)
	}
	return string(plain), nil
}

// IsDataKeyToken reports whether s has the shape of a data-key token (it does not check that it
// decrypts).
func IsDataKeyToken(s string) bool {
	payload, ok := strings.CutPrefix(s, dataKeyPrefix)
	return ok && payload != ""
}

// IsRingToken reports whether s has the shape of a token encrypted directly under a key ring.
func IsRingToken(s string) bool {
	_, _, err := splitToken(s)
	return err == nil
}

// ErrDataKeyDestroyed is returned when a value is to be encrypted under a data key that was destroyed.
var ErrDataKeyDestroyed = errors.New("fieldcrypt: the data key was destroyed")

func dataKeyAD(aad string) []byte { return []byte(dataKeyPrefix + aad) }
