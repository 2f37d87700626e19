package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
)

// ServiceKind is a kind of service an organisation provides, or that a referral requests: a code of
// a localized vocabulary (message "service.<code>").
type ServiceKind string

// The service kinds.
const (
	ServiceMedicalExamination        ServiceKind = "medical_examination"
	ServiceTherapy                   ServiceKind = "therapy"
	ServicePsychosocialSupport       ServiceKind = "psychosocial_support"
	ServiceLegalAid                  ServiceKind = "legal_aid"
	ServiceChildProtectionAssessment ServiceKind = "child_protection_assessment"
	ServiceLawEnforcement            ServiceKind = "law_enforcement"
	ServiceProsecution               ServiceKind = "prosecution"
	ServiceVictimAdvocacy            ServiceKind = "victim_advocacy"
	ServiceOther                     ServiceKind = "other"
)

// ServiceKinds lists every service kind in display order.
var ServiceKinds = []ServiceKind{ServiceMedicalExamination, ServiceTherapy, ServicePsychosocialSupport, ServiceLegalAid,
	ServiceChildProtectionAssessment, ServiceLawEnforcement, ServiceProsecution, ServiceVictimAdvocacy, ServiceOther}

// Limits of directory entries, in characters.
const (
	MaxOrgIDLen      = 64
	MaxOrgNameLen    = 200
	MaxOrgContactLen = 500
)

// Audit actions and resource type of the directory.
const (
	ActionOrganisationCreate = "organisation.create"
	ActionOrganisationUpdate = "organisation.update"
	ResourceOrganisation     = "organisation"
)

// WithDeploymentOrg names the organisation whose administrators are the deployment's administrators:
// they create and edit the organisation directory (the service's DEPLOYMENT_AUDIT_ORG). It returns s.
func (s *Service) WithDeploymentOrg(orgID string) *Service {
	s.deploymentOrg = orgID
	return s
}

// DirectoryEntry is what a deployment administrator writes about an organisation.
type DirectoryEntry struct {
	Name         string
	ServiceKinds []ServiceKind
	Contact      string
}

// OrgStaleError carries the current organisation when an edit named an outdated version. It unwraps
// to ErrStale; the Service returns it inside an *apperr.Error Conflict (version_conflict).
type OrgStaleError struct {
	Current Organisation
}

// Error returns a developer-facing description.
func (e *OrgStaleError) Error() string {
	return fmt.Sprintf("identity: organisation %s is at version %d", e.Current.ID, e.Current.Version)
}

// Unwrap returns ErrStale.
func (e *OrgStaleError) Unwrap() error { return ErrStale }

// directoryAdmin checks that p administers the deployment (an admin of its deployment organisation)
// and records a refusal as action denied, returning ErrForbidden; or the recorder's error.
func (s *Service) directoryAdmin(ctx context.Context, p Principal, action, orgID string) error {
	if p.HasRole(RoleAdmin) && p.OrgID != "" && p.OrgID == s.deploymentOrg {
		return nil
	}
	if err := s.events.RecordEvent(ctx, p.AuditEvent("", action, ResourceOrganisation, auditOrgID(orgID), audit.OutcomeDenied)); err != nil {
		return err
	}
	return ErrForbidden
}

// auditOrgID returns id when it is a well-formed organisation id (it may then name a record in the
// audit log), "" otherwise.
func auditOrgID(id string) string {
	var fe fieldErrors
	if fe.orgID("id", id); fe.Err() != nil {
		return ""
	}
	return id
}

// orgID checks an organisation id: 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit, and
// not the audit log's deployment name.
func (f *fieldErrors) orgID(field, id string) {
	if id == "" {
		f.Add(field, "required", "field.required", nil)
		return
	}
	ok := len(id) <= MaxOrgIDLen && id != audit.DeploymentLog
	for i, r := range id {
		alnum := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		if !alnum && (i == 0 || !strings.ContainsRune("._-", r)) {
			ok = false
		}
	}
	if !ok {
		f.Add(field, "format", "field.org_id_format", map[string]any{"Max": MaxOrgIDLen})
	}
}

// entry checks and normalizes a directory entry: a name (required), known service kinds (stored
// without duplicates in the vocabulary's order), a contact of bounded length.
func (f *fieldErrors) entry(e DirectoryEntry) DirectoryEntry {
	e.Name = strings.TrimSpace(e.Name)
	e.Contact = strings.TrimSpace(e.Contact)
	switch n := utf8.RuneCountInString(e.Name); {
	case n == 0:
		f.Add("name", "required", "field.required", nil)
	case n > MaxOrgNameLen:
		f.Add("name", "max", "field.max_length", map[string]any{"Max": MaxOrgNameLen})
	}
	if utf8.RuneCountInString(e.Contact) > MaxOrgContactLen {
		f.Add("contact", "max", "field.max_length", map[string]any{"Max": MaxOrgContactLen})
	}
	var kinds []ServiceKind
	for i, k := range e.ServiceKinds {
		if !slices.Contains(ServiceKinds, k) {
			apperr.OneOf(&f.FieldErrors, fmt.Sprintf("service_kinds[%d]", i), k, ServiceKinds)
		}
	}
	for _, k := range ServiceKinds {
		if slices.Contains(e.ServiceKinds, k) {
			kinds = append(kinds, k)
		}
	}
	e.ServiceKinds = kinds
	return e
}

// CreateOrganisation adds organisation id to the directory. Only the deployment's administrators
// (admins of the organisation named by WithDeploymentOrg) may: anyone else gets ErrForbidden. It
// returns an *apperr.Error Invalid with field errors for a bad id, name, service kind or contact; an
// *apperr.Error Conflict (organisation_exists) when the id is taken; or the store's or recorder's
// error. The creation is recorded in the administrator's log and the new organisation's.
func (s *Service) CreateOrganisation(ctx context.Context, p Principal, id string, e DirectoryEntry) (Organisation, error) {
	if err := s.directoryAdmin(ctx, p, ActionOrganisationCreate, id); err != nil {
		return Organisation{}, err
	}
	var fe fieldErrors
	fe.orgID("id", id)
	e = fe.entry(e)
	if err := fe.Err(); err != nil {
		return Organisation{}, err
	}
	now := s.clock()
	o := Organisation{ID: id, Name: e.Name, ServiceKinds: e.ServiceKinds, Contact: e.Contact, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.store.CreateOrganisation(ctx, o); errors.Is(err, ErrExists) {
		return Organisation{}, apperr.New(apperr.Conflict, "organisation_exists", "ErrOrganisationExists", map[string]any{"ID": id})
	} else if err != nil {
		return Organisation{}, fmt.Errorf("creating organisation %s: %w", id, err)
	}
	return o, s.recordDirectory(ctx, p, ActionOrganisationCreate, id)
}

// UpdateOrganisation replaces the name, service kinds and contact of organisation id at version and
// returns it at its new version. Only the deployment's administrators may (ErrForbidden otherwise).
// It returns an *apperr.Error NotFound (organisation_not_found) for an unknown id; an *apperr.Error
// Invalid with field errors for bad values; an *apperr.Error Conflict (version_conflict) wrapping an
// *OrgStaleError with the current entry when version is not current; or the store's or recorder's
// error.
func (s *Service) UpdateOrganisation(ctx context.Context, p Principal, id string, e DirectoryEntry, version int64) (Organisation, error) {
	if err := s.directoryAdmin(ctx, p, ActionOrganisationUpdate, id); err != nil {
		return Organisation{}, err
	}
	notFound := errOrgNotFound(id)
	if auditOrgID(id) == "" {
		return Organisation{}, notFound
	}
	var fe fieldErrors
	e = fe.entry(e)
	if err := fe.Err(); err != nil {
		return Organisation{}, err
	}
	for {
		cur, err := s.store.Organisation(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return Organisation{}, notFound
		} else if err != nil {
			return Organisation{}, fmt.Errorf("reading organisation %s: %w", id, err)
		}
		if cur.Version != version {
			return Organisation{}, &apperr.Error{Kind: apperr.Conflict, Code: "version_conflict", MessageID: "ErrOrganisationVersionConflict",
				Data: map[string]any{"Version": cur.Version}, Err: &OrgStaleError{Current: cur}}
		}
		next := cur
		next.Name, next.ServiceKinds, next.Contact = e.Name, e.ServiceKinds, e.Contact
		next.UpdatedAt, next.Version = s.clock(), cur.Version+1
		err = s.store.UpdateOrganisation(ctx, next)
		if errors.Is(err, ErrStale) {
			continue // read again: the conflict then carries the current entry
		}
		if err != nil {
			return Organisation{}, fmt.Errorf("updating organisation %s: %w", id, err)
		}
		return next, s.recordDirectory(ctx, p, ActionOrganisationUpdate, id)
	}
}

// recordDirectory records a directory write in the administrator's log and the organisation's.
func (s *Service) recordDirectory(ctx context.Context, p Principal, action, id string) error {
	e := p.AuditEvent(RoleAdmin, action, ResourceOrganisation, id, audit.OutcomeSuccess)
	if err := s.events.RecordEvent(ctx, e); err != nil {
		return err
	}
	if id == p.OrgID {
		return nil
	}
	e.OrgID = id
	return s.events.RecordEvent(ctx, e)
}

// Organisation returns the directory entry of organisation id (no caller check: the directory is
// readable by every signed-in user, and domain services use it to check the organisations a consent
// or a referral names). It returns an *apperr.Error NotFound (organisation_not_found) wrapping
// ErrNotFound for an unknown id, or the store's error.
func (s *Service) Organisation(ctx context.Context, id string) (Organisation, error) {
	notFound := errOrgNotFound(id)
	if auditOrgID(id) == "" {
		return Organisation{}, notFound
	}
	o, err := s.store.Organisation(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Organisation{}, notFound
	}
	if err != nil {
		return Organisation{}, fmt.Errorf("reading organisation %s: %w", id, err)
	}
	return o, nil
}

func errOrgNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "organisation_not_found", MessageID: "ErrOrganisationNotFound",
		Data: map[string]any{"ID": id}, Err: ErrNotFound}
}
