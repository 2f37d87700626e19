// Package audit is the append-only access and change log: one hash-chained log per organisation that
// records every read and write of case data and every security event (sign-ins, failed sign-ins,
// lockouts, refresh-token reuse, device revocations, role changes). Entries carry identifiers only:
// never free text, names or any data about a child.
//
// # Recording
//
// Service.Record gives an entry the next sequence number of its organisation (1, 2, 3, ... with no
// gap), the server time and the hash link, and appends it. The store keys entries by
// "<org id>:<seq, 12 digits>", so when two instances race for the same number the second insert fails
// on the duplicate key (ErrSeqTaken) and that writer re-reads the end of the log and tries the next
// number: the chain never forks and never skips a number. Within one process, the writers of an
// organisation do not race at all: they commit in groups. Concurrent callers queue their entries and
// one leader at a time chains everything queued (up to MaxBatch entries) after the newest entry the
// process knows (kept in memory) and stores it with one ordered insert, so an organisation's
// throughput grows with the number of concurrent writers instead of being capped by the round trips
// of one entry. Record returns only once its entry is stored. When Record cannot write it returns an
// error and the caller must fail its request: auditing cannot be skipped. The head (below) is moved
// after the callers are answered, when the queue runs empty and at least every HeadEvery group
// commits; Flush waits for that before a process stops.
//
// # The hash chain
//
// Entry n stores PrevHash = the Hash of entry n-1; entry 1 stores PrevHash = 64 "0" characters
// (ZeroHash). Hash is the lower-case hex SHA-256 of the entry's canonical encoding, which is the
// bytes of this JSON object: exactly these twelve members, in this order, with no whitespace
// anywhere and no trailing newline:
//
//	{"org_id":S,"seq":N,"time":T,"actor_id":S,"actor_role":S,"device_id":S,"action":S,
//	 "resource_type":S,"resource_id":S,"outcome":S,"request_id":S,"prev_hash":S}
//
// (shown on two lines here; it is one line). Each S is a JSON string, "" when the field is not set
// (never null, never left out). N is the sequence number as a plain JSON integer (no sign, leading
// zeros, fraction or exponent). T is the time as a JSON string in RFC 3339, UTC, with exactly three
// fractional digits and the "Z" suffix, for example "2025-03-01T09:30:00.120Z". Every string field
// is at most 256 characters of printable ASCII other than space, '"', '\', '<', '>' and '&' (Record
// refuses anything else; see Entry.Validate), so no character is ever escaped and any JSON encoder
// that keeps member order and writes no whitespace produces the same bytes. In Python:
//
//	fields = ["org_id", "seq", "time", "actor_id", "actor_role", "device_id", "action",
//	          "resource_type", "resource_id", "outcome", "request_id", "prev_hash"]
//	body = json.dumps({k: entry[k] for k in fields}, separators=(",", ":"))
//	hash = hashlib.sha256(body.encode("ascii")).hexdigest()
//
// A worked example (the test vector in hash_test.go): the entry
//
//	{"org_id":"org-1","seq":1,"time":"2025-03-01T09:30:00.120Z","actor_id":"u-7","actor_role":"caseworker","device_id":"d-3","action":"case.read","resource_type":"case","resource_id":"c-42","outcome":"success","request_id":"r-1","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000"}
//
// has Hash 8b3a683e955895c4edac966f121c9e1605bc78a5c4200cb79918edcf12533fa9.
//
// # Verification
//
// Service.VerifyFull walks an organisation's log in Seq order, recomputes every hash and checks every
// link and that the numbers run 1, 2, 3, ... without a gap. The store also keeps a copy of a recent
// entry apart from the log (its head, see Store), and the process remembers the newest entry it
// stored, so deleting or rewriting the newest entries is found too: by the process that wrote them at
// once, by any other once the head has moved past them (when its writer's queue ran empty, after at
// most HeadEvery group commits under load). The chain finds changes made by anyone who cannot also
// recompute every later hash and the head; to detect a full rewrite, note Report.LastHash outside the
// system from time to time.
//
// # Checkpoints
//
// With WithCheckpoints, the leader of an organisation also signs checkpoints of its log (package
// checkpoint): after CheckpointEntries entries, and when idle once the checkpoint interval has passed,
// so a checkpoint lags the log by a bounded number of entries or time. Service.Verify (routine
// verification) starts from the newest checkpoint whose signature verifies: the entry it signs must
// exist with the signed hash, and only the entries after it are read (by number, which the embedded
// database answers from its _id index), so its cost does not grow with the log. A checkpoint outlives
// the head: deleting the newest entries together with the head, or truncating the log, is found
// whenever a checkpoint covers what was deleted. Service.VerifyFull, also run in the background by
// StartVerifyJob, reads everything, checkpoints included.
package audit
