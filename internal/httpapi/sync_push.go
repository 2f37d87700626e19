package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
)

// POST /v1/sync/push: the operations' envelopes, read once by type and action into their kinds'
// payloads (devicesync.Kind), and the results.

// pushOperation is one operation of a push, its body still raw: it is read by type and action.
type pushOperation struct {
	OpID        string          `json:"op_id" validate:"required,uuid"`
	Type        string          `json:"type" validate:"required,max=64"`
	Action      string          `json:"action" validate:"required,oneof=create update append close reopen"`
	ID          string          `json:"id" validate:"required,uuid"`
	CaseID      string          `json:"case_id" validate:"omitempty,uuid"`
	BaseVersion int64           `json:"base_version" validate:"min=0"`
	Group       string          `json:"group" validate:"max=64"`
	Data        json.RawMessage `json:"data"`
	Changes     json.RawMessage `json:"changes"`
	Base        json.RawMessage `json:"base"`
}

type pushRequest struct {
	Operations []pushOperation `json:"operations" validate:"required,min=1,max_sync_operations"`
}

type pushResultView struct {
	OpID              string          `json:"op_id"`
	Status            string          `json:"status"`
	Type              string          `json:"type"`
	ID                string          `json:"id"`
	Record            *syncRecordView `json:"record,omitempty"`
	Current           *syncRecordView `json:"current,omitempty"`
	MergedFields      []string        `json:"merged_fields,omitempty"`
	ConflictingFields []string        `json:"conflicting_fields,omitempty"`
	Problem           *problem        `json:"problem,omitempty"`
	First             json.RawMessage `json:"first,omitempty"`
}

type pushView struct {
	Results []pushResultView `json:"results"`
}

// fingerprintOf hashes what the device sent for one operation (its op_id aside), so that a
// reused op_id with other content is told from a retry.
func fingerprintOf(o pushOperation) string {
	h := sha256.New()
	for _, part := range []string{o.Type, o.Action, o.ID, o.CaseID, strconv.FormatInt(o.BaseVersion, 10), o.Group} {
		h.Write([]byte(strconv.Quote(part)))
	}
	for _, raw := range []json.RawMessage{o.Data, o.Changes, o.Base} {
		var buf bytes.Buffer
		if json.Compact(&buf, raw) != nil {
			buf.Reset()
			buf.Write(raw)
		}
		h.Write([]byte(strconv.Itoa(buf.Len()) + ":"))
		h.Write(buf.Bytes())
	}
	return hex.EncodeToString(h.Sum(nil))
}

// syncPush answers POST /v1/sync/push: one result per operation (see devicesync.Service.Push).
func (s *Server) syncPush(c *fiber.Ctx) error {
	var req pushRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	var fes []apperr.FieldError // each operation's envelope, named operations[i].field
	for i := range req.Operations {
		for _, fe := range s.validate.check(&req.Operations[i]) {
			fe.Field = "operations[" + strconv.Itoa(i) + "]." + fe.Field
			fes = append(fes, fe)
		}
	}
	if len(fes) > 0 {
		return apperr.Validation(fes...)
	}
	ops := make([]devicesync.Operation, len(req.Operations))
	early := map[int]devicesync.Result{} // operations refused before they reach the engine
	seen := map[string]bool{}
	for i, o := range req.Operations {
		op := devicesync.Operation{OpID: o.OpID, Type: o.Type, Action: devicesync.Action(o.Action), ID: o.ID, CaseID: o.CaseID,
			BaseVersion: o.BaseVersion, Group: o.Group, Fingerprint: fingerprintOf(o)}
		var err error
		switch t, ok := syncTypes[o.Type]; {
		case seen[o.OpID]:
			err = apperr.Validation(apperr.FieldError{Field: "op_id", Code: "repeated", MessageID: "field.repeated"})
		case !ok:
			err = apperr.Validation(apperr.FieldError{Field: "type", Code: "unknown_type", MessageID: "field.sync_unknown_type", Data: map[string]any{"Type": o.Type}})
		default:
			op.Payload, err = t.decode(s, o)
		}
		seen[o.OpID] = true
		if err != nil {
			early[i] = devicesync.Result{OpID: o.OpID, Status: devicesync.StatusRejected, Type: o.Type, ID: o.ID, Problem: err}
			op.Refused = err // in a group, the engine rejects it and fails the group
		}
		ops[i] = op
	}
	var pass []devicesync.Operation
	var at []int
	for i, op := range ops {
		if op.Refused != nil && op.Group == "" {
			continue // answered here: nothing of it reaches the engine
		}
		pass = append(pass, op)
		at = append(at, i)
	}
	results, err := s.deps.Sync.Push(c.UserContext(), principal(c), pass, s.EncodeSyncResult)
	if err != nil {
		return err
	}
	out := pushView{Results: make([]pushResultView, len(ops))}
	for i, r := range early {
		out.Results[i] = s.toPushResultView(c.UserContext(), r) // grouped ones are overwritten below with the engine's
	}
	for k, r := range results {
		r.Type = req.Operations[at[k]].Type
		out.Results[at[k]] = s.toPushResultView(c.UserContext(), r)
	}
	return s.sendPrivate(c, out)
}

// EncodeSyncResult renders a push result as its JSON (what a replay returns as "first"), in the
// locale of ctx. It returns the encoder's error.
func (s *Server) EncodeSyncResult(ctx context.Context, r devicesync.Result) ([]byte, error) {
	return jsonEncode(s.toPushResultView(ctx, r))
}

func (s *Server) toPushResultView(ctx context.Context, r devicesync.Result) pushResultView {
	v := pushResultView{OpID: r.OpID, Status: string(r.Status), Type: r.Type, ID: r.ID, MergedFields: r.MergedFields,
		ConflictingFields: r.ConflictingFields, First: r.Replay}
	if r.Record != nil {
		rec := toSyncRecordView(*r.Record)
		v.Record = &rec
	}
	if r.Current != nil {
		rec := toSyncRecordView(*r.Current)
		v.Current = &rec
	}
	if r.Problem != nil {
		p := s.problemOf(ctx, r.Problem)
		v.Problem = &p
	}
	return v
}

// problemOf renders a refusal as a localized problem document, built as the error handler builds
// its own (buildProblem).
func (s *Server) problemOf(ctx context.Context, err error) problem {
	return s.buildProblem(Locale(ctx), err, classifyError(err), "/v1/sync/push", audit.RequestID(ctx))
}

// decodeRaw reads an operation's JSON part strictly into dst (like decodeBody: one object, no
// unknown fields, right types) and validates it. Operator keys were refused with the whole body.
func (s *Server) decodeRaw(field string, raw json.RawMessage, dst any) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return apperr.Validation(apperr.FieldError{Field: field, Code: "required", MessageID: "field.required"})
	}
	if bytes.TrimSpace(raw)[0] != '{' {
		return apperr.Validation(apperr.FieldError{Field: field, Code: "not_object", MessageID: "field.not_object"})
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var tree any
		_ = json.Unmarshal(raw, &tree)
		return malformedIn(err, tree, dst)
	}
	if errs := s.validate.check(dst); len(errs) > 0 {
		return apperr.Validation(errs...)
	}
	return nil
}

func noExtra(op pushOperation, allowed ...string) error {
	for name, raw := range map[string]json.RawMessage{"data": op.Data, "changes": op.Changes, "base": op.Base} {
		if len(raw) > 0 && !slices.Contains(allowed, name) {
			return apperr.Validation(apperr.FieldError{Field: name, Code: "unknown", MessageID: "field.unknown_field"})
		}
	}
	return nil
}

func errSyncAction(a string) error {
	return apperr.Validation(apperr.FieldError{Field: "action", Code: "unsupported", MessageID: "field.sync_action", Data: map[string]any{"Action": a}})
}

// decodeChanges reads an update of kind k: changes and base (optional) as bodies B, given to the
// handler as convert makes them; base_version is required.
func decodeChanges[B, P any](s *Server, op pushOperation, k devicesync.Kind[P], convert func(B) P) (devicesync.Payload, error) {
	if err := noExtra(op, "changes", "base"); err != nil {
		return nil, err
	}
	if op.BaseVersion < 1 {
		return nil, errBaseVersion()
	}
	var ch, base B
	if err := s.decodeRaw("changes", op.Changes, &ch); err != nil {
		return nil, err
	}
	if len(op.Base) > 0 {
		if err := s.decodeRaw("base", op.Base, &base); err != nil {
			return nil, err
		}
	}
	return k.Changes(convert(ch), convert(base)), nil
}

func errBaseVersion() error {
	return apperr.Validation(apperr.FieldError{Field: "base_version", Code: "required", MessageID: "field.required"})
}
