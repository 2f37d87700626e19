package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ZeroHash is the PrevHash of an item's first event.
const ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

// TimeLayout is the form of times in the canonical encoding: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// CanonicalVersion is the "v" member of every canonical encoding.
const CanonicalVersion = 1

// canonicalJSON encodes v (built of map[string]any, []any, string, bool, int64 and nil) as RFC 8785
// (JSON Canonicalization Scheme) does for these types: object members sorted by key, no whitespace,
// strings escaping only '"', '\' and control characters (\b \f \n \r \t, others \u00xx).
func canonicalJSON(v any) []byte {
	var b strings.Builder
	writeCanonical(&b, v)
	return []byte(b.String())
}

func writeCanonical(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case string:
		writeString(b, v)
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, x)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // keys are ASCII: byte order is UTF-16 code unit order
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			writeCanonical(b, v[k])
		}
		b.WriteByte('}')
	default:
		panic(fmt.Sprintf("evidence: no canonical encoding for %T", v))
	}
}

func writeString(b *strings.Builder, s string) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD") // never stored: validation refuses invalid UTF-8
	}
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

func canonicalTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(TimeLayout)
}

func canonicalParty(p Party) any {
	if p.IsZero() {
		return nil
	}
	return map[string]any{"user_id": p.UserID, "name": p.Name, "organisation": p.Organisation}
}

func canonicalBool(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func canonicalHash(h *Hash) any {
	if h == nil {
		return nil
	}
	return map[string]any{"algorithm": h.Algorithm, "value": h.Value}
}

func canonicalSeq(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// CanonicalJSON returns the bytes the event's Hash is computed over (every field except Hash and
// Unreadable; see the package documentation). It never fails.
func (e Event) CanonicalJSON() []byte {
	return canonicalJSON(map[string]any{
		"v": int64(CanonicalVersion), "event_id": e.ID, "org_id": e.OrgID, "case_id": e.CaseID, "item_id": e.ItemID,
		"seq": e.Seq, "type": string(e.Type), "recorded_at": canonicalTime(e.RecordedAt), "received_at": canonicalTime(e.ReceivedAt),
		"recorded_by": e.RecordedBy, "performed_by": canonicalParty(e.PerformedBy), "from": canonicalParty(e.From),
		"to": canonicalParty(e.To), "place": e.Place, "purpose": e.Purpose, "note": e.Note, "seal_number": e.SealNumber,
		"seal_intact": canonicalBool(e.SealIntact), "verified_hash": canonicalHash(e.Verified), "hash_matches": canonicalBool(e.Matches),
		"derived_item_id": e.DerivedItem, "corrects_seq": canonicalSeq(e.CorrectsSeq), "legal_hold": canonicalBool(e.Hold),
		"item_digest": e.ItemDigest, "prev_hash": e.PrevHash,
	})
}

// ComputeHash returns the lower-case hex SHA-256 of CanonicalJSON: what Hash must be.
func (e Event) ComputeHash() string {
	sum := sha256.Sum256(e.CanonicalJSON())
	return hex.EncodeToString(sum[:])
}

// CanonicalJSON returns the canonical encoding of the fixed part of the item (everything set at
// creation; not State, Head, UpdatedAt), whose SHA-256 is sealed into the first event as ItemDigest.
func (it Item) CanonicalJSON() []byte {
	hashes := make([]any, len(it.Hashes))
	for i, h := range it.Hashes {
		hashes[i] = map[string]any{"algorithm": h.Algorithm, "value": h.Value}
	}
	id := it.Identifiers
	a := it.Acquisition
	return canonicalJSON(map[string]any{
		"v": int64(CanonicalVersion), "item_id": it.ID, "org_id": it.OrgID, "case_id": it.CaseID, "kind": string(it.Kind),
		"description": it.Description,
		"identifiers": map[string]any{"make": id.Make, "model": id.Model, "serial_number": id.SerialNumber,
			"account_handle": id.AccountHandle, "platform": id.Platform, "url": id.URL},
		"exhibit_number": it.ExhibitNumber, "root_exhibit_number": it.RootExhibitNumber, "derived_from_item_id": it.DerivedFromItemID,
		"hashes": hashes,
		"acquisition": map[string]any{"method": a.Method, "tool": a.Tool, "tool_version": a.ToolVersion, "by": canonicalParty(a.By),
			"at": canonicalTime(a.At), "place": a.Place, "write_protected": canonicalBool(a.WriteProtected)},
		"legal_authority":          map[string]any{"basis": it.Authority.Basis, "reference": it.Authority.Reference},
		"storage_location":         it.StorageLocation,
		"seal_number":              it.SealNumber,
		"suspected_abuse_material": it.SuspectedAbuseMaterial, "abuse_category": it.AbuseCategory,
		"law_enforcement_reference": it.LawEnforcementReference,
		"created_at":                canonicalTime(it.CreatedAt), "created_by": it.CreatedBy,
	})
}

// Digest returns the lower-case hex SHA-256 of the item's CanonicalJSON.
func (it Item) Digest() string {
	sum := sha256.Sum256(it.CanonicalJSON())
	return hex.EncodeToString(sum[:])
}
