package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// syncRoutes registers device sync: pull, push and the devices' sync state.
func (s *Server) syncRoutes(app *fiber.App) {
	caseRoles := rolesOnly(identity.RoleCaseworker, identity.RoleSupervisor)
	s.handle(app, fiber.MethodGet, "/v1/sync/changes", caseRoles, s.syncChanges)
	s.handle(app, fiber.MethodPost, "/v1/sync/push", caseRoles, s.syncPush)
	s.handle(app, fiber.MethodGet, "/v1/sync/status", signedIn, s.syncStatus)
}

// syncType is how the HTTP layer shows and reads the records of one synced type. Adding a type to
// sync adds an entry here (see the README section "Offline sync").
type syncType struct {
	view   func(any) any                                                 // the record's API view
	decode func(s *Server, op pushOperation) (devicesync.Payload, error) // an operation's body, by action, into its kind's payload
}

var syncTypes = map[string]syncType{
	devicesync.TypeCase: {view: func(v any) any { return toCaseView(v.(casework.Case)) }, decode: decodeCaseOp},
	devicesync.TypeRun:  {view: func(v any) any { return toRunSyncView(v.(casework.Run)) }, decode: decodeRunOp},
	devicesync.TypeInterviewSession: {view: func(v any) any { // the session view without what is computed for a reader (checklist, quality, locale)
		x := v.(devicesync.InterviewSession)
		return toInterviewRecordView(x.Session, x.Log)
	}, decode: decodeInterviewOp},
	devicesync.TypeEvidenceItem: {view: func(v any) any { return toEvidenceItemView(v.(evidence.Item)) }, decode: decodeEvidenceItemOp},
	devicesync.TypeCustodyEvent: {view: func(v any) any { return toCustodyEventView(v.(evidence.Event)) }, decode: decodeCustodyEventOp},
}

// runSyncView is a run with all its records, as a device stores it.
type runSyncView struct {
	runView
	Records []stepRecordView `json:"records"`
}

func toRunSyncView(r casework.Run) runSyncView {
	v := runSyncView{runView: toRunView(r), Records: make([]stepRecordView, len(r.Records))}
	for i, rec := range r.Records {
		v.Records[i] = toStepRecordView(rec)
	}
	return v
}

type syncRecordView struct {
	Type      string    `json:"type"`
	ID        string    `json:"id"`
	CaseID    string    `json:"case_id"`
	ChangeSeq int64     `json:"change_seq"`
	Version   *int64    `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	Data      any       `json:"data"`
}

type syncRemovalView struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	CaseID    string `json:"case_id"`
	ChangeSeq int64  `json:"change_seq"`
	Reason    string `json:"reason"`
}

type libraryEntryView struct {
	ProtocolID  string    `json:"protocol_id"`
	Version     int       `json:"version"`
	ContentHash string    `json:"content_hash"`
	PublishedAt time.Time `json:"published_at"`
}

type syncChangesView struct {
	Records    []syncRecordView   `json:"records"`
	Removals   []syncRemovalView  `json:"removals"`
	Library    []libraryEntryView `json:"library"`
	Reset      bool               `json:"reset"`
	NextCursor string             `json:"next_cursor"`
	HasMore    bool               `json:"has_more"`
	Watermark  *int64             `json:"watermark"`
}

func toSyncRecordView(r devicesync.Record) syncRecordView {
	v := syncRecordView{Type: r.Type, ID: r.ID, CaseID: r.CaseID, ChangeSeq: r.Seq, UpdatedAt: r.UpdatedAt, Data: r.Data}
	if r.Version > 0 {
		version := r.Version
		v.Version = &version
	}
	if t, ok := syncTypes[r.Type]; ok {
		v.Data = t.view(r.Data)
	}
	return v
}

// syncChanges answers GET /v1/sync/changes: the next page of what changed for the caller's device.
func (s *Server) syncChanges(c *fiber.Ctx) error {
	q := readQuery(c, "cursor", "limit")
	lq := struct {
		Limit int `query:"limit" validate:"min=1,max_sync_page"`
	}{Limit: q.integer("limit", devicesync.DefaultPageSize)}
	cur := q.str("cursor")
	if q.values.Has("cursor") && cur == "" {
		q.errs = append(q.errs, apperr.FieldError{Field: "cursor", Code: "cursor", MessageID: "field.cursor"})
	}
	if err := q.done(s.validate, &lq); err != nil {
		return err
	}
	page, err := s.deps.Sync.Pull(c.UserContext(), principal(c), cur, lq.Limit)
	if err != nil {
		return err
	}
	out := syncChangesView{Records: make([]syncRecordView, len(page.Records)), Removals: make([]syncRemovalView, len(page.Removals)),
		Reset: page.Reset, NextCursor: page.NextCursor, HasMore: page.HasMore}
	for i, r := range page.Records {
		out.Records[i] = toSyncRecordView(r)
	}
	for i, r := range page.Removals {
		out.Removals[i] = syncRemovalView{Type: r.Type, ID: r.ID, CaseID: r.CaseID, ChangeSeq: r.Seq, Reason: r.Reason}
	}
	if page.Library != nil {
		out.Library = make([]libraryEntryView, len(page.Library))
		for i, e := range page.Library {
			out.Library[i] = libraryEntryView(e)
		}
	}
	if !page.HasMore {
		out.Watermark = &page.Watermark
	}
	return s.sendPrivate(c, out)
}

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

// childChangesBody and caseChangesBody are the changed fields of a case update; absent fields are
// unchanged.
type childChangesBody struct {
	Pseudonym         *string    `json:"pseudonym" validate:"omitempty,max_pseudonym"`
	AgeBand           *string    `json:"age_band" validate:"omitempty,age_band"`
	BirthYear         *int       `json:"birth_year" validate:"omitempty,min=0,max=2100"`
	Gender            *string    `json:"gender" validate:"omitempty,oneof=female male other undisclosed"`
	PreferredLanguage *string    `json:"preferred_language" validate:"omitempty,max_language"`
	Needs             *needsBody `json:"needs"`
}

type caseChangesBody struct {
	ReferenceNumber *string           `json:"reference_number" validate:"omitempty,max_case_reference"`
	Child           *childChangesBody `json:"child"`
	CaseTypes       *[]string         `json:"case_types" validate:"omitempty,min=1,max=5,dive,case_type"`
	CaseworkerIDs   *[]string         `json:"caseworker_ids" validate:"omitempty,max_caseworkers,dive,max_user_id"`
	SupervisorID    *string           `json:"supervisor_id" validate:"omitempty,max_user_id"`
}

func toCaseChanges(b caseChangesBody) devicesync.CaseChanges {
	ch := devicesync.CaseChanges{ReferenceNumber: b.ReferenceNumber, CaseworkerIDs: b.CaseworkerIDs, SupervisorID: b.SupervisorID}
	if b.CaseTypes != nil {
		types := toCaseTypes(*b.CaseTypes)
		ch.CaseTypes = &types
	}
	if c := b.Child; c != nil {
		cc := &devicesync.ChildChanges{Pseudonym: c.Pseudonym, BirthYear: c.BirthYear, PreferredLanguage: c.PreferredLanguage}
		if c.AgeBand != nil {
			band := protocol.AgeBand(*c.AgeBand)
			cc.AgeBand = &band
		}
		if c.Gender != nil {
			g := casework.Gender(*c.Gender)
			cc.Gender = &g
		}
		if c.Needs != nil {
			n := casework.Needs(*c.Needs)
			cc.Needs = &n
		}
		ch.Child = cc
	}
	return ch
}

func decodeCaseOp(s *Server, op pushOperation) (devicesync.Payload, error) {
	switch op.Action {
	case string(devicesync.ActionCreate):
		if err := noExtra(op, "data"); err != nil {
			return nil, err
		}
		var req newCaseRequest
		if err := s.decodeRaw("data", opData(op.Data, "id", op.ID), &req); err != nil { // the id is the operation's; the body may leave it out
			return nil, err
		}
		if req.ID != op.ID {
			return nil, errIDMismatch()
		}
		nc := casework.NewCase{ID: op.ID, ReferenceNumber: req.ReferenceNumber, Child: toChild(req.Child),
			CaseTypes: toCaseTypes(req.CaseTypes), CaseworkerIDs: req.CaseworkerIDs, SupervisorID: req.SupervisorID}
		if req.OpenedAt != nil {
			nc.OpenedAt = *req.OpenedAt
		}
		return devicesync.CaseCreate.Data(nc), nil
	case string(devicesync.ActionUpdate):
		return decodeChanges(s, op, devicesync.CaseUpdate, toCaseChanges)
	case string(devicesync.ActionClose), string(devicesync.ActionReopen):
		if err := noExtra(op, "data"); err != nil {
			return nil, err
		}
		if op.BaseVersion < 1 {
			return nil, errBaseVersion()
		}
		var req caseStatusBody
		if err := s.decodeRaw("data", op.Data, &req); err != nil {
			return nil, err
		}
		kind := devicesync.CaseClose
		if op.Action == string(devicesync.ActionReopen) {
			kind = devicesync.CaseReopen
		}
		return kind.Data(devicesync.CaseStatusChange{Reason: req.Reason}), nil
	}
	return nil, errSyncAction(op.Action)
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

// caseStatusBody is the data of a case close or reopen: the reason, as for POST
// /v1/cases/{id}/close (the version is the operation's base_version).
type caseStatusBody struct {
	Reason string `json:"reason" validate:"required,max_case_reason"`
}

type runStartBody struct {
	ProtocolID string `json:"protocol_id" validate:"required,max_run_protocol_id"`
}

func decodeRunOp(s *Server, op pushOperation) (devicesync.Payload, error) {
	if err := noExtra(op, "data"); err != nil {
		return nil, err
	}
	if err := requireCaseID(op); err != nil {
		return nil, err
	}
	switch op.Action {
	case string(devicesync.ActionCreate):
		var req runStartBody
		if err := s.decodeRaw("data", op.Data, &req); err != nil {
			return nil, err
		}
		return devicesync.RunCreate.Data(devicesync.RunStart{ProtocolID: req.ProtocolID}), nil
	case string(devicesync.ActionAppend):
		var req stepRecordRequest
		if err := s.decodeRaw("data", op.Data, &req); err != nil {
			return nil, err
		}
		return devicesync.RunAppend.Data(casework.NewStepRecord{StepID: req.StepID, Status: casework.StepStatus(req.Status), Reason: req.Reason, Note: req.Note,
			RecordedAt: req.RecordedAt, ClientID: req.ClientID}), nil
	}
	return nil, errSyncAction(op.Action)
}

type deviceSyncView struct {
	DeviceID      string     `json:"device_id"`
	UserID        string     `json:"user_id"`
	Name          string     `json:"name"`
	LastPullAt    *time.Time `json:"last_pull_at"`
	LastPushAt    *time.Time `json:"last_push_at"`
	LastSeenAt    *time.Time `json:"last_seen_at"`
	LastContactAt *time.Time `json:"last_contact_at"`
	RevokedAt     *time.Time `json:"revoked_at"`
	Watermark     int64      `json:"watermark"`
	Pulls         int64      `json:"pulls"`
	Pushes        int64      `json:"pushes"`
}

type syncStatusView struct {
	Items []deviceSyncView `json:"items"`
}

// syncStatus answers GET /v1/sync/status: the sync state of the caller's device, or with all=true
// (supervisors and admins) of every device of the organisation, with each one's last contact.
func (s *Server) syncStatus(c *fiber.Ctx) error {
	all, err := s.allQuery(c)
	if err != nil {
		return err
	}
	p := principal(c)
	states, err := s.deps.Sync.Status(c.UserContext(), p, all)
	if err != nil {
		return err
	}
	devices, err := s.deps.Identity.Devices(c.UserContext(), p, all)
	if err != nil {
		return err
	}
	byID := map[string]*deviceSyncView{}
	var order []string
	for _, d := range devices {
		if !all && d.ID != p.DeviceID {
			continue
		}
		seen := d.LastSeenAt
		byID[d.ID] = &deviceSyncView{DeviceID: d.ID, UserID: d.UserID, Name: d.Name, LastSeenAt: &seen, RevokedAt: d.RevokedAt}
		order = append(order, d.ID)
	}
	for _, st := range states {
		v, ok := byID[st.DeviceID]
		if !ok {
			v = &deviceSyncView{DeviceID: st.DeviceID, UserID: st.UserID}
			byID[st.DeviceID] = v
			order = append(order, st.DeviceID)
		}
		v.LastPullAt, v.LastPushAt, v.Watermark, v.Pulls, v.Pushes = st.LastPullAt, st.LastPushAt, st.Watermark, st.Pulls, st.Pushes
	}
	slices.Sort(order)
	out := syncStatusView{Items: make([]deviceSyncView, 0, len(order))}
	for _, id := range order {
		v := byID[id]
		for _, t := range []*time.Time{v.LastSeenAt, v.LastPullAt, v.LastPushAt} {
			if t != nil && (v.LastContactAt == nil || t.After(*v.LastContactAt)) {
				at := *t
				v.LastContactAt = &at
			}
		}
		out.Items = append(out.Items, *v)
	}
	return s.sendPrivate(c, out)
}
