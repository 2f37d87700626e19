package main

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// receiptKeyInfo names the purpose of the custody-receipt key derived from the token-signing key.
const receiptKeyInfo = "caseguide custody receipts v1"

// newEvidence builds the evidence service: its store (encrypting with the field keys), the case
// access check, the audit adapter, and the receipt signer. The receipt key is an Ed25519 key derived
// with HKDF-SHA256 from the token-signing key's seed (so every instance sharing that key signs
// receipts with the same key and no new secret needs configuring), distinct from it: a receipt is
// never a valid access token and the reverse. It returns an error when the key cannot be derived.
func newEvidence(db *mongodb.DB, sec *security, cases *casework.Service) (*evidence.Service, error) {
	return newEvidenceOn(db.Evidence(sec.keys), sec, cases)
}

// newEvidenceOn is newEvidence on the given store (the seed's bulk staging, for one).
func newEvidenceOn(store evidence.Store, sec *security, cases *casework.Service) (*evidence.Service, error) {
	seed, err := hkdf.Key(sha256.New, sec.tokenKey.Seed(), nil, receiptKeyInfo, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("deriving the receipt key: %w", err)
	}
	signer, err := evidence.NewReceiptSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		return nil, err
	}
	return evidence.NewService(store, cases, sec.audit, signer, time.Now).WithDirectory(sec.identity).WithCheckpoints(sec.checkpoints), nil
}
