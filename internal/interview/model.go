package interview

import (
	"fmt"
	"slices"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// Status is where a session stands in the review workflow.
type Status string

// The session statuses. Draft and Returned sessions are edited by their interviewer; Submitted and
// Resubmitted ones wait for a supervisor; Approved ones are locked (corrections are addenda).
const (
	StatusDraft       Status = "draft"
	StatusSubmitted   Status = "submitted"
	StatusReturned    Status = "returned"
	StatusResubmitted Status = "resubmitted"
	StatusApproved    Status = "approved"
)

// Statuses lists the statuses in workflow order.
var Statuses = []Status{StatusDraft, StatusSubmitted, StatusReturned, StatusResubmitted, StatusApproved}

// Editable reports whether the interviewer may change a session in status s.
func (s Status) Editable() bool { return s == StatusDraft || s == StatusReturned }

// InReview reports whether a session in status s waits for a supervisor's review.
func (s Status) InReview() bool { return s == StatusSubmitted || s == StatusResubmitted }

// PromptType is the type of an interviewer's prompt (the NICHD taxonomy).
type PromptType string

// The prompt types. Invitations of both kinds are the open prompts.
const (
	PromptInvitation     PromptType = "invitation"
	PromptCuedInvitation PromptType = "cued_invitation"
	PromptDirective      PromptType = "directive"
	PromptOptionPosing   PromptType = "option_posing"
	PromptSuggestive     PromptType = "suggestive"
)

// PromptTypes lists the prompt types, from most open to most leading.
var PromptTypes = []PromptType{PromptInvitation, PromptCuedInvitation, PromptDirective, PromptOptionPosing, PromptSuggestive}

// Open reports whether t is an open prompt (an invitation or a cued invitation).
func (t PromptType) Open() bool { return t == PromptInvitation || t == PromptCuedInvitation }

// ParticipantRole is the part a person takes in an interview.
type ParticipantRole string

// The participant roles.
const (
	RoleInterviewer   ParticipantRole = "interviewer"
	RoleObserver      ParticipantRole = "observer"
	RoleSupportPerson ParticipantRole = "support_person"
	RoleInterpreter   ParticipantRole = "interpreter"
	RoleIntermediary  ParticipantRole = "intermediary"
)

// ParticipantRoles lists the participant roles.
var ParticipantRoles = []ParticipantRole{RoleInterviewer, RoleObserver, RoleSupportPerson, RoleInterpreter, RoleIntermediary}

// Participant is a person taking part in the interview.
type Participant struct {
	Role     ParticipantRole
	Name     string // encrypted at rest
	Language string // BCP 47; the interpreter's language
	UserID   string // when the participant is a user of the service; optional
}

// Recording describes the interview's recording; the service never holds the recording itself.
type Recording struct {
	Recorded bool
	Device   string // encrypted at rest
	FileName string // encrypted at rest
	SHA256   string // lower-case hex of the recording file's SHA-256; "" when not known yet
}

// Consent records what the child and the caregiver were told and agreed to.
type Consent struct {
	ChildInformed     bool
	CaregiverInformed bool
	ConsentObtained   bool
	Notes             string // encrypted at rest
}

// Plan is the planning part of a session.
type Plan struct {
	ScheduledAt       *time.Time
	Place             string // encrypted at rest
	ChildFriendlyRoom bool
	Participants      []Participant
	Recording         Recording
	Consent           Consent
}

func (p Plan) clone() Plan {
	p.Participants = slices.Clone(p.Participants)
	if p.ScheduledAt != nil {
		t := *p.ScheduledAt
		p.ScheduledAt = &t
	}
	return p
}

func (p Plan) equal(q Plan) bool {
	return timePtrEqual(p.ScheduledAt, q.ScheduledAt) && p.Place == q.Place && p.ChildFriendlyRoom == q.ChildFriendlyRoom &&
		slices.Equal(p.Participants, q.Participants) && p.Recording == q.Recording && p.Consent == q.Consent
}

func timePtrEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// Decision is a supervisor's review decision.
type Decision string

// The review decisions.
const (
	DecisionApprove Decision = "approve"
	DecisionReturn  Decision = "return"
)

// Decisions lists the review decisions.
var Decisions = []Decision{DecisionApprove, DecisionReturn}

// ItemComment is a reviewer's comment on one checklist item (or, with ItemID empty, on a step).
type ItemComment struct {
	StepID  string
	ItemID  string
	Comment string // encrypted at rest
}

// Review is one review of a session.
type Review struct {
	Decision     Decision
	Comment      string // overall comment; encrypted at rest
	ItemComments []ItemComment
	ByUserID     string
	At           time.Time // server time
}

// Addendum is a correction added to an approved session; the original stays as it was.
type Addendum struct {
	ID         string // UUID chosen by the client; a repeated addendum with the same id changes nothing
	Text       string // encrypted at rest
	ByUserID   string
	RecordedAt time.Time // device time
	ReceivedAt time.Time // server time
}

// Session is one interview of a child on a case.
type Session struct {
	ID              string // UUID, may be generated by the client (offline creation)
	OrgID           string
	CaseID          string
	ProtocolID      string
	ProtocolVersion int                // pinned when the session is created
	Situation       protocol.Situation // the child's age band, case types and needs when the session was created
	InterviewerID   string             // the user who created it; only they edit it
	Status          Status
	Plan            Plan
	StartedAt       *time.Time // device time
	EndedAt         *time.Time // device time
	Reviews         []Review
	Addenda         []Addendum
	SubmittedAt     *time.Time // the last submission
	ApprovedAt      *time.Time
	ApprovedBy      string
	Quality         *Quality // computed at the last submission; nil before
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Version         int64 // 1 when created, +1 on every change of the session (not of its log)
	// SharedFrom is set on a copy another organisation shared through a referral or transfer: the
	// copy is read-only where it was received. Nil for the organisation's own sessions.
	SharedFrom *SharedFrom
}

// SharedFrom says where a shared copy of a session comes from: the referral that shared it, the
// sending organisation and the id of its session there (ids only, never content).
type SharedFrom struct {
	ReferralID string
	OrgID      string
	SessionID  string
}

// Clone returns a copy of s that shares no slice or pointer with it (for stores that keep sessions in
// memory, such as the seed's bulk loader).
func (s Session) Clone() Session { return s.clone() }

func (s Session) clone() Session {
	s.Situation = protocol.Situation{AgeBand: s.Situation.AgeBand, CaseTypes: slices.Clone(s.Situation.CaseTypes), Needs: slices.Clone(s.Situation.Needs)}
	s.Plan = s.Plan.clone()
	s.Reviews = slices.Clone(s.Reviews)
	for i := range s.Reviews {
		s.Reviews[i].ItemComments = slices.Clone(s.Reviews[i].ItemComments)
	}
	s.Addenda = slices.Clone(s.Addenda)
	for _, p := range []**time.Time{&s.StartedAt, &s.EndedAt, &s.SubmittedAt, &s.ApprovedAt} {
		if *p != nil {
			t := **p
			*p = &t
		}
	}
	if s.Quality != nil {
		q := s.Quality.clone()
		s.Quality = &q
	}
	return s
}

// Prompt is one prompt the interviewer put to the child.
type Prompt struct {
	ClientID   string
	Type       PromptType
	Words      string // optional; encrypted at rest
	PhaseID    string // optional: the protocol phase the prompt was put in
	RecordedAt time.Time
	ReceivedAt time.Time
	ByUserID   string
}

// Break is a pause of the interview (the child rests; the interviewer consults the team).
type Break struct {
	ClientID   string
	StartedAt  time.Time
	EndedAt    time.Time
	Note       string // encrypted at rest
	ReceivedAt time.Time
	ByUserID   string
}

// WellbeingCheck is a moment the interviewer checked how the child was doing.
type WellbeingCheck struct {
	ClientID   string
	CheckedAt  time.Time
	Note       string // encrypted at rest
	ReceivedAt time.Time
	ByUserID   string
}

// Mark records a checklist item as done or not done (with a reason). The latest mark of an item (by
// RecordedAt, then by order received) is its state.
type Mark struct {
	ClientID   string
	StepID     string
	ItemID     string
	Done       bool
	Reason     string // required when not done; encrypted at rest
	RecordedAt time.Time
	ReceivedAt time.Time
	ByUserID   string
}

// Entries are log entries to append in one batch.
type Entries struct {
	Prompts []Prompt
	Breaks  []Break
	Checks  []WellbeingCheck
	Marks   []Mark
}

// Len returns the number of entries.
func (e Entries) Len() int { return len(e.Prompts) + len(e.Breaks) + len(e.Checks) + len(e.Marks) }

// ClientIDs returns the client ids of every entry.
func (e Entries) ClientIDs() []string {
	ids := make([]string, 0, e.Len())
	for _, x := range e.Prompts {
		ids = append(ids, x.ClientID)
	}
	for _, x := range e.Breaks {
		ids = append(ids, x.ClientID)
	}
	for _, x := range e.Checks {
		ids = append(ids, x.ClientID)
	}
	for _, x := range e.Marks {
		ids = append(ids, x.ClientID)
	}
	return ids
}

// Without returns the entries whose client id is not in ids.
func (e Entries) Without(ids map[string]bool) Entries {
	var out Entries
	for _, x := range e.Prompts {
		if !ids[x.ClientID] {
			out.Prompts = append(out.Prompts, x)
		}
	}
	for _, x := range e.Breaks {
		if !ids[x.ClientID] {
			out.Breaks = append(out.Breaks, x)
		}
	}
	for _, x := range e.Checks {
		if !ids[x.ClientID] {
			out.Checks = append(out.Checks, x)
		}
	}
	for _, x := range e.Marks {
		if !ids[x.ClientID] {
			out.Marks = append(out.Marks, x)
		}
	}
	return out
}

// Log is the running record of a session: append-only, in the order received. Open is false while
// the session is submitted or approved (appends are refused); ClosedAt is when it was last closed.
type Log struct {
	SessionID string
	Open      bool
	ClosedAt  time.Time
	Entries
}

// Reused returns the path of the first entry of e (prompts[2].client_id) whose client id the log
// already holds for an entry of other content (or of another kind): a client id used again for
// something else, not a retry. The stamps the service adds (ReceivedAt, ByUserID) are not content.
func (l Log) Reused(e Entries) (string, bool) {
	held := map[string]any{}
	for _, x := range l.Prompts {
		x.ReceivedAt, x.ByUserID = time.Time{}, ""
		held[x.ClientID] = x
	}
	for _, x := range l.Breaks {
		x.ReceivedAt, x.ByUserID = time.Time{}, ""
		held[x.ClientID] = x
	}
	for _, x := range l.Checks {
		x.ReceivedAt, x.ByUserID = time.Time{}, ""
		held[x.ClientID] = x
	}
	for _, x := range l.Marks {
		x.ReceivedAt, x.ByUserID = time.Time{}, ""
		held[x.ClientID] = x
	}
	differs := func(id string, x any) bool {
		h, ok := held[id]
		return ok && !sameEntry(h, x)
	}
	for i, x := range e.Prompts {
		x.ReceivedAt, x.ByUserID = time.Time{}, ""
		if differs(x.ClientID, x) {
			return fmt.Sprintf("prompts[%d].client_id", i), true
		}
	}
	for i, x := range e.Breaks {
		x.ReceivedAt, x.ByUserID = time.Time{}, ""
		if differs(x.ClientID, x) {
			return fmt.Sprintf("breaks[%d].client_id", i), true
		}
	}
	for i, x := range e.Checks {
		x.ReceivedAt, x.ByUserID = time.Time{}, ""
		if differs(x.ClientID, x) {
			return fmt.Sprintf("wellbeing_checks[%d].client_id", i), true
		}
	}
	for i, x := range e.Marks {
		x.ReceivedAt, x.ByUserID = time.Time{}, ""
		if differs(x.ClientID, x) {
			return fmt.Sprintf("checklist[%d].client_id", i), true
		}
	}
	return "", false
}

// sameEntry compares two log entries of any kind, times by instant.
func sameEntry(a, b any) bool {
	switch a := a.(type) {
	case Prompt:
		b, ok := b.(Prompt)
		return ok && a.Type == b.Type && a.Words == b.Words && a.PhaseID == b.PhaseID && a.RecordedAt.Equal(b.RecordedAt)
	case Break:
		b, ok := b.(Break)
		return ok && a.StartedAt.Equal(b.StartedAt) && a.EndedAt.Equal(b.EndedAt) && a.Note == b.Note
	case WellbeingCheck:
		b, ok := b.(WellbeingCheck)
		return ok && a.CheckedAt.Equal(b.CheckedAt) && a.Note == b.Note
	case Mark:
		b, ok := b.(Mark)
		return ok && a.StepID == b.StepID && a.ItemID == b.ItemID && a.Done == b.Done && a.Reason == b.Reason && a.RecordedAt.Equal(b.RecordedAt)
	}
	return false
}

// ClientIDSet returns the client ids the log holds.
func (l Log) ClientIDSet() map[string]bool {
	set := make(map[string]bool, l.Len())
	for _, id := range l.ClientIDs() {
		set[id] = true
	}
	return set
}

// ChecklistItem is one item of the session's checklist with its latest mark (nil when unmarked).
type ChecklistItem struct {
	Item   protocol.ChecklistItem
	Latest *Mark
}

// ChecklistStep is one applicable step of the session's protocol version, with its items.
type ChecklistStep struct {
	PhaseID string
	Step    protocol.Step
	Items   []ChecklistItem
}

// View is a session as its readers see it: the session, its log, the checklist (the steps of the
// pinned version that apply to the session's situation, in protocol order, with the latest marks),
// the pinned protocol version (for localizing the checklist) and the quality computed now.
type View struct {
	Session   Session
	Log       Log
	Checklist []ChecklistStep
	Protocol  protocol.Version
	Quality   Quality
}
