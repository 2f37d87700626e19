package consent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Limits, in characters or entries.
const (
	MaxNoteLen       = 2000
	MaxOrganisations = 20
	MaxClockSkew     = 5 * time.Minute // how far in the future a device time may be
)

// Service records, lists and withdraws consents; who may is decided by the case (caseworkers
// assigned to it and the organisation's supervisors), and every access is audited.
type Service struct {
	store Store
	cases CaseAccess
	orgs  Directory
	audit audit.Recorder
	now   func() time.Time
}

// NewService returns a Service. now is the clock (nil: time.Now).
func NewService(store Store, cases CaseAccess, orgs Directory, events audit.Recorder, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, cases: cases, orgs: orgs, audit: events, now: now}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// NewConsent is a consent to record. Exactly one of GivenBy and LegalBasis is set. GivenAt zero
// means now; ValidFrom zero means GivenAt.
type NewConsent struct {
	ID              string
	GivenBy         GivenBy
	LegalBasis      LegalBasis
	Purposes        []Purpose
	OrganisationIDs []string
	Parts           []Part
	Note            string
	GivenAt         time.Time
	ValidFrom       time.Time
	ValidUntil      *time.Time
}

// Create records a consent on case caseID. Repeating a create with the same id and content on the
// same case returns the stored consent with created false. It returns identity.ErrForbidden for roles without
// case access; a NotFound *apperr.Error for a case the caller may not see; an *apperr.Error Invalid
// with field errors for bad values (neither or both of given_by and legal_basis, unknown purposes or
// parts, information sharing without a named organisation, an organisation not in the directory,
// valid_until not after valid_from, a time in the future); an *apperr.Error Conflict
// (consent_id_conflict) when the id is taken on another case or by a consent of other content; or the store's or recorder's error.
func (s *Service) Create(ctx context.Context, p identity.Principal, caseID string, nc NewConsent) (Consent, bool, error) {
	cs, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionCreate)
	if err != nil {
		return Consent{}, false, err
	}
	now := s.clock()
	c, err := s.validate(ctx, nc, now)
	if err != nil {
		return Consent{}, false, err
	}
	c.OrgID, c.CaseID, c.RecordedBy, c.CreatedAt, c.Version = cs.OrgID, cs.ID, p.UserID, now, 1
	err = s.store.CreateConsent(ctx, c)
	created := true
	if errors.Is(err, ErrExists) {
		cur, rerr := s.store.Consent(ctx, c.ID)
		if rerr != nil {
			return Consent{}, false, fmt.Errorf("reading consent %s: %w", c.ID, rerr)
		}
		if cur.CaseID != c.CaseID {
			return Consent{}, false, errIDConflict(c.ID)
		}
		if !sameContent(cur, c, nc) {
			return Consent{}, false, errIDReused(c.ID)
		}
		c, created = cur, false
	} else if err != nil {
		return Consent{}, false, fmt.Errorf("recording consent %s: %w", c.ID, err)
	}
	if err := s.record(ctx, p, role, ActionCreate, c.ID, audit.OutcomeSuccess); err != nil {
		return Consent{}, false, err
	}
	return c.clone(), created, nil
}

// CheckCreate checks a consent create on case caseID without writing (for an all-or-nothing group of
// device operations): access to the case unless caseCreated (the group creates it), and nc. It
// returns Create's errors but the conflicts.
func (s *Service) CheckCreate(ctx context.Context, p identity.Principal, caseID string, caseCreated bool, nc NewConsent) error {
	if !caseCreated {
		if _, _, err := s.cases.CaseAccess(ctx, p, caseID, ActionCreate); err != nil {
			return err
		}
	}
	_, err := s.validate(ctx, nc, s.clock())
	return err
}

// sameContent reports whether the stored consent cur is the one c (validated from nc) describes;
// the times nc leaves to the server (given_at, valid_from) are not compared.
func sameContent(cur, c Consent, nc NewConsent) bool {
	same := cur.GivenBy == c.GivenBy && cur.LegalBasis == c.LegalBasis && slices.Equal(cur.Purposes, c.Purposes) &&
		slices.Equal(cur.OrganisationIDs, c.OrganisationIDs) && slices.Equal(cur.Parts, c.Parts) && cur.Note == c.Note &&
		(cur.ValidUntil == nil) == (c.ValidUntil == nil) && (c.ValidUntil == nil || cur.ValidUntil.Equal(*c.ValidUntil))
	if !nc.GivenAt.IsZero() {
		same = same && cur.GivenAt.Equal(c.GivenAt)
	}
	if !nc.ValidFrom.IsZero() {
		same = same && cur.ValidFrom.Equal(c.ValidFrom)
	}
	return same
}

// validate checks nc and returns the consent it describes (without its case and recorder).
func (s *Service) validate(ctx context.Context, nc NewConsent, now time.Time) (Consent, error) {
	var fe apperr.FieldErrors
	fe.UUID("id", nc.ID)
	c := Consent{ID: nc.ID, GivenBy: nc.GivenBy, LegalBasis: nc.LegalBasis, Note: strings.TrimSpace(nc.Note)}
	switch {
	case nc.GivenBy == "" && nc.LegalBasis == "":
		fe.Add("given_by", "required", "field.consent_giver", nil)
	case nc.GivenBy != "" && nc.LegalBasis != "":
		fe.Add("legal_basis", "exclusive", "field.consent_giver", nil)
	case nc.GivenBy != "":
		apperr.OneOf(&fe, "given_by", nc.GivenBy, Givers)
	default:
		apperr.OneOf(&fe, "legal_basis", nc.LegalBasis, LegalBases)
	}
	c.Purposes = ordered(&fe, "purposes", nc.Purposes, Purposes)
	c.Parts = ordered(&fe, "parts", nc.Parts, Parts)
	if len(nc.OrganisationIDs) > MaxOrganisations {
		fe.Add("organisation_ids", "max", "field.max", map[string]any{"Max": MaxOrganisations})
	}
	for i, id := range nc.OrganisationIDs {
		if slices.Contains(c.OrganisationIDs, id) {
			continue
		}
		if _, err := s.orgs.Organisation(ctx, id); errors.Is(err, identity.ErrNotFound) {
			fe.Add(fmt.Sprintf("organisation_ids[%d]", i), "unknown_organisation", "field.unknown_organisation", nil)
			continue
		} else if err != nil {
			return Consent{}, err
		}
		c.OrganisationIDs = append(c.OrganisationIDs, id)
	}
	if slices.Contains(c.Purposes, PurposeInformationSharing) && len(nc.OrganisationIDs) == 0 {
		fe.Add("organisation_ids", "required", "field.consent_organisations", nil)
	}
	if !utf8.ValidString(c.Note) || utf8.RuneCountInString(c.Note) > MaxNoteLen {
		fe.Add("note", "max_length", "field.max_length", map[string]any{"Max": MaxNoteLen})
	}
	c.GivenAt = now
	if !nc.GivenAt.IsZero() {
		c.GivenAt = nc.GivenAt.UTC().Truncate(time.Millisecond)
		if c.GivenAt.After(now.Add(MaxClockSkew)) {
			fe.Add("given_at", "future", "field.not_in_future", map[string]any{"Minutes": int(MaxClockSkew.Minutes())})
		}
	}
	c.ValidFrom = c.GivenAt
	if !nc.ValidFrom.IsZero() {
		c.ValidFrom = nc.ValidFrom.UTC().Truncate(time.Millisecond)
	}
	if nc.ValidUntil != nil {
		until := nc.ValidUntil.UTC().Truncate(time.Millisecond)
		if !until.After(c.ValidFrom) {
			fe.Add("valid_until", "after", "field.after_valid_from", nil)
		}
		c.ValidUntil = &until
	}
	return c, fe.Err()
}

// ordered checks a list of vocabulary codes (at least one, each known) and returns it without
// duplicates in the vocabulary's order.
func ordered[T ~string](fe *apperr.FieldErrors, field string, values, vocabulary []T) []T {
	if len(values) == 0 {
		fe.Add(field, "required", "field.required", nil)
		return nil
	}
	for i, v := range values {
		apperr.OneOf(fe, fmt.Sprintf("%s[%d]", field, i), v, vocabulary)
	}
	var out []T
	for _, v := range vocabulary {
		if slices.Contains(values, v) {
			out = append(out, v)
		}
	}
	return out
}

// List returns the consents of case caseID, oldest first, withdrawn ones included (the history).
// Errors: as Create's, less the field errors and conflicts.
func (s *Service) List(ctx context.Context, p identity.Principal, caseID string) ([]Consent, error) {
	cs, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionList)
	if err != nil {
		return nil, err
	}
	list, err := s.store.ListConsents(ctx, cs.ID)
	if err != nil {
		return nil, fmt.Errorf("listing consents of case %s: %w", cs.ID, err)
	}
	if err := s.record(ctx, p, role, ActionList, "", audit.OutcomeSuccess); err != nil {
		return nil, err
	}
	return list, nil
}

// Withdraw records the withdrawal of consent id of case caseID at version, at time at (zero: now),
// with an optional note, and returns the consent at its new version. From then on it covers no
// sharing. It returns identity.ErrForbidden for roles without case access; a NotFound *apperr.Error
// (case_not_found or consent_not_found) for a case the caller may not see or a consent not of that
// case; an *apperr.Error Invalid with field errors for a note too long or a time in the future; an
// *apperr.Error Conflict (version_conflict) wrapping a *StaleError with the current consent when
// version is not current (a withdrawn consent cannot be withdrawn again); or the store's or
// recorder's error.
func (s *Service) Withdraw(ctx context.Context, p identity.Principal, caseID, id, note string, at time.Time, version int64) (Consent, error) {
	cs, role, err := s.cases.CaseAccess(ctx, p, caseID, ActionWithdraw)
	if err != nil {
		return Consent{}, err
	}
	cur, err := s.consentOf(ctx, cs.ID, id)
	if err != nil {
		return Consent{}, s.refused(ctx, p, role, id, err)
	}
	now := s.clock()
	var fe apperr.FieldErrors
	note = strings.TrimSpace(note)
	fe.MaxLength("note", note, MaxNoteLen)
	w := Withdrawal{At: now, ReceivedAt: now, By: p.UserID, Note: note}
	if !at.IsZero() {
		w.At = at.UTC().Truncate(time.Millisecond)
		if w.At.After(now.Add(MaxClockSkew)) {
			fe.Add("withdrawn_at", "future", "field.not_in_future", map[string]any{"Minutes": int(MaxClockSkew.Minutes())})
		}
	}
	if err := fe.Err(); err != nil {
		return Consent{}, err
	}
	if cur.Version != version || cur.Withdrawal != nil {
		return Consent{}, s.refused(ctx, p, role, id, errStale(cur))
	}
	next := cur.clone()
	next.Withdrawal, next.Version = &w, cur.Version+1
	if err := s.store.WithdrawConsent(ctx, next); errors.Is(err, ErrStale) {
		cur, rerr := s.store.Consent(ctx, id)
		if rerr != nil {
			return Consent{}, fmt.Errorf("reading consent %s: %w", id, rerr)
		}
		return Consent{}, s.refused(ctx, p, role, id, errStale(cur))
	} else if err != nil {
		return Consent{}, fmt.Errorf("withdrawing consent %s: %w", id, err)
	}
	if err := s.record(ctx, p, role, ActionWithdraw, id, audit.OutcomeSuccess); err != nil {
		return Consent{}, err
	}
	return next, nil
}

// consentOf reads consent id of case caseID: a NotFound *apperr.Error when there is none on it.
func (s *Service) consentOf(ctx context.Context, caseID, id string) (Consent, error) {
	if !apperr.ValidUUID(id) {
		return Consent{}, errNotFound(id)
	}
	c, err := s.store.Consent(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && c.CaseID != caseID {
		return Consent{}, errNotFound(id)
	}
	if err != nil {
		return Consent{}, fmt.Errorf("reading consent %s: %w", id, err)
	}
	return c, nil
}

// Covering returns the consent of case caseID that allows sharing parts with organisation orgID at
// time at, and false when none does. It checks no caller: the referral service calls it for a case
// the caller was already allowed to act on. It returns the store's error.
func (s *Service) Covering(ctx context.Context, caseID, orgID string, parts []Part, at time.Time) (Consent, bool, error) {
	list, err := s.store.ListConsents(ctx, caseID)
	if err != nil {
		return Consent{}, false, fmt.Errorf("listing consents of case %s: %w", caseID, err)
	}
	for _, c := range slices.Backward(list) { // the latest covering consent
		if c.Covers(orgID, parts, at) {
			return c, true, nil
		}
	}
	return Consent{}, false, nil
}

// Get returns consent id without checking a caller (the referral service shows a referral's
// receiver whether the consent it was made under still stands). It returns ErrNotFound (wrapped)
// when there is none, or the store's error.
func (s *Service) Get(ctx context.Context, id string) (Consent, error) {
	c, err := s.store.Consent(ctx, id)
	if err != nil {
		return Consent{}, fmt.Errorf("reading consent %s: %w", id, err)
	}
	return c, nil
}

// Now returns the service clock's current time (the time consents are judged at).
func (s *Service) Now() time.Time { return s.clock() }

// refused records a refused withdrawal (denied for a consent not found, failed for a conflict) and
// returns cause.
func (s *Service) refused(ctx context.Context, p identity.Principal, role identity.Role, id string, cause error) error {
	outcome := audit.OutcomeFailure
	if errors.Is(cause, ErrNotFound) {
		outcome = audit.OutcomeDenied
	}
	if !apperr.ValidUUID(id) {
		id = ""
	}
	if err := s.record(ctx, p, role, ActionWithdraw, id, outcome); err != nil {
		return err
	}
	return cause
}

func (s *Service) record(ctx context.Context, p identity.Principal, role identity.Role, action, id string, outcome audit.Outcome) error {
	if err := s.audit.RecordEvent(ctx, p.AuditEvent(role, action, Resource, id, outcome)); err != nil {
		return fmt.Errorf("recording %s: %w", action, err)
	}
	return nil
}
