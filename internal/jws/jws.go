// Package jws makes and checks compact JSON Web Signatures (RFC 7515) signed with one Ed25519 key
// (alg "EdDSA", RFC 8037), each of one "typ": the custody receipts of evidence and the checkpoints
// of hash chains are such tokens, each with its own key and type.
package jws

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MaxTokenLen is the longest token Verify reads.
const MaxTokenLen = 4096

// Signer signs and checks the tokens of one type with one Ed25519 key. It is safe for concurrent
// use.
type Signer struct {
	key   ed25519.PrivateKey
	pub   ed25519.PublicKey
	keyID string
	typ   string
}

type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// New returns a signer of tokens of type typ with key, whose key id is kidPrefix followed by the
// first 16 hex digits of the public key's SHA-256. It returns an error when key is not an Ed25519
// private key.
func New(key ed25519.PrivateKey, kidPrefix, typ string) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("key has %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	pub := key.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	return &Signer{key: key, pub: pub, keyID: kidPrefix + hex.EncodeToString(sum[:])[:16], typ: typ}, nil
}

// KeyID returns the "kid" of the tokens this signer makes.
func (s *Signer) KeyID() string { return s.keyID }

// PublicJWK returns the public key as a JWK (RFC 8037), as /v1/keys serves it.
func (s *Signer) PublicJWK() map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(s.pub),
		"kid": s.keyID, "alg": "EdDSA", "use": "sig"}
}

// Sign returns the compact token signing payload (JSON). It never fails.
func (s *Signer) Sign(payload []byte) string {
	h, _ := json.Marshal(header{Alg: "EdDSA", Kid: s.keyID, Typ: s.typ})
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(payload)
	return input + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(s.key, []byte(input)))
}

// Verify checks a compact token and returns its payload and key id. It returns an error saying why
// when the token is malformed, of another type or key, or forged.
func (s *Signer) Verify(token string) (payload []byte, kid string, err error) {
	parts := strings.Split(token, ".")
	if len(token) > MaxTokenLen || len(parts) != 3 {
		return nil, "", errors.New("not a compact JWS")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, "", err
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil || h.Alg != "EdDSA" || h.Typ != s.typ || h.Kid != s.keyID {
		return nil, "", fmt.Errorf("header %s", hb)
	}
	if !ed25519.Verify(s.pub, []byte(parts[0]+"."+parts[1]), sig) {
		return nil, "", errors.New("the signature does not verify")
	}
	return pb, h.Kid, nil
}
