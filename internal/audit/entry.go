package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ZeroHash is the PrevHash of the first entry of every organisation's log.
const ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

// TimeLayout is the layout of Time in the canonical encoding: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// MaxFieldLength is the longest string field Record accepts, in bytes.
const MaxFieldLength = 256

// Outcome says how the audited operation ended.
type Outcome string

// The outcomes.
const (
	OutcomeSuccess Outcome = "success" // the operation was done
	OutcomeDenied  Outcome = "denied"  // the caller was not allowed to do it (or not authenticated)
	OutcomeFailure Outcome = "failure" // it was allowed but failed (invalid input, conflict, database error)
)

// DeploymentLog is the organisation id under which security events that belong to no organisation
// are recorded (a failed sign-in with an unknown user name, a lock of a client address). No
// organisation may have this id.
const DeploymentLog = "deployment"

// Actions in use. Action is "<resource>.<verb>" in lower case; other packages may record others of
// that form (for example "evidence.read", "interview.update").
const (
	ActionCaseRead        = "case.read"
	ActionCaseCreate      = "case.create"
	ActionCaseUpdate      = "case.update"
	ActionAuthLogin       = "auth.login"
	ActionAuthLoginFailed = "auth.login_failed"
	ActionAuthLocked      = "auth.locked"
	ActionAuthTokenReuse  = "auth.token_reuse"
	ActionDeviceRevoked   = "device.revoked"
	ActionUserRoleChanged = "user.role_changed"
	ActionAuditRead       = "audit.read"   // reading the audit log is audited too
	ActionAuditVerify     = "audit.verify" // so is verifying it
)

// Entry is one audit log record. It holds identifiers only: no free text, no names, no notes and
// nothing about a child (the case is named by its id). Every string field is at most MaxFieldLength
// characters of printable ASCII other than space, '"', '\', '<', '>' and '&'.
//
// The caller of Service.Record fills OrgID, ActorID, ActorRole, DeviceID, Action, ResourceType,
// ResourceID, Outcome and RequestID (empty when not applicable, for example ActorID of a failed
// sign-in with an unknown user name); Record sets Seq, Time, PrevHash and Hash.
type Entry struct {
	OrgID        string    // the organisation whose log this is
	Seq          int64     // 1, 2, 3, ... per organisation
	Time         time.Time // server clock when recorded, UTC, milliseconds (instances' clocks may disagree slightly: order by Seq)
	ActorID      string    // the user who acted; empty when unknown
	ActorRole    string    // the role the actor acted in (identity.Role), or empty
	DeviceID     string    // the device the request came from, or empty
	Action       string    // what was done, "<resource>.<verb>", e.g. "case.read"
	ResourceType string    // the kind of record acted on, e.g. "case", "user", "device"
	ResourceID   string    // its id
	Outcome      Outcome   // success, denied or failure
	RequestID    string    // the request id, to join the entry with service logs
	PrevHash     string    // Hash of the previous entry, ZeroHash for Seq 1
	Hash         string    // hex SHA-256 of the canonical encoding (see the package documentation)
}

// canonicalEntry is the canonical encoding: field order here is the member order of the JSON object.
type canonicalEntry struct {
	OrgID        string `json:"org_id"`
	Seq          int64  `json:"seq"`
	Time         string `json:"time"`
	ActorID      string `json:"actor_id"`
	ActorRole    string `json:"actor_role"`
	DeviceID     string `json:"device_id"`
	Action       string `json:"action"`
	ResourceType string `json:"resource_type"`
	ResourceID   string `json:"resource_id"`
	Outcome      string `json:"outcome"`
	RequestID    string `json:"request_id"`
	PrevHash     string `json:"prev_hash"`
}

// CanonicalJSON returns the bytes the entry's Hash is computed over (every field except Hash; see
// the package documentation). It never fails.
func (e Entry) CanonicalJSON() []byte {
	b, err := json.Marshal(canonicalEntry{
		OrgID: e.OrgID, Seq: e.Seq, Time: e.Time.UTC().Format(TimeLayout),
		ActorID: e.ActorID, ActorRole: e.ActorRole, DeviceID: e.DeviceID, Action: e.Action,
		ResourceType: e.ResourceType, ResourceID: e.ResourceID, Outcome: string(e.Outcome),
		RequestID: e.RequestID, PrevHash: e.PrevHash,
	})
	if err != nil { // strings and an int64 always encode
		panic(fmt.Sprintf("audit: encoding an entry: %v", err))
	}
	return b
}

// ComputeHash returns the lower-case hex SHA-256 of CanonicalJSON: what Hash must be. It never fails.
func (e Entry) ComputeHash() string {
	sum := sha256.Sum256(e.CanonicalJSON())
	return hex.EncodeToString(sum[:])
}

// ErrInvalidEntry is wrapped by the error Record returns for an entry it refuses (a programming error
// of the caller: the request must fail with an internal error).
var ErrInvalidEntry = errors.New("invalid audit entry")

// Validate checks the fields a caller of Record fills: OrgID and Action set, Action of the form
// "<resource>.<verb>" in lower case, Outcome one of the three outcomes, and every string field made of
// allowed characters (see Entry) and not too long. It returns an error wrapping ErrInvalidEntry that
// names the first bad field.
func (e Entry) Validate() error {
	fields := []struct{ name, value string }{
		{"org_id", e.OrgID}, {"actor_id", e.ActorID}, {"actor_role", e.ActorRole}, {"device_id", e.DeviceID},
		{"action", e.Action}, {"resource_type", e.ResourceType}, {"resource_id", e.ResourceID},
		{"outcome", string(e.Outcome)}, {"request_id", e.RequestID},
	}
	for _, f := range fields {
		if len(f.value) > MaxFieldLength {
			return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalidEntry, f.name, MaxFieldLength)
		}
		if i := strings.IndexFunc(f.value, func(r rune) bool { return !allowedRune(r) }); i >= 0 {
			return fmt.Errorf("%w: %s has a character that is not allowed at byte %d", ErrInvalidEntry, f.name, i)
		}
	}
	if e.OrgID == "" {
		return fmt.Errorf("%w: org_id is empty", ErrInvalidEntry)
	}
	if !validAction(e.Action) {
		return fmt.Errorf("%w: action %q is not of the form <resource>.<verb> in lower case", ErrInvalidEntry, e.Action)
	}
	switch e.Outcome {
	case OutcomeSuccess, OutcomeDenied, OutcomeFailure:
	default:
		return fmt.Errorf("%w: outcome %q is not success, denied or failure", ErrInvalidEntry, e.Outcome)
	}
	return nil
}

// allowedRune reports whether r may appear in a string field: printable ASCII that JSON encoders
// never escape (no space, so no free text).
func allowedRune(r rune) bool {
	return r > ' ' && r < 0x7f && r != '"' && r != '\\' && r != '<' && r != '>' && r != '&'
}

// validAction reports whether a is dot-separated lower-case words (letters, digits, '_'), at least two.
func validAction(a string) bool {
	parts := strings.Split(a, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for _, r := range p {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
				return false
			}
		}
	}
	return true
}

// detached returns a copy of e whose strings share no memory with the caller's.
func (e Entry) detached() Entry {
	for _, f := range []*string{&e.OrgID, &e.ActorID, &e.ActorRole, &e.DeviceID, &e.Action, &e.ResourceType,
		&e.ResourceID, &e.RequestID, &e.PrevHash, &e.Hash} {
		*f = strings.Clone(*f)
	}
	e.Outcome = Outcome(strings.Clone(string(e.Outcome)))
	return e
}
