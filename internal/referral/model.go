package referral

import (
	"slices"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Kind says whether a referral asks for a service or moves the whole case.
type Kind string

// The kinds.
const (
	KindReferral Kind = "referral"
	KindTransfer Kind = "transfer"
)

// Kinds lists the kinds.
var Kinds = []Kind{KindReferral, KindTransfer}

// Urgency is how soon the receiver should act.
type Urgency string

// The urgencies.
const (
	UrgencyRoutine   Urgency = "routine"
	UrgencyUrgent    Urgency = "urgent"
	UrgencyEmergency Urgency = "emergency"
)

// Urgencies lists the urgencies in display order.
var Urgencies = []Urgency{UrgencyRoutine, UrgencyUrgent, UrgencyEmergency}

// Status is where a referral stands.
type Status string

// The statuses: sent, then accepted or declined (receiver) or cancelled (sender); once accepted, in
// progress and completed (receiver) or withdrawn (sender).
const (
	StatusSent       Status = "sent"
	StatusAccepted   Status = "accepted"
	StatusDeclined   Status = "declined"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
	StatusCancelled  Status = "cancelled"
	StatusWithdrawn  Status = "withdrawn"
)

// Statuses lists the statuses.
var Statuses = []Status{StatusSent, StatusAccepted, StatusDeclined, StatusInProgress, StatusCompleted, StatusCancelled, StatusWithdrawn}

// Open reports whether a referral in status s is still under way (it blocks erasing its cases).
func (s Status) Open() bool { return s == StatusSent || s == StatusAccepted || s == StatusInProgress }

// SharableParts are the parts of a case a referral can copy into the receiver's case.
var SharableParts = []consent.Part{consent.PartProfile, consent.PartCaseTypes, consent.PartNeeds, consent.PartInterviews}

// Step is one status change of a referral.
type Step struct {
	Status Status
	At     time.Time
	OrgID  string // the organisation whose user made it
	By     string // that user
}

// Referral is one referral or transfer of a case to another organisation.
type Referral struct {
	ID         string // UUID chosen by the sender's client
	Kind       Kind
	FromOrgID  string
	FromCaseID string
	SentBy     string
	ToOrgID    string
	ToCaseID   string // the receiver's case, set on acceptance
	Service    identity.ServiceKind
	Urgency    Urgency
	Parts      []consent.Part // the parts shared, in the order of consent.Parts
	ConsentID  string         // the consent that covered the sharing; "" when nothing is shared
	Note       string         // the sender's message to the receiver; encrypted at rest
	Status     Status
	Reason     string // of a decline, cancellation or withdrawal (both sides read it); encrypted
	Outcome    string // of the completion (both sides read it); encrypted
	// ReceiverNote is the receiver's own note (when starting or completing): never shown to the
	// sender; encrypted under the receiver's case key.
	ReceiverNote string
	SentAt       time.Time
	UpdatedAt    time.Time
	History      []Step
	Version      int64 // 1 when sent, +1 on every change

	// ConsentStatus is filled on reads (not stored): where the consent the referral was made under
	// stands now ("" when nothing was shared). A withdrawn consent is shown to the receiver.
	ConsentStatus consent.Status
}

// clone returns a copy of r sharing nothing with it.
func (r Referral) clone() Referral {
	r.Parts, r.History = slices.Clone(r.Parts), slices.Clone(r.History)
	return r
}
