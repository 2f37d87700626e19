package casework

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// Deadline anchors counted from the case's OpenedAt; steps timed from other anchors (interview,
// hearing) have no deadline the service can know.
var openingAnchors = []string{"first_contact", "case_opened", "disclosure"}

// StartRun starts protocol protocolID on a case, pinned to the protocol's latest published version;
// runID is chosen by the client (a UUID). It reports whether the run was created: starting again
// with the same runID, case and protocol returns the existing run and false. It returns identity.ErrForbidden, or an *apperr.Error NotFound
// (case_not_found), as Get does; an *apperr.Error Invalid for a bad id or protocol id, or
// (case_closed) when the case is closed; the protocol source's NotFound error for an unknown
// protocol; an *apperr.Error Conflict (run_id_conflict) when runID is taken by another run; or the
// store's or recorder's error.
func (s *Service) StartRun(ctx context.Context, p identity.Principal, caseID, runID, protocolID string) (Run, bool, error) {
	c, role, err := s.caseFor(ctx, p, caseID, accessCase, ActionRunStart)
	if err != nil {
		return Run{}, false, err
	}
	var fe fieldErrors
	fe.UUID(fieldID, runID)
	fe.token("protocol_id", protocolID, MaxProtocolIDLen)
	if err := fe.Err(); err != nil {
		return Run{}, false, err
	}
	if r, done, err := s.startedAlready(ctx, p, role, c, runID, protocolID); done || err != nil {
		return r, false, err
	}
	if c.Status == StatusClosed {
		return Run{}, false, errCaseClosed(c.ID)
	}
	v, err := s.protocols.Latest(protocolID)
	if err != nil {
		return Run{}, false, fmt.Errorf("finding protocol %s: %w", protocolID, err)
	}
	if v.Retired {
		return Run{}, false, apperr.New(apperr.Conflict, "protocol_retired", "ErrProtocolRetired", map[string]any{"ID": protocolID})
	}
	r := Run{ID: runID, OrgID: c.OrgID, CaseID: c.ID, ProtocolID: protocolID, ProtocolVersion: v.Number,
		StartedAt: s.clock(), StartedBy: p.UserID, Records: []StepRecord{}}
	err = s.store.CreateRun(ctx, r)
	if errors.Is(err, ErrExists) { // a concurrent start with the same id
		if r, done, err := s.startedAlready(ctx, p, role, c, runID, protocolID); done || err != nil {
			return r, false, err
		}
		return Run{}, false, fmt.Errorf("run %s exists but cannot be read", runID)
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("starting run %s: %w", runID, err)
	}
	if err := s.record(ctx, p.AuditEvent(role, ActionRunStart, ResourceRun, runID, audit.OutcomeSuccess)); err != nil {
		return Run{}, false, err
	}
	return r, true, nil
}

// startedAlready answers a start whose run id exists: done with the run when it is the same start
// (a retried request), a run_id_conflict otherwise; not done when the id is free.
func (s *Service) startedAlready(ctx context.Context, p identity.Principal, role identity.Role, c Case, runID, protocolID string) (Run, bool, error) {
	r, err := s.store.Run(ctx, runID)
	if errors.Is(err, ErrNotFound) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, true, fmt.Errorf("reading run %s: %w", runID, err)
	}
	if r.OrgID != c.OrgID || r.CaseID != c.ID || r.ProtocolID != protocolID {
		return Run{}, true, errRunIDConflict(runID)
	}
	if err := s.record(ctx, p.AuditEvent(role, ActionRunStart, ResourceRun, runID, audit.OutcomeSuccess)); err != nil {
		return Run{}, true, err
	}
	return r, true, nil
}

// GetRun returns a run of a case with the steps that apply to the case as it is now. It returns
// identity.ErrForbidden, or an *apperr.Error NotFound (case_not_found), as Get does; an
// *apperr.Error NotFound (run_not_found) when the case has no such run; or the store's, protocol
// source's or recorder's error.
func (s *Service) GetRun(ctx context.Context, p identity.Principal, caseID, runID string) (RunView, error) {
	c, role, err := s.caseFor(ctx, p, caseID, accessCase, ActionRunRead)
	if err != nil {
		return RunView{}, err
	}
	r, err := s.runFor(ctx, p, c, runID, ActionRunRead)
	if err != nil {
		return RunView{}, err
	}
	v, err := s.version(ctx, r)
	if err != nil {
		return RunView{}, err
	}
	if err := s.record(ctx, p.AuditEvent(role, ActionRunRead, ResourceRun, runID, audit.OutcomeSuccess)); err != nil {
		return RunView{}, err
	}
	return BuildView(c, r, v, s.clock()), nil
}

// ListRuns returns the runs of a case (with their records), by start time. It returns
// identity.ErrForbidden, or an *apperr.Error NotFound (case_not_found), as Get does; or the store's
// or recorder's error.
func (s *Service) ListRuns(ctx context.Context, p identity.Principal, caseID string) ([]Run, error) {
	c, role, err := s.caseFor(ctx, p, caseID, accessCase, ActionRunList)
	if err != nil {
		return nil, err
	}
	rs, err := s.store.ListRuns(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("listing runs of case %s: %w", c.ID, err)
	}
	rs = slices.DeleteFunc(rs, func(r Run) bool { return r.OrgID != c.OrgID })
	if err := s.record(ctx, p.AuditEvent(role, ActionRunList, ResourceCase, c.ID, audit.OutcomeSuccess)); err != nil {
		return nil, err
	}
	return rs, nil
}

// NewStepRecord is a step outcome sent by a device. ClientID is chosen by the device and makes a
// retried record idempotent; RecordedAt is the device's time.
type NewStepRecord struct {
	StepID     string
	Status     StepStatus
	Reason     string // required when Status is skipped
	Note       string
	RecordedAt time.Time
	ClientID   string
}

// RecordStep appends a step outcome to a run and returns the run's view. The step must exist in the
// run's pinned protocol version and apply to the case. Records are never changed: a new record of the
// same step supersedes the earlier one in the view. A record whose ClientID the run already holds
// changes nothing (even on a closed case). It returns identity.ErrForbidden, or an *apperr.Error
// NotFound (case_not_found, run_not_found), as GetRun does; an *apperr.Error Invalid with field
// errors for bad values (step_id, status, reason, note, recorded_at, client_id), or (case_closed)
// when the case is closed, or (run_full) when the run holds the most records allowed; or the
// store's, protocol source's or recorder's error.
func (s *Service) RecordStep(ctx context.Context, p identity.Principal, caseID, runID string, nr NewStepRecord) (RunView, error) {
	c, role, err := s.caseFor(ctx, p, caseID, accessCase, ActionRunRecord)
	if err != nil {
		return RunView{}, err
	}
	r, err := s.runFor(ctx, p, c, runID, ActionRunRecord)
	if err != nil {
		return RunView{}, err
	}
	now := s.clock()
	rec := StepRecord{StepID: nr.StepID, Status: nr.Status, Reason: strings.TrimSpace(nr.Reason), Note: strings.TrimSpace(nr.Note),
		RecordedAt: nr.RecordedAt.UTC().Truncate(time.Millisecond), ReceivedAt: now, ByUserID: p.UserID, ClientID: nr.ClientID}
	var fe fieldErrors
	fe.token("client_id", rec.ClientID, MaxClientIDLen)
	fe.token("step_id", rec.StepID, MaxStepIDLen)
	if apperr.OneOf(&fe.FieldErrors, "status", rec.Status, StepStatuses) && rec.Status == StepSkipped {
		fe.reason("reason", rec.Reason)
	} else {
		fe.text("reason", rec.Reason, MaxReasonLen)
	}
	fe.text("note", rec.Note, MaxNotesLen)
	switch {
	case nr.RecordedAt.IsZero():
		fe.Add("recorded_at", "required", "field.required", nil)
	case rec.RecordedAt.After(now.Add(MaxClockSkew)):
		fe.Add("recorded_at", "future", "field.not_in_future", map[string]any{"Minutes": int(MaxClockSkew.Minutes())})
	}
	if err := fe.Err(); err != nil {
		return RunView{}, err
	}
	v, err := s.version(ctx, r)
	if err != nil {
		return RunView{}, err
	}
	if !slices.ContainsFunc(r.Records, func(x StepRecord) bool { return x.ClientID == rec.ClientID }) {
		if err := checkRecordable(c, r, v, rec.StepID); err != nil {
			return RunView{}, err
		}
		if _, err := s.store.AppendStepRecord(ctx, r.ID, rec); err != nil { // not appended: a concurrent retry won
			if errors.Is(err, ErrNotFound) {
				return RunView{}, errRunNotFound(r.ID)
			}
			return RunView{}, fmt.Errorf("recording a step of run %s: %w", r.ID, err)
		}
		if r, err = s.store.Run(ctx, r.ID); err != nil {
			return RunView{}, fmt.Errorf("reading run %s: %w", runID, err)
		}
	}
	if err := s.record(ctx, p.AuditEvent(role, ActionRunRecord, ResourceRun, r.ID, audit.OutcomeSuccess)); err != nil {
		return RunView{}, err
	}
	return BuildView(c, r, v, now), nil
}

// checkRecordable says whether a new record of stepID may be added to run r of case c.
func checkRecordable(c Case, r Run, v protocol.Version, stepID string) error {
	if c.Status == StatusClosed {
		return errCaseClosed(c.ID)
	}
	if len(r.Records) >= maxRecordsPerRun {
		return apperr.New(apperr.Invalid, "run_full", "ErrRunFull", map[string]any{"Max": maxRecordsPerRun})
	}
	for _, ph := range v.Document.Protocol.Phases {
		for _, st := range ph.Steps {
			if st.ID != stepID {
				continue
			}
			if !st.AppliesWhen.Applies(c.Situation()) {
				return apperr.Validation(apperr.FieldError{Field: "step_id", Code: "not_applicable", MessageID: "field.step_not_applicable"})
			}
			return nil
		}
	}
	return apperr.Validation(apperr.FieldError{Field: "step_id", Code: "unknown_step", MessageID: "field.unknown_step",
		Data: map[string]any{"Protocol": v.ProtocolID, "Version": v.Number}})
}

// runFor reads run runID and checks it belongs to case c; a refusal is recorded as action denied.
func (s *Service) runFor(ctx context.Context, p identity.Principal, c Case, runID, action string) (Run, error) {
	if auditID(runID) == "" {
		return Run{}, s.denied(ctx, p, action, ResourceRun, runID, errRunNotFound(runID))
	}
	r, err := s.store.Run(ctx, runID)
	if errors.Is(err, ErrNotFound) || (err == nil && (r.CaseID != c.ID || r.OrgID != c.OrgID)) {
		return Run{}, s.denied(ctx, p, action, ResourceRun, runID, errRunNotFound(runID))
	}
	if err != nil {
		return Run{}, fmt.Errorf("reading run %s: %w", runID, err)
	}
	return r, nil
}

// version returns the protocol version run r is pinned to.
func (s *Service) version(ctx context.Context, r Run) (protocol.Version, error) {
	v, err := s.protocols.Version(ctx, r.ProtocolID, r.ProtocolVersion)
	if err != nil {
		return protocol.Version{}, fmt.Errorf("reading %s version %d of run %s: %w", r.ProtocolID, r.ProtocolVersion, r.ID, err)
	}
	return v, nil
}

// BuildView computes the view of run r of case c over its pinned version v at time now: the steps
// that apply to c.Situation() in protocol order, each with its latest record (the one with the latest
// RecordedAt; among equal times the one received last), the progress counts, and the steps overdue:
// a "within" deadline counted from c.OpenedAt (anchors first_contact, case_opened, disclosure) that
// passed with no record. It returns no error.
func BuildView(c Case, r Run, v protocol.Version, now time.Time) RunView {
	latest := map[string]*StepRecord{}
	for i := range r.Records {
		rec := &r.Records[i]
		if cur, ok := latest[rec.StepID]; !ok || cmp.Compare(rec.RecordedAt.UnixNano(), cur.RecordedAt.UnixNano()) >= 0 {
			latest[rec.StepID] = rec
		}
	}
	situation := c.Situation()
	view := RunView{Run: r, Steps: []StepView{}, Overdue: []string{}}
	for _, ph := range v.Document.Protocol.Phases {
		for _, st := range ph.Steps {
			if !st.AppliesWhen.Applies(situation) {
				continue
			}
			sv := StepView{PhaseID: ph.ID, Step: st}
			if rec, ok := latest[st.ID]; ok {
				recCopy := *rec
				sv.Latest = &recCopy
				switch rec.Status {
				case StepDone:
					view.Progress.Done++
				case StepSkipped:
					view.Progress.Skipped++
				case StepNotApplicable:
					view.Progress.NotApplicable++
				}
			}
			if due, ok := dueAt(st.Timing, c.OpenedAt); ok {
				sv.DueAt = &due
				if sv.Latest == nil && now.After(due) {
					view.Overdue = append(view.Overdue, st.ID)
				}
			}
			view.Steps = append(view.Steps, sv)
		}
	}
	view.Progress.Applicable = len(view.Steps)
	return view
}

// dueAt returns the deadline of a "within" timing anchored at the case's opening.
func dueAt(t *protocol.Timing, openedAt time.Time) (time.Time, bool) {
	if t == nil || t.Relation != "within" || !slices.Contains(openingAnchors, t.Anchor) || t.Amount <= 0 {
		return time.Time{}, false
	}
	var unit time.Duration
	switch t.Unit {
	case "hours":
		unit = time.Hour
	case "days":
		unit = 24 * time.Hour
	default:
		return time.Time{}, false
	}
	return openedAt.Add(time.Duration(t.Amount) * unit), true
}
