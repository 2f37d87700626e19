// Package checkpoint keeps signed checkpoints of the service's hash chains: the audit log of every
// organisation (and the deployment's own log) and the custody chain of every evidence item.
//
// A checkpoint says "chain L had, at sequence number Seq, the entry whose hash is Hash", signed by
// the service. It is a JWS compact serialization (RFC 7515) signed with Ed25519 (alg "EdDSA",
// RFC 8037, typ "chain-checkpoint+jws") whose payload is the JSON object
// {"log","n","seq","hash","iat"} (iat in Unix seconds); the public key is served at /v1/keys under
// its "kid". Chains are named "audit:<organisation id>" and "custody:<item id>".
//
// The checkpoints of a chain are numbered 1, 2, 3, ... (N) and stored under the deterministic id
// "<chain>:<N, 12 digits>", so two instances making checkpoint N at the same moment cannot both
// succeed: the second fails on the duplicate key, reads what the first wrote and goes on from there.
// Checkpoints of a chain never go back: checkpoint N+1 names a Seq at or after checkpoint N's. The
// newest checkpoint is found with reads by id only (an exponential probe from the newest this process
// knows, then a binary search), so finding it costs a few reads whatever the size of the collection,
// also on the embedded database, which can use no index but the one on _id.
//
// What a checkpoint proves: someone who can write the database but not sign cannot make a chain
// shorter than, or different from, what a stored checkpoint signs without the verification seeing
// it: deleting the newest entries together with the chain's head, truncating the chain, or rewriting
// an entry up to the checkpoint. What it cannot prove: entries newer than the newest checkpoint may be
// deleted unseen by a restarted process if the newest checkpoints are deleted with them (the process
// that made a checkpoint remembers it; anyone else must keep copies, see Keeper.List).
//
// Errors: Keeper methods return the Store's errors wrapped; Verify returns an error wrapping
// ErrInvalid.
package checkpoint
