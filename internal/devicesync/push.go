package devicesync

import (
	"bytes"
	"context"
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

func errUnknownType(t string) error {
	return apperr.Validation(apperr.FieldError{Field: "type", Code: "unknown_type", MessageID: "field.sync_unknown_type", Data: map[string]any{"Type": t}})
}

// errOpIDReused is the problem of an operation whose OpID was applied before with other content.
func errOpIDReused() error {
	return apperr.New(apperr.Conflict, "op_id_reused", "ErrOpIDReused", nil)
}

// fingerprintSep ends the fingerprint stored before an encoded result (an encoded result is a
// JSON object, so it never starts with fingerprintTag).
const (
	fingerprintTag = "fp:"
	fingerprintSep = '\n'
)

// withFingerprint prefixes an encoded result with the fingerprint of its operation.
func withFingerprint(fp string, encoded []byte) []byte {
	if fp == "" {
		return encoded
	}
	out := make([]byte, 0, len(fingerprintTag)+len(fp)+1+len(encoded))
	out = append(out, fingerprintTag...)
	out = append(out, fp...)
	out = append(out, fingerprintSep)
	return append(out, encoded...)
}

// splitFingerprint returns the fingerprint stored with a result (empty for a result stored
// without one) and the encoded result.
func splitFingerprint(stored []byte) (string, []byte) {
	if !bytes.HasPrefix(stored, []byte(fingerprintTag)) {
		return "", stored
	}
	rest := stored[len(fingerprintTag):]
	i := bytes.IndexByte(rest, fingerprintSep)
	if i < 0 {
		return "", stored
	}
	return string(rest[:i]), rest[i+1:]
}

// replayOf answers op from the stored first result of its OpID: already_applied when op is the
// same operation (or either fingerprint is unknown), a conflict holding the first result when the
// OpID was reused for other content.
func replayOf(op Operation, stored []byte) Result {
	fp, first := splitFingerprint(stored)
	if fp != "" && op.Fingerprint != "" && fp != op.Fingerprint {
		return Result{OpID: op.OpID, Status: StatusConflict, Type: op.Type, ID: op.ID, Replay: first, Problem: errOpIDReused()}
	}
	return Result{OpID: op.OpID, Status: StatusAlreadyApplied, Type: op.Type, ID: op.ID, Replay: first}
}

func errGroupFailed(group string) error {
	return apperr.New(apperr.Invalid, "sync_group_failed", "ErrSyncGroupFailed", map[string]any{"Group": group})
}

// Push applies the operations of p's device in order and returns one result per operation, in
// the same order. An operation whose OpID was applied before is not applied again: its result is
// already_applied with the first result. An operation that fails is rejected (its problem in the
// result) without stopping the others, except within a group: the operations sharing a Group are
// all-or-nothing. A group is checked as a whole first (every operation validated against the
// current state and the group's own creates); if any check fails, none is applied (the failing one
// rejected, the others not_applied). The embedded database has no transactions, so a failure
// after the checks passed (a concurrent change, a database error) stops the group there: the
// operations already applied stay applied (creates and appends are idempotent, so the device
// re-sends the rest), and the rest are not_applied.
//
// It returns identity.ErrForbidden for roles without case data; an error, failing the whole push,
// when the database fails (operations applied until then keep their stored results, so a retry
// replays them); or the recorder's error. encode renders each applied result as a replay of it will
// return it (it is stored for IDEMPOTENCY_RETENTION); its error fails the push.
func (s *Service) Push(ctx context.Context, p identity.Principal, ops []Operation, encode Encoder) ([]Result, error) {
	role, err := actsAs(p)
	if err != nil {
		return nil, s.deny(ctx, p, ActionPush, err)
	}
	results := make([]Result, len(ops))
	done := make([]bool, len(ops))
	ids := make([]string, len(ops))
	for i, op := range ops {
		ids[i] = op.OpID
	}
	// The results of earlier pushes, in one query (on the embedded database every lookup scans).
	read, err := s.results.Results(ctx, p.OrgID, p.UserID, ids)
	if err != nil {
		return nil, fmt.Errorf("reading the results of earlier pushes: %w", err)
	}
	st := pushState{stored: read, encode: encode}
	for i, op := range ops {
		if done[i] {
			continue
		}
		if op.Group == "" {
			r, err := s.pushOne(ctx, p, op, st)
			if err != nil {
				return nil, err
			}
			results[i], done[i] = r, true
			continue
		}
		var idx []int
		for j := i; j < len(ops); j++ {
			if ops[j].Group == op.Group {
				idx = append(idx, j)
			}
		}
		rs, err := s.pushGroup(ctx, p, ops, idx, st)
		if err != nil {
			return nil, err
		}
		for k, j := range idx {
			results[j], done[j] = rs[k], true
		}
	}
	if err := s.events.RecordEvent(ctx, p.AuditEvent(role, ActionPush, "device", p.DeviceID, audit.OutcomeSuccess)); err != nil {
		return nil, fmt.Errorf("recording a sync event: %w", err)
	}
	if err := s.states.TouchPush(ctx, p.OrgID, p.DeviceID, p.UserID, s.now().UTC()); err != nil {
		return nil, fmt.Errorf("recording the push: %w", err)
	}
	return results, nil
}

// pushState is what one Push hands down to its operations: the results of earlier pushes of its
// operations (read once at its start) and the encoder of the results it stores.
type pushState struct {
	stored map[string][]byte // by op id
	encode Encoder
}

// replayed returns the answer from the stored first result of op, if any (see replayOf).
func (st pushState) replayed(op Operation) (Result, bool) {
	b, ok := st.stored[op.OpID]
	if !ok {
		return Result{}, false
	}
	return replayOf(op, b), true
}

// pushOne applies one operation (unless it was applied before) and stores its result.
func (s *Service) pushOne(ctx context.Context, p identity.Principal, op Operation, st pushState) (Result, error) {
	if r, ok := st.replayed(op); ok {
		return r, nil
	}
	r, err := s.apply(ctx, p, op)
	if err != nil {
		return Result{}, err
	}
	return s.keep(ctx, p, r, op.Fingerprint, st.encode)
}

// apply runs op's applier; client errors (and a refusal) become a rejected result.
func (s *Service) apply(ctx context.Context, p identity.Principal, op Operation) (Result, error) {
	if op.Refused != nil {
		return Result{OpID: op.OpID, Status: StatusRejected, Type: op.Type, ID: op.ID, Problem: op.Refused}, nil
	}
	a, err := s.applierFor(op)
	if err != nil {
		return Result{OpID: op.OpID, Status: StatusRejected, Type: op.Type, ID: op.ID, Problem: err}, nil
	}
	r, err := a.apply(ctx, p, op)
	if err != nil {
		if clientError(err) {
			return Result{OpID: op.OpID, Status: StatusRejected, Type: op.Type, ID: op.ID, Problem: err}, nil
		}
		return Result{}, fmt.Errorf("applying operation %s: %w", op.OpID, err)
	}
	r.OpID, r.Type = op.OpID, op.Type
	if r.ID == "" {
		r.ID = op.ID
	}
	return r, nil
}

// keep stores r as the first result of its operation; when a concurrent push of the same
// operation stored one first, that one is returned as a replay.
func (s *Service) keep(ctx context.Context, p identity.Principal, r Result, fingerprint string, encode Encoder) (Result, error) {
	b, err := encode(ctx, r)
	if err != nil {
		return Result{}, fmt.Errorf("encoding the result of %s: %w", r.OpID, err)
	}
	stored, saved, err := s.results.SaveResult(ctx, p.OrgID, p.UserID, r.OpID, withFingerprint(fingerprint, b))
	if err != nil {
		return Result{}, fmt.Errorf("storing the result of %s: %w", r.OpID, err)
	}
	if !saved {
		return replayOf(Operation{OpID: r.OpID, Type: r.Type, ID: r.ID, Fingerprint: fingerprint}, stored), nil
	}
	return r, nil
}

// pushGroup applies the all-or-nothing group of ops at indexes idx (see Push).
func (s *Service) pushGroup(ctx context.Context, p identity.Principal, ops []Operation, idx []int, st pushState) ([]Result, error) {
	out := make([]Result, len(idx))
	pending := []int{} // positions in idx still to apply
	for k, j := range idx {
		if r, ok := st.replayed(ops[j]); ok {
			out[k] = r
			continue
		}
		pending = append(pending, k)
	}
	group := ops[idx[0]].Group
	notApplied := func(from int, except int) {
		for _, k := range pending[from:] {
			if k == except {
				continue
			}
			op := ops[idx[k]]
			if op.Refused != nil { // refused on its own: rejected with its problem, whatever else failed
				out[k] = Result{OpID: op.OpID, Status: StatusRejected, Type: op.Type, ID: op.ID, Problem: op.Refused}
				continue
			}
			out[k] = Result{OpID: op.OpID, Status: StatusNotApplied, Type: op.Type, ID: op.ID, Problem: errGroupFailed(group)}
		}
	}
	// Check everything first, with the group's own creates in view.
	created := Created{}
	for _, k := range pending {
		op := ops[idx[k]]
		err := op.Refused
		if err == nil {
			var a Applier
			if a, err = s.applierFor(op); err == nil {
				err = a.check(ctx, p, op, created)
			}
		}
		if err != nil {
			if !clientError(err) {
				return nil, fmt.Errorf("checking operation %s: %w", op.OpID, err)
			}
			notApplied(0, k)
			out[k] = Result{OpID: op.OpID, Status: StatusRejected, Type: op.Type, ID: op.ID, Problem: err}
			return out, nil
		}
		if op.Action == ActionCreate {
			if created[op.Type] == nil {
				created[op.Type] = map[string]bool{}
			}
			created[op.Type][op.ID] = true
		}
	}
	// Apply in order; stop at the first operation that does not apply.
	for n, k := range pending {
		r, err := s.apply(ctx, p, ops[idx[k]])
		if err != nil {
			return nil, err
		}
		if r.Status != StatusApplied && r.Status != StatusMerged {
			out[k] = r
			notApplied(n+1, -1)
			return s.keepAll(ctx, p, ops, idx, out, pending[:n], st.encode)
		}
		out[k] = r
	}
	return s.keepAll(ctx, p, ops, idx, out, pending, st.encode)
}

// keepAll stores the results at positions ks of out (of the operations ops[idx[k]]).
func (s *Service) keepAll(ctx context.Context, p identity.Principal, ops []Operation, idx []int, out []Result, ks []int, encode Encoder) ([]Result, error) {
	for _, k := range ks {
		r, err := s.keep(ctx, p, out[k], ops[idx[k]].Fingerprint, encode)
		if err != nil {
			return nil, err
		}
		out[k] = r
	}
	return out, nil
}
