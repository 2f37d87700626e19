package appointment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Kind is an appointment's kind; each has a localized label, message id "appointment.kind.<kind>".
type Kind string

// The appointment kinds.
const (
	KindForensicInterview  Kind = "forensic_interview"
	KindMedicalExamination Kind = "medical_examination"
	KindTherapy            Kind = "therapy"
	KindCaseReview         Kind = "case_review" // a multidisciplinary case review meeting
	KindCourt              Kind = "court"
	KindOther              Kind = "other"
)

// Kinds lists every appointment kind.
var Kinds = []Kind{KindForensicInterview, KindMedicalExamination, KindTherapy, KindCaseReview, KindCourt, KindOther}

// Status is an appointment's state; label "appointment.status.<status>".
type Status string

// The appointment statuses.
const (
	StatusScheduled Status = "scheduled"
	StatusDone      Status = "done"
	StatusCancelled Status = "cancelled"
	StatusMissed    Status = "missed"
)

// Statuses lists every status.
var Statuses = []Status{StatusScheduled, StatusDone, StatusCancelled, StatusMissed}

// Limits, in characters or entries.
const (
	MaxPlaceLen        = 300
	MaxNotesLen        = 4000
	MaxNameLen         = 200
	MaxRoleLen         = 100
	MaxParticipants    = 50
	MaxReviewCases     = 50
	MaxActionsPerCase  = 50
	MaxDecisionsLen    = 4000
	MaxWhatLen         = 1000
	MaxDurationMinutes = 24 * 60
	MaxUserIDLen       = 128
)

// Participant is a user of the service (UserID, possibly of another organisation) or a person from
// outside it (Name and Role; the name is encrypted at rest).
type Participant struct {
	UserID string
	Name   string
	Role   string
}

// Action is a follow-up a case review meeting decided: who (a user of the organiser's organisation),
// what (encrypted at rest) and by when; DoneAt is set once done.
type Action struct {
	ID         string // UUID chosen by the client
	AssigneeID string
	What       string
	Due        time.Time
	DoneAt     *time.Time
}

// CaseReview is what a case review meeting decided about one of its cases: decisions (free text,
// encrypted under the case's key) and actions.
type CaseReview struct {
	CaseID    string
	Decisions string
	Actions   []Action
}

// Appointment is one appointment or case review meeting. Place, Notes and outsiders' names are
// encrypted at rest.
type Appointment struct {
	ID              string // UUID chosen by the client
	OrgID           string
	Kind            Kind
	CaseIDs         []string
	StartsAt        time.Time
	DurationMinutes int
	Place           string
	Participants    []Participant
	Status          Status
	Notes           string
	Reviews         []CaseReview // case review meetings only: per case reviewed
	CreatedBy       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Version         int64
}

func (a Appointment) clone() Appointment {
	a.CaseIDs = slices.Clone(a.CaseIDs)
	a.Participants = slices.Clone(a.Participants)
	reviews := make([]CaseReview, len(a.Reviews))
	for i, r := range a.Reviews {
		r.Actions = slices.Clone(r.Actions)
		reviews[i] = r
	}
	a.Reviews = reviews
	return a
}

// Store persists appointments. Every method returns the sentinels documented on it, or another error
// when the database fails.
type Store interface {
	// CreateAppointment stores a new appointment; ErrExists when its id is taken.
	CreateAppointment(ctx context.Context, a Appointment) error
	// Appointment returns an appointment by id, or ErrNotFound.
	Appointment(ctx context.Context, id string) (Appointment, error)
	// UpdateAppointment replaces the mutable fields of a.ID when its stored version is a.Version-1;
	// ErrStale when it is not, ErrNotFound when there is none.
	UpdateAppointment(ctx context.Context, a Appointment) error
	// ListCaseAppointments returns the appointments naming case caseID, by time then id.
	ListCaseAppointments(ctx context.Context, caseID string) ([]Appointment, error)
	// ListOrgAppointments returns the appointments of organisation orgID starting in [from, to) (a
	// zero bound is open), by time then id.
	ListOrgAppointments(ctx context.Context, orgID string, from, to time.Time) ([]Appointment, error)
}

// Cases gives access to cases: CaseAccess is *casework.Service's, ListCases *casework.Store's (for
// the organisation-wide measures of the worklist and the statistics).
type Cases interface {
	// CaseAccess reads case caseID and checks that p may see and change it, recording a refusal as
	// action; see casework.Service.CaseAccess for its errors.
	CaseAccess(ctx context.Context, p identity.Principal, caseID, action string) (casework.Case, identity.Role, error)
}

// CaseLister lists cases without access checks (casework.Store satisfies it).
type CaseLister interface {
	// ListCases returns up to limit cases matching f with ids after afterID, by id.
	ListCases(ctx context.Context, f casework.StoreFilter, afterID string, limit int) ([]casework.Case, error)
}

// Directory tells whether a user of an organisation exists, is enabled and has a role
// (*identity.Service satisfies it).
type Directory interface {
	// HasRole reports whether user userID of organisation orgID is enabled and has role.
	HasRole(ctx context.Context, orgID, userID string, role identity.Role) (bool, error)
}

// Audit actions (resource type "appointment", its id; the measures are recorded on the case).
const (
	ActionCreate        = "appointment.create"
	ActionRead          = "appointment.read"
	ActionList          = "appointment.list"
	ActionUpdate        = "appointment.update"
	ActionCalendar      = "appointment.calendar"
	ActionTimeStandards = "case.time_standards"
	ActionActions       = "appointment.actions"
	resourceAppointment = "appointment"
	resourceCase        = "case"
)

// Store sentinels.
var (
	// ErrNotFound is returned by the Store for an appointment that does not exist.
	ErrNotFound = errors.New("appointment: not found")
	// ErrExists is returned by Store.CreateAppointment when the id is taken.
	ErrExists = errors.New("appointment: already exists")
	// ErrStale is returned by Store.UpdateAppointment when the stored version is not the expected one.
	ErrStale = errors.New("appointment: stale version")
)

// StaleError carries the current appointment when a write named an outdated version; the Service
// returns it wrapped in a Conflict *apperr.Error (version_conflict). It unwraps to ErrStale.
type StaleError struct {
	Current Appointment
}

// Error returns a developer-facing description.
func (e *StaleError) Error() string {
	return fmt.Sprintf("appointment: %s is at version %d", e.Current.ID, e.Current.Version)
}

// Unwrap returns ErrStale.
func (e *StaleError) Unwrap() error { return ErrStale }

func errNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "appointment_not_found", MessageID: "ErrAppointmentNotFound",
		Data: map[string]any{"ID": id}, Err: ErrNotFound}
}

func errCaseNotFound(id string) error {
	return apperr.New(apperr.NotFound, "case_not_found", "ErrCaseNotFound", map[string]any{"ID": id})
}

func errIDConflict(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "appointment_id_conflict", MessageID: "ErrAppointmentIDConflict",
		Data: map[string]any{"ID": id}, Err: ErrExists}
}

func errStale(cur Appointment) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "version_conflict", MessageID: "ErrAppointmentVersionConflict",
		Data: map[string]any{"Version": cur.Version}, Err: &StaleError{Current: cur}}
}
