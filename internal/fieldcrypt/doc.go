// Package fieldcrypt encrypts free-text and identifying fields of case records (names and pseudonyms,
// notes, disability notes, reference numbers) at rest, with AES-256-GCM under a key ring so keys rotate.
//
// # Tokens
//
// [KeyRing.Encrypt] turns a value into a self-describing ASCII token
//
//	enc:v1:<key id>:<base64url, no padding, of nonce(12) || ciphertext || tag(16)>
//
// The nonce is random per value. Every value is bound to where it is stored by its associated data
// (aad), for example "case:<case id>:child_pseudonym": a token copied to another record or another
// field does not decrypt. The token's version and key id are authenticated as well. An empty value is
// stored as the empty string, not as a token. Tokens reveal the length of the value (give or take
// nothing) but never its content.
//
// # Keys and configuration
//
// A key ring is written as comma-separated entries "<id>:<base64 of 32 random bytes>", where an id is
// 1 to 32 characters from [a-z0-9-]. The FIRST entry is the active key: it encrypts every new value.
// The other entries only decrypt values written under them. Production deployments pass the ring in
// one environment variable (FIELD_KEYS) and parse it with [ParseKeyRing]; the embedded default keeps it
// in "<DATA_DIR>/field-keys" (one line, same format), created with a fresh key and mode 0600 by
// [LoadOrCreate] when absent. A key file that group or others may access is refused. Make a key with
// [NewKeyEntry], or with: echo "k2026-05:$(openssl rand -base64 32)".
//
// # Rotating a key
//
//  1. Make a new entry and add it at the END of the ring on every instance (it decrypts, but is not
//     used yet), so no instance meets a value it cannot read during a rolling restart.
//  2. Once every instance has it, move it to the FRONT: it is now the active key and new values use it.
//     (With a single instance, steps 1 and 2 are one step: prepend the new entry and restart.)
//  3. Optionally re-encrypt stored values: [KeyRing.NeedsRotation] tells which tokens use an old key,
//     [KeyRing.Reencrypt] rewrites one under the active key.
//  4. Only when no stored value uses the old key any more, remove its entry. A value whose key is gone
//     cannot be decrypted by anyone: keep backups of retired keys as long as backups of the data.
//
// A key must not encrypt more than 2^32 values (random nonces); rotate well before that.
//
// # Data keys
//
// A [DataKey] is the key of one record (the service gives every case one): values are encrypted
// under it as "enc:d1:<base64url>" tokens, bound to their aad like ring tokens. Its 32 bytes are
// stored only wrapped by the ring ([KeyRing.WrapDataKey], a ring token, so ring rotation rewraps it
// with [KeyRing.Reencrypt]). Destroying the wrapped copy makes every value under the data key
// unrecoverable, whatever keys the ring holds: that is how a case is erased.
package fieldcrypt
