package evidence

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
type ReceiptSigner struct {
	key   ed25519.PrivateKey
	pub   ed25519.PublicKey
	keyID string
}

// NewReceiptSigner returns a signer with key. It returns an error when key is not an Ed25519
// private key.
func NewReceiptSigner(key ed25519.PrivateKey) (*ReceiptSigner, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("evidence: receipt key has %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	pub := key.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	return &ReceiptSigner{key: key, pub: pub, keyID: "receipt-" + hex.EncodeToString(sum[:])[:16]}, nil
}

// KeyID returns the "kid" of the receipts this signer makes.
func (s *ReceiptSigner) KeyID() string { return s.keyID }

// PublicJWK returns the public key as a JWK (RFC 8037) for /v1/keys.
func (s *ReceiptSigner) PublicJWK() map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(s.pub),
		"kid": s.keyID, "alg": "EdDSA", "use": "sig"}
}

type receiptHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// Sign returns r with SignedAt, KeyID and Token set. It never fails for a valid key.
func (s *ReceiptSigner) Sign(r Receipt, now time.Time) Receipt {
	r.SignedAt = now.UTC().Truncate(time.Second)
	r.IssuedAt = r.SignedAt.Unix()
	r.KeyID = s.keyID
	h, _ := json.Marshal(receiptHeader{Alg: "EdDSA", Kid: s.keyID, Typ: ReceiptType})
	p, _ := json.Marshal(r)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sig := ed25519.Sign(s.key, []byte(input))
	r.Token = input + "." + base64.RawURLEncoding.EncodeToString(sig)
	return r
}

// Verify checks a compact receipt and returns its contents. It returns an error wrapping
// ErrBadReceipt when the token is malformed, not a receipt of this signer's key, or forged.
func (s *ReceiptSigner) Verify(token string) (Receipt, error) {
	parts := strings.Split(token, ".")
	if len(token) > 4096 || len(parts) != 3 {
		return Receipt{}, fmt.Errorf("%w: not a compact JWS", ErrBadReceipt)
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return Receipt{}, fmt.Errorf("%w: %v", ErrBadReceipt, err)
	}
	var h receiptHeader
	if err := json.Unmarshal(hb, &h); err != nil || h.Alg != "EdDSA" || h.Typ != ReceiptType || h.Kid != s.keyID {
		return Receipt{}, fmt.Errorf("%w: header %s", ErrBadReceipt, hb)
	}
	if !ed25519.Verify(s.pub, []byte(parts[0]+"."+parts[1]), sig) {
		return Receipt{}, fmt.Errorf("%w: the signature does not verify", ErrBadReceipt)
	}
	var r Receipt
	if err := json.Unmarshal(pb, &r); err != nil {
		return Receipt{}, fmt.Errorf("%w: payload: %v", ErrBadReceipt, err)
	}
	r.SignedAt, r.KeyID, r.Token = time.Unix(r.IssuedAt, 0).UTC(), h.Kid, token
	return r, nil
}
