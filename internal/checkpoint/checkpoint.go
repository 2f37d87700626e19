package checkpoint

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Type is the "typ" header of checkpoints.
const Type = "chain-checkpoint+jws"

// ErrInvalid is wrapped by the errors of Signer.Verify: a token that is malformed, of another type
// or key, forged, or whose payload differs from the stored fields.
var ErrInvalid = errors.New("checkpoint: invalid signature")

// AuditLog returns the chain name of an organisation's audit log.
func AuditLog(orgID string) string { return "audit:" + orgID }

// CustodyChain returns the chain name of an evidence item's custody chain.
func CustodyChain(itemID string) string { return "custody:" + itemID }

// Checkpoint is a signed statement that chain Log had, at Seq, the entry with Hash. N numbers the
// checkpoints of a chain from 1.
type Checkpoint struct {
	Log      string
	N        int64
	Seq      int64
	Hash     string
	SignedAt time.Time // UTC, whole seconds
	KeyID    string
	Token    string // the compact JWS
}

type payload struct {
	Log  string `json:"log"`
	N    int64  `json:"n"`
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	Iat  int64  `json:"iat"`
}

type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// Signer signs and checks checkpoints with one Ed25519 key. It is safe for concurrent use.
type Signer struct {
	key   ed25519.PrivateKey
	pub   ed25519.PublicKey
	keyID string
}

// NewSigner returns a signer with key. It returns an error when key is not an Ed25519 private key.
func NewSigner(key ed25519.PrivateKey) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("checkpoint: key has %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	pub := key.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	return &Signer{key: key, pub: pub, keyID: "checkpoint-" + hex.EncodeToString(sum[:])[:16]}, nil
}

// KeyID returns the "kid" of the checkpoints this signer makes.
func (s *Signer) KeyID() string { return s.keyID }

// PublicJWK returns the public key as a JWK (RFC 8037) for /v1/keys.
func (s *Signer) PublicJWK() map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(s.pub),
		"kid": s.keyID, "alg": "EdDSA", "use": "sig"}
}

// Sign returns cp with SignedAt, KeyID and Token set (from Log, N, Seq and Hash). It never fails.
func (s *Signer) Sign(cp Checkpoint, now time.Time) Checkpoint {
	cp.SignedAt = now.UTC().Truncate(time.Second)
	cp.KeyID = s.keyID
	h, _ := json.Marshal(header{Alg: "EdDSA", Kid: s.keyID, Typ: Type})
	p, _ := json.Marshal(payload{Log: cp.Log, N: cp.N, Seq: cp.Seq, Hash: cp.Hash, Iat: cp.SignedAt.Unix()})
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	cp.Token = input + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(s.key, []byte(input)))
	return cp
}

// Verify checks cp's token with this signer's key and that it signs exactly cp's Log, N, Seq, Hash
// and SignedAt. It returns an error wrapping ErrInvalid otherwise.
func (s *Signer) Verify(cp Checkpoint) error {
	parts := strings.Split(cp.Token, ".")
	if len(cp.Token) > 4096 || len(parts) != 3 {
		return fmt.Errorf("%w: not a compact JWS", ErrInvalid)
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil || h.Alg != "EdDSA" || h.Typ != Type || h.Kid != s.keyID {
		return fmt.Errorf("%w: header %s", ErrInvalid, hb)
	}
	if !ed25519.Verify(s.pub, []byte(parts[0]+"."+parts[1]), sig) {
		return fmt.Errorf("%w: the signature does not verify", ErrInvalid)
	}
	var p payload
	if err := json.Unmarshal(pb, &p); err != nil {
		return fmt.Errorf("%w: payload: %v", ErrInvalid, err)
	}
	if p.Log != cp.Log || p.N != cp.N || p.Seq != cp.Seq || p.Hash != cp.Hash || p.Iat != cp.SignedAt.Unix() {
		return fmt.Errorf("%w: the stored fields differ from the signed ones", ErrInvalid)
	}
	return nil
}
