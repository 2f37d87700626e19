package casework

import (
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

// Service creates, reads and changes cases and protocol runs, enforcing who may see which case and
// recording every access.
type Service struct {
	store     Store
	protocols ProtocolSource
	events    audit.Recorder
	now       func() time.Time
	users     Directory // nil: assignees are not checked
}

// Directory tells whether a user of an organisation exists, is enabled and has a role
// (*identity.Service satisfies it).
type Directory interface {
	// HasRole reports whether user userID of organisation orgID is enabled and has role.
	HasRole(ctx context.Context, orgID, userID string, role identity.Role) (bool, error)
}

// WithDirectory makes the Service check that assigned caseworkers and supervisors are enabled users
// of the case's organisation with that role, and returns it.
func (s *Service) WithDirectory(d Directory) *Service {
	s.users = d
	return s
}

// checkAssignees records unknown_user for every assignee that is not an enabled user of orgID with
// the role the assignment needs. It returns the directory's error.
func (s *Service) checkAssignees(ctx context.Context, fe *fieldErrors, orgID string, caseworkers []string, supervisor string) error {
	if s.users == nil {
		return nil
	}
	check := func(field, id string, role identity.Role) error {
		ok, err := s.users.HasRole(ctx, orgID, id, role)
		if err != nil {
			return fmt.Errorf("checking assignee %s: %w", id, err)
		}
		if !ok {
			fe.Add(field, "unknown_user", "field.unknown_user", map[string]any{"Role": string(role)})
		}
		return nil
	}
	for _, id := range caseworkers {
		if err := check(fieldCaseworkers, id, identity.RoleCaseworker); err != nil {
			return err
		}
	}
	if supervisor != "" {
		return check(fieldSupervisorID, supervisor, identity.RoleSupervisor)
	}
	return nil
}

// NewService returns a Service over store. now is the clock (nil: time.Now).
func NewService(store Store, protocols ProtocolSource, events audit.Recorder, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, protocols: protocols, events: events, now: now}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// access is what an operation needs from the caller.
type access int

const (
	accessCase   access = iota // see or change the case (c may be nil: create, list)
	accessAssign               // also change its assignments (caseworkers, supervisor)
)

// authorize is the one place that decides whether p may act on case c (nil: no particular case, as
// for create and list) and returns the role p acts in. Content editors, admins and auditors get
// identity.ErrForbidden; a case of another organisation, or one a caseworker is not assigned to, is
// a NotFound *apperr.Error (case_not_found); a caseworker changing assignments gets ErrForbidden.
func authorize(p identity.Principal, c *Case, need access) (identity.Role, error) {
	switch {
	case p.HasRole(identity.RoleSupervisor) && p.OrgID != "":
		if c != nil && c.OrgID != p.OrgID {
			return "", errCaseNotFound(c.ID)
		}
		return identity.RoleSupervisor, nil
	case p.HasRole(identity.RoleCaseworker) && p.OrgID != "" && p.UserID != "":
		if c != nil && (c.OrgID != p.OrgID || !slices.Contains(c.CaseworkerIDs, p.UserID)) {
			return "", errCaseNotFound(c.ID)
		}
		if need == accessAssign {
			return "", identity.ErrForbidden
		}
		return identity.RoleCaseworker, nil
	default:
		return "", identity.ErrForbidden
	}
}

// NewCase is a case to create. ID is chosen by the client (a UUID); OpenedAt is when the case was
// opened on the device (zero: now).
type NewCase struct {
	ID              string
	ReferenceNumber string
	Child           Child
	CaseTypes       []protocol.CaseType
	CaseworkerIDs   []string
	SupervisorID    string
	OpenedAt        time.Time
}

// Create creates a case in p's organisation. A caseworker creating a case is added to its
// caseworkers. Repeating a create with the same id and the same content changes nothing and returns
// the stored case with created false. It returns identity.ErrForbidden unless p is a caseworker or a
// supervisor; an *apperr.Error Invalid with field errors for bad values; an *apperr.Error Conflict
// (case_id_conflict, wrapping ErrExists) when the id is taken by a different case; or the store's
// or recorder's error.
func (s *Service) Create(ctx context.Context, p identity.Principal, nc NewCase) (Case, bool, error) {
	c, role, err := s.prepareCase(ctx, p, nc)
	if err != nil {
		return Case{}, false, err
	}
	err = s.store.CreateCase(ctx, c)
	if errors.Is(err, ErrExists) {
		return s.createAgain(ctx, p, role, c, !nc.OpenedAt.IsZero())
	}
	if err != nil {
		return Case{}, false, fmt.Errorf("creating case %s: %w", c.ID, err)
	}
	if err := s.record(ctx, p.AuditEvent(role, ActionCaseCreate, ResourceCase, c.ID, audit.OutcomeSuccess)); err != nil {
		return Case{}, false, err
	}
	return c.clone(), true, nil
}

// prepareCase checks that p may create cases (a refusal is recorded) and builds the case nc
// describes, validated: the errors are Create's, except the store's.
func (s *Service) prepareCase(ctx context.Context, p identity.Principal, nc NewCase) (Case, identity.Role, error) {
	role, err := authorize(p, nil, accessCase)
	if err != nil {
		return Case{}, "", s.denied(ctx, p, ActionCaseCreate, ResourceCase, nc.ID, err)
	}
	now := s.clock()
	var fe fieldErrors
	fe.UUID(fieldID, nc.ID)
	c := Case{ID: nc.ID, OrgID: p.OrgID, Status: StatusOpen, CreatedAt: now, UpdatedAt: now, CreatedBy: p.UserID, Version: 1}
	c.ReferenceNumber = strings.TrimSpace(nc.ReferenceNumber)
	fe.text("reference_number", c.ReferenceNumber, MaxReferenceLen)
	c.Child = fe.child(nc.Child, now)
	c.CaseTypes = fe.caseTypes(nc.CaseTypes)
	c.CaseworkerIDs = fe.userIDs(fieldCaseworkers, nc.CaseworkerIDs)
	if role == identity.RoleCaseworker && !slices.Contains(c.CaseworkerIDs, p.UserID) {
		c.CaseworkerIDs = append(c.CaseworkerIDs, p.UserID)
	}
	if c.SupervisorID = nc.SupervisorID; c.SupervisorID != "" {
		fe.token(fieldSupervisorID, c.SupervisorID, MaxUserIDLen)
	}
	c.OpenedAt = now
	if !nc.OpenedAt.IsZero() {
		c.OpenedAt = nc.OpenedAt.UTC().Truncate(time.Millisecond)
		if c.OpenedAt.After(now.Add(MaxClockSkew)) {
			fe.Add("opened_at", "future", "field.not_in_future", map[string]any{"Minutes": int(MaxClockSkew.Minutes())})
		}
	}
	if err := s.checkAssignees(ctx, &fe, p.OrgID, c.CaseworkerIDs, c.SupervisorID); err != nil {
		return Case{}, "", err
	}
	if err := fe.Err(); err != nil {
		return Case{}, "", err
	}
	c.Assignments = []AssignmentChange{{At: now, By: p.UserID, CaseworkerIDs: slices.Clone(c.CaseworkerIDs), SupervisorID: c.SupervisorID}}
	return c, role, nil
}

// createAgain answers a create whose id is taken: the stored case when it has the same content (a
// retried request), case_id_conflict otherwise.
func (s *Service) createAgain(ctx context.Context, p identity.Principal, role identity.Role, c Case, openedAtGiven bool) (Case, bool, error) {
	cur, err := s.store.Case(ctx, c.ID)
	if err != nil {
		return Case{}, false, fmt.Errorf("reading case %s: %w", c.ID, err)
	}
	same := cur.OrgID == c.OrgID && cur.ReferenceNumber == c.ReferenceNumber && cur.Child == c.Child &&
		slices.Equal(cur.CaseTypes, c.CaseTypes) && slices.Equal(cur.CaseworkerIDs, c.CaseworkerIDs) &&
		cur.SupervisorID == c.SupervisorID && (!openedAtGiven || cur.OpenedAt.Equal(c.OpenedAt))
	if !same {
		return Case{}, false, errCaseIDConflict(c.ID)
	}
	if _, err := authorize(p, &cur, accessCase); err != nil { // same content implies access; kept as a guard
		return Case{}, false, errCaseIDConflict(c.ID)
	}
	if err := s.record(ctx, p.AuditEvent(role, ActionCaseCreate, ResourceCase, c.ID, audit.OutcomeSuccess)); err != nil {
		return Case{}, false, err
	}
	return cur, false, nil
}

// Get returns a case. It returns identity.ErrForbidden for roles without case access; an
// *apperr.Error NotFound (case_not_found) for an unknown case, another organisation's, or one a
// caseworker is not assigned to; or the store's or recorder's error.
func (s *Service) Get(ctx context.Context, p identity.Principal, id string) (Case, error) {
	c, role, err := s.caseFor(ctx, p, id, accessCase, ActionCaseRead)
	if err != nil {
		return Case{}, err
	}
	if err := s.record(ctx, p.AuditEvent(role, ActionCaseRead, ResourceCase, id, audit.OutcomeSuccess)); err != nil {
		return Case{}, err
	}
	return c, nil
}

// Filter selects cases in List. Zero fields select everything.
type Filter struct {
	Status       Status
	AssigneeID   string // cases this user is assigned to as a caseworker
	CaseType     protocol.CaseType
	AgeBand      protocol.AgeBand
	UpdatedSince time.Time
	Flag         string // an unresolved flag of this kind (package caseflag checks the kinds)
}

// Page is one page of cases. Next is the cursor of the following page ("" on the last one).
type Page struct {
	Cases []Case
	Next  string
}

// List returns up to limit cases (0: 50, at most 200) matching f with ids after the cursor after,
// by id: a supervisor's from their whole organisation, a caseworker's from the cases assigned to
// them only. It returns identity.ErrForbidden for roles without case access; an *apperr.Error
// Invalid for a bad filter or cursor; or the store's or recorder's error.
func (s *Service) List(ctx context.Context, p identity.Principal, f Filter, after string, limit int) (Page, error) {
	role, err := authorize(p, nil, accessCase)
	if err != nil {
		return Page{}, s.denied(ctx, p, ActionCaseList, ResourceCase, "", err)
	}
	var fe fieldErrors
	sf := StoreFilter{OrgID: p.OrgID, Status: f.Status, CaseType: f.CaseType, AgeBand: f.AgeBand, UpdatedSince: f.UpdatedSince, Flag: f.Flag}
	if f.Flag != "" {
		fe.token("flag", f.Flag, MaxFlagLen)
	}
	if f.Status != "" {
		apperr.OneOf(&fe.FieldErrors, "status", f.Status, []Status{StatusOpen, StatusClosed})
	}
	if f.CaseType != "" {
		apperr.OneOf(&fe.FieldErrors, "case_type", f.CaseType, protocol.CaseTypes)
	}
	if f.AgeBand != "" {
		apperr.OneOf(&fe.FieldErrors, "age_band", f.AgeBand, protocol.AgeBands)
	}
	if f.AssigneeID != "" && fe.token("assignee_id", f.AssigneeID, MaxUserIDLen) {
		sf.AssigneeIDs = append(sf.AssigneeIDs, f.AssigneeID)
	}
	if after != "" && auditID(after) == "" { // cursors are case ids
		fe.Add("cursor", "invalid", "field.cursor", nil)
	}
	if err := fe.Err(); err != nil {
		return Page{}, err
	}
	if role == identity.RoleCaseworker && !slices.Contains(sf.AssigneeIDs, p.UserID) {
		sf.AssigneeIDs = append(sf.AssigneeIDs, p.UserID)
	}
	if limit <= 0 {
		limit = defaultPageSize
	}
	limit = min(limit, maxPageSize)
	cs, err := s.store.ListCases(ctx, sf, after, limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("listing cases: %w", err)
	}
	page := Page{Cases: make([]Case, 0, min(len(cs), limit))}
	for _, c := range cs {
		if _, err := authorize(p, &c, accessCase); err != nil {
			continue // the store filter already excludes these; never hand one out if it did not
		}
		if len(page.Cases) == limit {
			page.Next = page.Cases[limit-1].ID
			break
		}
		page.Cases = append(page.Cases, c)
	}
	if err := s.record(ctx, p.AuditEvent(role, ActionCaseList, ResourceCase, "", audit.OutcomeSuccess)); err != nil {
		return Page{}, err
	}
	return page, nil
}

// CaseUpdate changes some fields of a case; nil fields stay as they are. Child replaces the whole
// child record. CaseworkerIDs and SupervisorID may be changed by supervisors only.
type CaseUpdate struct {
	ReferenceNumber *string
	Child           *Child
	CaseTypes       *[]protocol.CaseType
	CaseworkerIDs   *[]string
	SupervisorID    *string
	// AssignmentReason says why the caseworkers or supervisor change (optional; kept in the case's
	// assignment history).
	AssignmentReason string
}

// Update changes an open case whose current version is version and returns it at its new version (an
// update that changes nothing returns the case as it is). It returns identity.ErrForbidden for roles
// without case access, or when a caseworker changes assignments; an *apperr.Error NotFound
// (case_not_found) as Get does; an *apperr.Error Conflict (version_conflict) wrapping a *StaleError
// with the current case when version is not current; an *apperr.Error Invalid (case_closed) when the
// case is closed, or with field errors for bad values; or the store's or recorder's error.
func (s *Service) Update(ctx context.Context, p identity.Principal, id string, upd CaseUpdate, version int64) (Case, error) {
	need := accessCase
	if upd.CaseworkerIDs != nil || upd.SupervisorID != nil {
		need = accessAssign
	}
	cur, role, err := s.caseFor(ctx, p, id, need, ActionCaseUpdate)
	if err != nil {
		return Case{}, err
	}
	if cur.Version != version {
		return Case{}, s.stale(ctx, p, role, ActionCaseUpdate, cur)
	}
	if cur.Status == StatusClosed {
		return Case{}, errCaseClosed(id)
	}
	now := s.clock()
	next := cur.clone()
	var fe fieldErrors
	if upd.ReferenceNumber != nil {
		next.ReferenceNumber = strings.TrimSpace(*upd.ReferenceNumber)
		fe.text("reference_number", next.ReferenceNumber, MaxReferenceLen)
	}
	if upd.Child != nil {
		next.Child = fe.child(*upd.Child, now)
	}
	if upd.CaseTypes != nil {
		next.CaseTypes = fe.caseTypes(*upd.CaseTypes)
	}
	if upd.CaseworkerIDs != nil {
		next.CaseworkerIDs = fe.userIDs(fieldCaseworkers, *upd.CaseworkerIDs)
	}
	if upd.SupervisorID != nil {
		if next.SupervisorID = *upd.SupervisorID; next.SupervisorID != "" {
			fe.token(fieldSupervisorID, next.SupervisorID, MaxUserIDLen)
		}
	}
	if upd.CaseworkerIDs != nil || upd.SupervisorID != nil {
		if err := s.checkAssignees(ctx, &fe, cur.OrgID, next.CaseworkerIDs, next.SupervisorID); err != nil {
			return Case{}, err
		}
	}
	reason := strings.TrimSpace(upd.AssignmentReason)
	fe.text("assignment_reason", reason, MaxReasonLen)
	if err := fe.Err(); err != nil {
		return Case{}, err
	}
	if !slices.Equal(next.CaseworkerIDs, cur.CaseworkerIDs) || next.SupervisorID != cur.SupervisorID {
		next.Assignments = append(next.Assignments, AssignmentChange{At: now, By: p.UserID,
			CaseworkerIDs: slices.Clone(next.CaseworkerIDs), SupervisorID: next.SupervisorID, Reason: reason})
	}
	if next.ReferenceNumber == cur.ReferenceNumber && next.Child == cur.Child && slices.Equal(next.CaseTypes, cur.CaseTypes) &&
		slices.Equal(next.CaseworkerIDs, cur.CaseworkerIDs) && next.SupervisorID == cur.SupervisorID {
		if err := s.record(ctx, p.AuditEvent(role, ActionCaseUpdate, ResourceCase, id, audit.OutcomeSuccess)); err != nil {
			return Case{}, err
		}
		return cur, nil
	}
	return s.save(ctx, p, role, ActionCaseUpdate, next, now)
}

// save stores next at the following version and records action.
func (s *Service) save(ctx context.Context, p identity.Principal, role identity.Role, action string, next Case, now time.Time) (Case, error) {
	next.Version++
	next.UpdatedAt = now
	if err := s.store.UpdateCase(ctx, next); err != nil {
		switch {
		case errors.Is(err, ErrNotFound):
			return Case{}, errCaseNotFound(next.ID)
		case errors.Is(err, ErrStale):
			cur, rerr := s.store.Case(ctx, next.ID)
			if rerr != nil {
				return Case{}, fmt.Errorf("reading case %s after a stale write: %w", next.ID, rerr)
			}
			if _, aerr := authorize(p, &cur, accessCase); aerr != nil { // unassigned meanwhile
				return Case{}, s.denied(ctx, p, action, ResourceCase, next.ID, aerr)
			}
			return Case{}, s.stale(ctx, p, role, action, cur)
		default:
			return Case{}, fmt.Errorf("updating case %s: %w", next.ID, err)
		}
	}
	if err := s.record(ctx, p.AuditEvent(role, action, ResourceCase, next.ID, audit.OutcomeSuccess)); err != nil {
		return Case{}, err
	}
	return next.clone(), nil
}

// stale records that the current case is handed out with a version conflict and returns the conflict.
func (s *Service) stale(ctx context.Context, p identity.Principal, role identity.Role, action string, cur Case) error {
	if err := s.record(ctx, p.AuditEvent(role, action, ResourceCase, cur.ID, audit.OutcomeFailure)); err != nil {
		return err
	}
	return errCaseStale(cur)
}

// caseFor reads case id and checks p's access to it; a refusal is recorded as action denied.
func (s *Service) caseFor(ctx context.Context, p identity.Principal, id string, need access, action string) (Case, identity.Role, error) {
	if _, err := authorize(p, nil, accessCase); err != nil { // no store read for roles without case access
		return Case{}, "", s.denied(ctx, p, action, ResourceCase, id, err)
	}
	if auditID(id) == "" { // no case has such an id
		return Case{}, "", s.denied(ctx, p, action, ResourceCase, id, errCaseNotFound(id))
	}
	c, err := s.store.Case(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Case{}, "", s.denied(ctx, p, action, ResourceCase, id, errCaseNotFound(id))
	}
	if err != nil {
		return Case{}, "", fmt.Errorf("reading case %s: %w", id, err)
	}
	role, err := authorize(p, &c, need)
	if err != nil {
		return Case{}, "", s.denied(ctx, p, action, ResourceCase, id, err)
	}
	return c, role, nil
}

// denied records a refused access and returns cause (or the recorder's error).
func (s *Service) denied(ctx context.Context, p identity.Principal, action, resourceType, resourceID string, cause error) error {
	if err := s.record(ctx, p.AuditEvent("", action, resourceType, auditID(resourceID), audit.OutcomeDenied)); err != nil {
		return err
	}
	return cause
}

func (s *Service) record(ctx context.Context, e audit.Event) error {
	if err := s.events.RecordEvent(ctx, e); err != nil {
		return fmt.Errorf("recording case event %s: %w", e.Action, err)
	}
	return nil
}

// auditID returns id when it is a well-formed UUID, "" otherwise: a caller-supplied id reaches the
// audit log only when it can name a record.
func auditID(id string) string {
	if !apperr.ValidUUID(id) {
		return ""
	}
	return id
}

// CaseAccess reads case caseID for another domain's operation (an interview, an evidence log) and
// checks that p may see and change it, as for the case itself; the role p acts in is returned. A
// refusal is recorded as action (the caller's audit action, for example "interview.create") denied.
// It returns identity.ErrForbidden for roles without case access, a NotFound *apperr.Error
// (case_not_found) for a case p may not see or that does not exist, or the store's or recorder's
// error.
func (s *Service) CaseAccess(ctx context.Context, p identity.Principal, caseID, action string) (Case, identity.Role, error) {
	c, role, err := s.caseFor(ctx, p, caseID, accessCase, action)
	if err != nil {
		return Case{}, "", err
	}
	return c.clone(), role, nil
}
