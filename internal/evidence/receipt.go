package evidence

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/jws"
)

// ReceiptType is the "typ" header of receipts.
const ReceiptType = "custody-receipt+jws"

// ErrBadReceipt is returned by ReceiptSigner.Verify for a receipt that is malformed, of another
// type or key, or whose signature does not verify.
var ErrBadReceipt = errors.New("evidence: receipt invalid")

// Receipt is what the server signs after appending to an item's chain: the item, the sequence
// number and hash of the chain's newest event, and when it signed. Its wire form is a JWS compact
// serialization (RFC 7515) signed with Ed25519 (alg "EdDSA", RFC 8037) whose payload is the JSON
// object {"org_id","case_id","item_id","seq","head_hash","iat"} (iat in Unix seconds); the public key
// is served at /v1/keys under the receipt's "kid".
type Receipt struct {
	OrgID    string    `json:"org_id"`
	CaseID   string    `json:"case_id"`
	ItemID   string    `json:"item_id"`
	Seq      int64     `json:"seq"`
	HeadHash string    `json:"head_hash"`
	SignedAt time.Time `json:"-"`
	IssuedAt int64     `json:"iat"`
	KeyID    string    `json:"-"`
	Token    string    `json:"-"` // the compact JWS
}

// ReceiptSigner signs and checks receipts with one Ed25519 key. It is safe for concurrent use.
//
// Its KeyID and PublicJWK (for /v1/keys) are those of the embedded jws.Signer; its Sign and Verify
// take and give receipts.
type ReceiptSigner struct{ *jws.Signer }

// NewReceiptSigner returns a signer with key. It returns an error when key is not an Ed25519
// private key.
func NewReceiptSigner(key ed25519.PrivateKey) (*ReceiptSigner, error) {
	j, err := jws.New(key, "receipt-", ReceiptType)
	if err != nil {
		return nil, fmt.Errorf("evidence: receipt %w", err)
	}
	return &ReceiptSigner{Signer: j}, nil
}

// Sign returns r with SignedAt, KeyID and Token set. It never fails for a valid key.
func (s *ReceiptSigner) Sign(r Receipt, now time.Time) Receipt {
	r.SignedAt = now.UTC().Truncate(time.Second)
	r.IssuedAt = r.SignedAt.Unix()
	r.KeyID = s.Signer.KeyID()
	p, _ := json.Marshal(r)
	r.Token = s.Signer.Sign(p)
	return r
}

// Verify checks a compact receipt and returns its contents. It returns an error wrapping
// ErrBadReceipt when the token is malformed, not a receipt of this signer's key, or forged.
func (s *ReceiptSigner) Verify(token string) (Receipt, error) {
	pb, kid, err := s.Signer.Verify(token)
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: %v", ErrBadReceipt, err)
	}
	var r Receipt
	if err := json.Unmarshal(pb, &r); err != nil {
		return Receipt{}, fmt.Errorf("%w: payload: %v", ErrBadReceipt, err)
	}
	r.SignedAt, r.KeyID, r.Token = time.Unix(r.IssuedAt, 0).UTC(), kid, token
	return r, nil
}
