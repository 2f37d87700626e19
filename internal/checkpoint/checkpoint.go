package checkpoint

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/jws"
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

// Signer signs and checks checkpoints with one Ed25519 key. It is safe for concurrent use.
//
// Its KeyID and PublicJWK (for /v1/keys) are those of the embedded jws.Signer; its Sign and Verify
// take and give checkpoints.
type Signer struct{ *jws.Signer }

// NewSigner returns a signer with key. It returns an error when key is not an Ed25519 private key.
func NewSigner(key ed25519.PrivateKey) (*Signer, error) {
	j, err := jws.New(key, "checkpoint-", Type)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return &Signer{Signer: j}, nil
}

// Sign returns cp with SignedAt, KeyID and Token set (from Log, N, Seq and Hash). It never fails.
func (s *Signer) Sign(cp Checkpoint, now time.Time) Checkpoint {
	cp.SignedAt = now.UTC().Truncate(time.Second)
	cp.KeyID = s.Signer.KeyID()
	p, _ := json.Marshal(payload{Log: cp.Log, N: cp.N, Seq: cp.Seq, Hash: cp.Hash, Iat: cp.SignedAt.Unix()})
	cp.Token = s.Signer.Sign(p)
	return cp
}

// Verify checks cp's token with this signer's key and that it signs exactly cp's Log, N, Seq, Hash
// and SignedAt. It returns an error wrapping ErrInvalid otherwise.
func (s *Signer) Verify(cp Checkpoint) error {
	pb, _, err := s.Signer.Verify(cp.Token)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
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
