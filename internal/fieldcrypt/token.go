package fieldcrypt

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// tokenPrefix starts every token of the current format.
const tokenPrefix = "enc:v1:"

// nonceSize and tagSize are GCM's; a token's payload is at least their sum.
const (
	nonceSize = 12
	tagSize   = 16
)

// payloadEncoding encodes nonce||ciphertext||tag in a token: URL-safe, unpadded, canonical.
var payloadEncoding = base64.RawURLEncoding.Strict()

// ErrUndecryptable is the sentinel every Decrypt failure matches (errors.Is): a malformed or non-token
// input, an unknown key id (see UnknownKeyError), a wrong aad or an altered token. The wrapped message
// says which; it never contains the value.
var ErrUndecryptable = errors.New("fieldcrypt: cannot decrypt")

// ErrMissingAAD is returned by Encrypt and Decrypt when aad is empty: every value must be bound to
// its record and field.
var ErrMissingAAD = errors.New("fieldcrypt: aad is empty: bind the value to its record and field, e.g. \"case:<id>:child_pseudonym\"")

// UnknownKeyError is the Decrypt error for a token encrypted under a key id that is not in the ring.
// It matches ErrUndecryptable.
type UnknownKeyError struct {
	KeyID string
}

// Error says which key is missing.
func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("%v: encrypted with key %q which is not in the key ring", ErrUndecryptable, e.KeyID)
}

// Is reports that an UnknownKeyError is an ErrUndecryptable.
func (e *UnknownKeyError) Is(target error) bool { return target == ErrUndecryptable }

// Encrypt encrypts plaintext under the active key, bound to aad (for example
// "case:<id>:child_pseudonym"), and returns an "enc:v1:<key id>:<base64url>" token. An empty plaintext
// returns "" (no token). It returns ErrMissingAAD when aad is empty.
func (r *KeyRing) Encrypt(plaintext, aad string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	if aad == "" {
		return "", ErrMissingAAD
	}
	id := r.active
	sealed := r.aeads[id].Seal(nil, nil, []byte(plaintext), additionalData(id, aad))
	var b strings.Builder
	b.Grow(len(tokenPrefix) + len(id) + 1 + payloadEncoding.EncodedLen(len(sealed)))
	b.WriteString(tokenPrefix)
	b.WriteString(id)
	b.WriteByte(':')
	b.WriteString(payloadEncoding.EncodeToString(sealed))
	return b.String(), nil
}

// Decrypt returns the plaintext of token, which must have been encrypted with the same aad. The empty
// string decrypts to itself. It returns ErrMissingAAD when aad is empty, and an error matching
// ErrUndecryptable for non-token input, a malformed token, an unsupported version, a key id not in the
// ring (*UnknownKeyError), a wrong aad, or a token altered in any way.
func (r *KeyRing) Decrypt(token, aad string) (string, error) {
	if token == "" {
		return "", nil
	}
	if aad == "" {
		return "", ErrMissingAAD
	}
	id, payload, err := splitToken(token)
	if err != nil {
		return "", err
	}
	aead, ok := r.aeads[id]
	if !ok {
		return "", &UnknownKeyError{KeyID: id}
	}
	sealed, err := payloadEncoding.DecodeString(payload)
	if err != nil {
		return "", fmt.Errorf("%w: the token's payload is not base64url: %w", ErrUndecryptable, err)
	}
	if len(sealed) < nonceSize+tagSize {
		return "", fmt.Errorf("%w: the token's payload is too short (%d bytes)", ErrUndecryptable, len(sealed))
	}
	plain, err := aead.Open(nil, nil, sealed, additionalData(id, aad))
	if err != nil {
		return "", fmt.Errorf("%w: authentication failed (value bound to another record or field, or altered): %w", ErrUndecryptable, err)
	}
	return string(plain), nil
}

// NeedsRotation reports whether token is a well-formed token encrypted under a key other than the
// active one. It is false for the empty string, for non-token input and for active-key tokens.
func (r *KeyRing) NeedsRotation(token string) bool {
	id, _, err := splitToken(token)
	return err == nil && id != r.active
}

// Reencrypt returns token re-encrypted under the active key with the same aad, or token unchanged when
// it needs no rotation (already under the active key, or empty). It returns Decrypt's errors.
func (r *KeyRing) Reencrypt(token, aad string) (string, error) {
	if token == "" {
		return "", nil
	}
	plain, err := r.Decrypt(token, aad)
	if err != nil {
		return "", err
	}
	if !r.NeedsRotation(token) {
		return token, nil
	}
	return r.Encrypt(plain, aad)
}

// IsToken reports whether s has the shape of a token of this package, under the key ring or under a
// data key (for telling encrypted values from legacy plaintext). It does not check that s decrypts.
func IsToken(s string) bool {
	return IsRingToken(s) || IsDataKeyToken(s)
}

// splitToken checks a token's prefix and key id and returns the key id and the base64url payload.
func splitToken(token string) (id, payload string, err error) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		if strings.HasPrefix(token, "enc:") {
			return "", "", fmt.Errorf("%w: unsupported token version (want %q)", ErrUndecryptable, tokenPrefix)
		}
		return "", "", fmt.Errorf("%w: not an encrypted value (no %q prefix)", ErrUndecryptable, tokenPrefix)
	}
	id, payload, ok = strings.Cut(rest, ":")
	if !ok {
		return "", "", fmt.Errorf("%w: malformed token (no key id)", ErrUndecryptable)
	}
	if err := validKeyID(id); err != nil {
		return "", "", fmt.Errorf("%w: malformed token: %w", ErrUndecryptable, err)
	}
	if payload == "" {
		return "", "", fmt.Errorf("%w: malformed token (no payload)", ErrUndecryptable)
	}
	return id, payload, nil
}

// additionalData authenticates the token version and key id along with the caller's aad. Key ids
// contain no ":", so the encoding is unambiguous.
func additionalData(id, aad string) []byte {
	b := make([]byte, 0, len(tokenPrefix)+len(id)+1+len(aad))
	b = append(b, tokenPrefix...)
	b = append(b, id...)
	b = append(b, ':')
	return append(b, aad...)
}
