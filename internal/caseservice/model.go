package caseservice

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

// Discipline is the kind of service; label "caseservice.discipline.<discipline>".
type Discipline string

// The disciplines.
const (
	DisciplineMedical         Discipline = "medical_examination"
	DisciplineTherapy         Discipline = "therapy"
	DisciplinePsychosocial    Discipline = "psychosocial_support"
	DisciplineVictimAdvocacy  Discipline = "victim_advocacy"
	DisciplineChildProtection Discipline = "child_protection"
	DisciplineLegal           Discipline = "legal"
)

// Disciplines lists every discipline.
var Disciplines = []Discipline{DisciplineMedical, DisciplineTherapy, DisciplinePsychosocial, DisciplineVictimAdvocacy, DisciplineChildProtection, DisciplineLegal}

// Status is where a service stands; label "caseservice.status.<status>".
type Status string

// The statuses.
const (
	StatusPlanned    Status = "planned"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
	StatusDeclined   Status = "declined"
	StatusCancelled  Status = "cancelled"
)

// Statuses lists every status.
var Statuses = []Status{StatusPlanned, StatusInProgress, StatusCompleted, StatusDeclined, StatusCancelled}

// AssessmentOutcome is a child protection assessment's outcome; label "caseservice.assessment.<value>".
type AssessmentOutcome string

// AssessmentOutcomes lists the outcomes of a child protection assessment.
var AssessmentOutcomes = []AssessmentOutcome{"no_concern", "support_needed", "child_at_risk", "placed_in_care"}

// Disposition is how legal proceedings ended (or that they are pending); label
// "caseservice.disposition.<value>".
type Disposition string

// Dispositions lists the dispositions.
var Dispositions = []Disposition{"pending", "no_charges", "dismissed", "acquitted", "convicted", "plea_agreement", "other"}

// Limits.
const (
	MaxNotesLen    = 4000
	MaxProviderLen = 200
	MaxSessions    = 1000
	MaxCourtDates  = 50
)

// Outcome holds the outcome fields; each belongs to the disciplines fieldDisciplines names, nil or
// empty when not recorded.
type Outcome struct {
	ExaminationDone   *bool             // medical examination
	FollowUpNeeded    *bool             // medical examination
	Sessions          *int              // therapy, psychosocial support: sessions attended
	AssessmentOutcome AssessmentOutcome // child protection
	SafetyPlan        *bool             // child protection
	ChargesFiled      *bool             // legal
	CourtDates        []time.Time       // legal
	Disposition       Disposition       // legal
}

// fieldDisciplines says which disciplines each outcome field belongs to (by its JSON name).
var fieldDisciplines = map[string][]Discipline{
	"examination_done":   {DisciplineMedical},
	"follow_up_needed":   {DisciplineMedical},
	"sessions":           {DisciplineTherapy, DisciplinePsychosocial},
	"assessment_outcome": {DisciplineChildProtection},
	"safety_plan":        {DisciplineChildProtection},
	"charges_filed":      {DisciplineLegal},
	"court_dates":        {DisciplineLegal},
	"disposition":        {DisciplineLegal},
}

// Record is one service on a case. Provider and Notes are encrypted at rest.
type Record struct {
	ID         string // UUID chosen by the client
	OrgID      string
	CaseID     string
	Discipline Discipline
	Status     Status
	Provider   string
	Notes      string
	Outcome    Outcome
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedBy  string
	UpdatedAt  time.Time
	Version    int64
}

func (r Record) clone() Record {
	r.Outcome.CourtDates = slices.Clone(r.Outcome.CourtDates)
	return r
}

// Store persists service records. Every method returns the sentinels documented on it, or another
// error when the database fails.
type Store interface {
	// CreateService stores a new record; ErrExists when its id is taken.
	CreateService(ctx context.Context, r Record) error
	// Service returns a record by id, or ErrNotFound.
	Service(ctx context.Context, id string) (Record, error)
	// ListServices returns the records of a case by creation time then id.
	ListServices(ctx context.Context, caseID string) ([]Record, error)
	// UpdateService replaces r's mutable fields when the stored version is r.Version-1; ErrStale
	// otherwise (or when there is none).
	UpdateService(ctx context.Context, r Record) error
}

// Cases checks access to cases (*casework.Service satisfies it).
type Cases interface {
	// CaseAccess reads case caseID and checks that p may see and change it, recording a refusal as
	// action; see casework.Service.CaseAccess for its errors.
	CaseAccess(ctx context.Context, p identity.Principal, caseID, action string) (casework.Case, identity.Role, error)
}

// Audit actions (resource type "case_service", the record's id; lists on the case).
const (
	ActionCreate    = "case_service.create"
	ActionRead      = "case_service.read"
	ActionList      = "case_service.list"
	ActionUpdate    = "case_service.update"
	resourceService = "case_service"
	resourceCase    = "case"
)

// Store sentinels.
var (
	// ErrNotFound is returned by the Store for a record that does not exist.
	ErrNotFound = errors.New("caseservice: not found")
	// ErrExists is returned by Store.CreateService when the id is taken.
	ErrExists = errors.New("caseservice: already exists")
	// ErrStale is returned by Store.UpdateService when the stored version is not the expected one.
	ErrStale = errors.New("caseservice: stale version")
)

// StaleError carries the current record when a write named an outdated version; the Service returns
// it wrapped in a Conflict *apperr.Error (version_conflict). It unwraps to ErrStale.
type StaleError struct {
	Current Record
}

// Error returns a developer-facing description.
func (e *StaleError) Error() string {
	return fmt.Sprintf("caseservice: %s is at version %d", e.Current.ID, e.Current.Version)
}

// Unwrap returns ErrStale.
func (e *StaleError) Unwrap() error { return ErrStale }

func errNotFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Code: "service_not_found", MessageID: "ErrServiceNotFound",
		Data: map[string]any{"ID": id}, Err: ErrNotFound}
}

func errIDConflict(id string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "service_id_conflict", MessageID: "ErrServiceIDConflict",
		Data: map[string]any{"ID": id}, Err: ErrExists}
}

func errStale(cur Record) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "version_conflict", MessageID: "ErrServiceVersionConflict",
		Data: map[string]any{"Version": cur.Version}, Err: &StaleError{Current: cur}}
}
