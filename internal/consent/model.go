package consent

import (
	"slices"
	"time"
)

// GivenBy says who gave a consent.
type GivenBy string

// The people who may give consent.
const (
	GivenByChild         GivenBy = "child"
	GivenByCaregiver     GivenBy = "caregiver"
	GivenByLegalGuardian GivenBy = "legal_guardian"
)

// Givers lists who may give consent, in display order.
var Givers = []GivenBy{GivenByChild, GivenByCaregiver, GivenByLegalGuardian}

// LegalBasis is a ground for processing that stands instead of consent.
type LegalBasis string

// The legal bases.
const (
	BasisCourtOrder    LegalBasis = "court_order"
	BasisStatutoryDuty LegalBasis = "statutory_duty"
)

// LegalBases lists the legal bases in display order.
var LegalBases = []LegalBasis{BasisCourtOrder, BasisStatutoryDuty}

// Purpose is what a consent allows.
type Purpose string

// The purposes.
const (
	PurposeInformationSharing Purpose = "information_sharing" // with the named organisations
	PurposeServices           Purpose = "services"
	PurposeMedicalExamination Purpose = "medical_examination"
	PurposeRecording          Purpose = "recording"
)

// Purposes lists the purposes in display order.
var Purposes = []Purpose{PurposeInformationSharing, PurposeServices, PurposeMedicalExamination, PurposeRecording}

// Part is a part of a case a consent covers.
type Part string

// The parts of a case.
const (
	PartProfile    Part = "profile"    // the child: pseudonym, age band, birth year, gender, language
	PartCaseTypes  Part = "case_types" // the kinds of abuse
	PartNeeds      Part = "needs"      // interpreter, communication aids, disability, support person
	PartInterviews Part = "interviews"
	PartEvidence   Part = "evidence"
)

// Parts lists the parts in display order.
var Parts = []Part{PartProfile, PartCaseTypes, PartNeeds, PartInterviews, PartEvidence}

// Status is where a consent stands at a moment.
type Status string

// The statuses.
const (
	StatusPending   Status = "pending"   // valid from a later time
	StatusActive    Status = "active"    // current
	StatusExpired   Status = "expired"   // past its valid-until time
	StatusWithdrawn Status = "withdrawn" // withdrawn (whatever its times)
)

// Consent is one consent or legal basis recorded on a case. Exactly one of GivenBy and LegalBasis
// is set. It is never changed except by its one withdrawal.
type Consent struct {
	ID              string // UUID chosen by the client
	OrgID           string
	CaseID          string
	GivenBy         GivenBy
	LegalBasis      LegalBasis
	Purposes        []Purpose // at least one, in the order of Purposes
	OrganisationIDs []string  // the organisations information may be shared with (information_sharing)
	Parts           []Part    // at least one, in the order of Parts
	Note            string    // free text (the order's reference, how consent was obtained); encrypted at rest
	GivenAt         time.Time // when it was given (device time)
	ValidFrom       time.Time
	ValidUntil      *time.Time // nil: until withdrawn
	RecordedBy      string
	CreatedAt       time.Time // server time
	Withdrawal      *Withdrawal
	Version         int64 // 1 when recorded, 2 once withdrawn
}

// Withdrawal is the withdrawal of a consent.
type Withdrawal struct {
	At         time.Time // when it was withdrawn (device time)
	ReceivedAt time.Time // server time
	By         string    // the user who recorded it
	Note       string    // encrypted at rest
}

// StatusAt says where c stands at time at.
func (c Consent) StatusAt(at time.Time) Status {
	switch {
	case c.Withdrawal != nil:
		return StatusWithdrawn
	case at.Before(c.ValidFrom):
		return StatusPending
	case c.ValidUntil != nil && !at.Before(*c.ValidUntil):
		return StatusExpired
	default:
		return StatusActive
	}
}

// Covers reports whether c, at time at, allows sharing parts with organisation orgID: it is active,
// its purposes include information sharing, it names orgID, and it covers every part.
func (c Consent) Covers(orgID string, parts []Part, at time.Time) bool {
	if c.StatusAt(at) != StatusActive || !slices.Contains(c.Purposes, PurposeInformationSharing) || !slices.Contains(c.OrganisationIDs, orgID) {
		return false
	}
	for _, p := range parts {
		if !slices.Contains(c.Parts, p) {
			return false
		}
	}
	return true
}

// clone returns a copy of c sharing nothing with it.
func (c Consent) clone() Consent {
	c.Purposes, c.OrganisationIDs, c.Parts = slices.Clone(c.Purposes), slices.Clone(c.OrganisationIDs), slices.Clone(c.Parts)
	if c.ValidUntil != nil {
		t := *c.ValidUntil
		c.ValidUntil = &t
	}
	if c.Withdrawal != nil {
		w := *c.Withdrawal
		c.Withdrawal = &w
	}
	return c
}
