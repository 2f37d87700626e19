package protocol

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// ContentHash returns the SHA-256 (hex) of the document's canonical JSON encoding (struct fields in
// declaration order, map keys sorted). Two documents with the same content have the same hash,
// whatever the formatting, comments or key order of the files they were read from.
// It returns an error only when the document cannot be encoded.
func (d *Document) ContentHash() (string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encoding protocol %s: %w", d.Protocol.ID, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
