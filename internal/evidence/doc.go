// Package evidence keeps evidence-preservation logs: evidence items of a case and, for each, an
// append-only chain of custody events (collected, sealed, transferred, received, stored, accessed,
// copied, analysed, hash verified, returned, destroyed, note, correction, legal hold) that anyone
// entitled can prove complete and untouched, and hand to a lab or a court (see the exports in the
// HTTP layer). Nothing of the material itself enters the system: there is no upload, and an item
// flagged as suspected child sexual abuse material records only its hashes, a category and the
// reference of the law-enforcement system that holds it.
//
// # The chain
//
// Event n of an item stores PrevHash = the Hash of event n-1 (event 1: ZeroHash, 64 "0"s) and Hash =
// the lower-case hex SHA-256 of its canonical encoding. Events are stored with the _id
// "<item id>:<seq, 12 digits>", so two writers of the same number cannot both succeed: the second
// fails on the duplicate key, reads what the first wrote and chains after it. Within one process the
// appenders of an item commit in groups (one leader goroutine per item chains everything queued and
// writes it with one ordered insert). After each group the server signs the new head (Receipt: a
// compact JWS, EdDSA, key published at /v1/keys) and stores it with the item; every append answers
// with the receipt of a head at or after its event. Event 1 is always "collected" and carries
// ItemDigest, the SHA-256 of the item record's canonical encoding, so the fixed part of the item is
// sealed into the chain too.
//
// # Canonical encoding
//
// The canonical encoding of an event is the JSON Canonicalization Scheme (RFC 8785) of this object,
// whose members are all present (null when not applicable):
//
//	v (1), event_id, org_id, case_id, item_id, seq (integer), type, recorded_at, received_at,
//	recorded_by, performed_by, from, to (each null or {"user_id","name","organisation"}), place,
//	purpose, note, seal_number, seal_intact (bool|null), verified_hash (null or
//	{"algorithm","value"}), hash_matches (bool|null), derived_item_id, corrects_seq (integer|null),
//	legal_hold (bool|null), item_digest, prev_hash
//
// Strings are "" when empty; times are "YYYY-MM-DDThh:mm:ss.sssZ" (UTC, milliseconds) or null.
// RFC 8785 sorts the members by name, writes no whitespace, and escapes in strings only '"', '\' and
// control characters (as \b \f \n \r \t, others \u00xx in lower-case hex); every other character is
// written as itself in UTF-8. For these values that is exactly what Python writes with
//
//	json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
//
// The item's canonical encoding is built the same way from: v, item_id, org_id, case_id, kind,
// description, identifiers {make, model, serial_number, account_handle, platform, url},
// exhibit_number, root_exhibit_number, derived_from_item_id, hashes [{algorithm, value}...],
// acquisition {method, tool, tool_version, by (party|null), at, place, write_protected (bool|null)},
// legal_authority {basis, reference}, storage_location, seal_number, suspected_abuse_material
// (bool), abuse_category, law_enforcement_reference, created_at, created_by. The test vectors are in
// canonical_test.go.
//
// # Verification
//
// Verification walks a chain in order and reports the first problem: an event whose fields do not
// give its hash (hash_mismatch; also when its encrypted fields no longer decrypt), a wrong prev_hash
// (broken_link), a skipped number (gap), the item not matching the digest in event 1
// (item_mismatch), a head or receipt naming an event the chain lacks (missing_event), a head whose
// hash differs from the chain's (head_mismatch), a receipt that does not verify (receipt_invalid) or
// whose signed hash is not the chain's (receipt_mismatch). A receipt kept by a client can be checked
// too. Someone who can write the database but not sign cannot rewrite a chain up to a signed head.
// With WithCheckpoints every new head is also stored as a signed checkpoint apart from the item
// (package checkpoint), and chains are checked against the newest (missing_event when the chain ends
// before the event it signs, checkpoint_mismatch, checkpoint_invalid): deleting an item's newest
// events and clearing its head is then found without a receipt kept by a client.
//
// Errors for clients are *apperr.Error values: Invalid with field errors, NotFound
// (evidence_item_not_found, case_not_found), Conflict (evidence_item_id_conflict,
// custody_event_id_conflict, legal_hold, evidence_item_destroyed); identity.ErrForbidden for roles
// without case access and for a caseworker releasing a legal hold.
package evidence
