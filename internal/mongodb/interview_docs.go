package mongodb

import (
	"fmt"
	"strconv"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// The stored form of interview sessions and their logs, and the conversions between them and the
// domain values (encrypting the free text and identifying fields).

// interviewSessionDoc is an interview session; _id is the session id. Its log is a separate document
// of interview_logs with the same _id, so appends during the interview never contend with the
// version-checked writes of the session. Fields marked "encrypted" hold fieldcrypt tokens bound to
// "interview:<id>:<field path>". org_id, case_id, updated_at and change_seq are the sync stamp.
type interviewSessionDoc struct {
	ID              string                 `bson:"_id"`
	OrgID           string                 `bson:"org_id"`
	CaseID          string                 `bson:"case_id"`
	UpdatedAt       time.Time              `bson:"updated_at"`
	ChangeSeq       int64                  `bson:"change_seq"`
	ProtocolID      string                 `bson:"protocol_id"`
	ProtocolVersion int                    `bson:"protocol_version"`
	Situation       interviewSituationDoc  `bson:"situation"`
	InterviewerID   string                 `bson:"interviewer_id"`
	Status          string                 `bson:"status"`
	Plan            interviewPlanDoc       `bson:"plan"`
	StartedAt       *time.Time             `bson:"started_at"`
	EndedAt         *time.Time             `bson:"ended_at"`
	Reviews         []interviewReviewDoc   `bson:"reviews"`
	Addenda         []interviewAddendumDoc `bson:"addenda"`
	SubmittedAt     *time.Time             `bson:"submitted_at"`
	ApprovedAt      *time.Time             `bson:"approved_at"`
	ApprovedBy      string                 `bson:"approved_by"`
	Quality         *interviewQualityDoc   `bson:"quality"`
	CreatedAt       time.Time              `bson:"created_at"`
	Version         int64                  `bson:"version"`
	// SharedFrom is set on a copy received from another organisation (absent otherwise).
	SharedFrom *interviewSharedFromDoc `bson:"shared_from,omitempty"`
}

// interviewSharedFromDoc says which referral shared a copied session, and from where.
type interviewSharedFromDoc struct {
	ReferralID string `bson:"referral_id"`
	OrgID      string `bson:"org_id"`
	SessionID  string `bson:"session_id"`
}

type interviewSituationDoc struct {
	AgeBand   string   `bson:"age_band"`
	CaseTypes []string `bson:"case_types"`
	Needs     []string `bson:"needs"`
}

type interviewPlanDoc struct {
	ScheduledAt       *time.Time                `bson:"scheduled_at"`
	Place             string                    `bson:"place"` // encrypted
	ChildFriendlyRoom bool                      `bson:"child_friendly_room"`
	Participants      []interviewParticipantDoc `bson:"participants"`
	Recording         interviewRecordingDoc     `bson:"recording"`
	Consent           interviewConsentDoc       `bson:"consent"`
}

type interviewParticipantDoc struct {
	Role     string `bson:"role"`
	Name     string `bson:"name"` // encrypted
	Language string `bson:"language"`
	UserID   string `bson:"user_id"`
}

type interviewRecordingDoc struct {
	Recorded bool   `bson:"recorded"`
	Device   string `bson:"device"`    // encrypted
	FileName string `bson:"file_name"` // encrypted
	SHA256   string `bson:"sha256"`
}

type interviewConsentDoc struct {
	ChildInformed     bool   `bson:"child_informed"`
	CaregiverInformed bool   `bson:"caregiver_informed"`
	ConsentObtained   bool   `bson:"consent_obtained"`
	Notes             string `bson:"notes"` // encrypted
}

type interviewReviewDoc struct {
	Decision     string                    `bson:"decision"`
	Comment      string                    `bson:"comment"` // encrypted
	ItemComments []interviewItemCommentDoc `bson:"item_comments"`
	ByUserID     string                    `bson:"by_user_id"`
	At           time.Time                 `bson:"at"`
}

type interviewItemCommentDoc struct {
	StepID  string `bson:"step_id"`
	ItemID  string `bson:"item_id"`
	Comment string `bson:"comment"` // encrypted
}

type interviewAddendumDoc struct {
	ID         string    `bson:"id"`
	Text       string    `bson:"text"` // encrypted
	ByUserID   string    `bson:"by_user_id"`
	RecordedAt time.Time `bson:"recorded_at"`
	ReceivedAt time.Time `bson:"received_at"`
}

type interviewQualityDoc struct {
	Prompts               int                `bson:"prompts"`
	ByType                map[string]int     `bson:"by_type"`
	OpenPrompts           int                `bson:"open_prompts"`
	OpenShare             *float64           `bson:"open_share"`
	Breaks                int                `bson:"breaks"`
	WellbeingChecks       int                `bson:"wellbeing_checks"`
	DurationMinutes       *float64           `bson:"duration_minutes"`
	MinutesWithoutBreak   *float64           `bson:"minutes_without_break"`
	PhasesNotDone         []string           `bson:"phases_not_done"`
	InterviewNumber       int                `bson:"interview_number"`
	InterpreterNeeded     bool               `bson:"interpreter_needed"`
	InterpreterPresent    bool               `bson:"interpreter_present"`
	ChecklistItems        int                `bson:"checklist_items"`
	ChecklistItemsDone    int                `bson:"checklist_items_done"`
	ChecklistItemsNotDone int                `bson:"checklist_items_not_done"`
	Flags                 []interviewFlagDoc `bson:"flags"`
}

type interviewFlagDoc struct {
	Code      string  `bson:"code"`
	Severity  string  `bson:"severity"`
	Measure   string  `bson:"measure"`
	Value     float64 `bson:"value"`
	Threshold float64 `bson:"threshold"`
	PhaseID   string  `bson:"phase_id"`
}

// interviewLogDoc is the log of a session; _id is the session id. Entries are appended with $push
// and never changed; seq counts the appends, and every append is conditional on it, so two writers
// (two instances) never both append on the same state. Free text is encrypted, bound to
// "interview-log:<session id>:<kind>.<client id>.<field>".
type interviewLogDoc struct {
	ID        string               `bson:"_id"`
	OrgID     string               `bson:"org_id"`
	CaseID    string               `bson:"case_id"`
	UpdatedAt time.Time            `bson:"updated_at"`
	ChangeSeq int64                `bson:"change_seq"`
	Open      bool                 `bson:"open"`
	ClosedAt  time.Time            `bson:"closed_at"`
	Seq       int64                `bson:"seq"`
	Prompts   []interviewPromptDoc `bson:"prompts"`
	Breaks    []interviewBreakDoc  `bson:"breaks"`
	Checks    []interviewCheckDoc  `bson:"wellbeing_checks"`
	Marks     []interviewMarkDoc   `bson:"checklist"`
}

type interviewPromptDoc struct {
	ClientID   string    `bson:"client_id"`
	Type       string    `bson:"type"`
	Words      string    `bson:"words"` // encrypted
	PhaseID    string    `bson:"phase_id"`
	RecordedAt time.Time `bson:"recorded_at"`
	ReceivedAt time.Time `bson:"received_at"`
	ByUserID   string    `bson:"by_user_id"`
}

type interviewBreakDoc struct {
	ClientID   string    `bson:"client_id"`
	StartedAt  time.Time `bson:"started_at"`
	EndedAt    time.Time `bson:"ended_at"`
	Note       string    `bson:"note"` // encrypted
	ReceivedAt time.Time `bson:"received_at"`
	ByUserID   string    `bson:"by_user_id"`
}

type interviewCheckDoc struct {
	ClientID   string    `bson:"client_id"`
	CheckedAt  time.Time `bson:"checked_at"`
	Note       string    `bson:"note"` // encrypted
	ReceivedAt time.Time `bson:"received_at"`
	ByUserID   string    `bson:"by_user_id"`
}

type interviewMarkDoc struct {
	ClientID   string    `bson:"client_id"`
	StepID     string    `bson:"step_id"`
	ItemID     string    `bson:"item_id"`
	Done       bool      `bson:"done"`
	Reason     string    `bson:"reason"` // encrypted
	RecordedAt time.Time `bson:"recorded_at"`
	ReceivedAt time.Time `bson:"received_at"`
	ByUserID   string    `bson:"by_user_id"`
}

func interviewAAD(id, field string) string { return "interview:" + id + ":" + field }

func interviewLogAAD(id, kind, clientID, field string) string {
	return "interview-log:" + id + ":" + kind + "." + clientID + "." + field
}

func toInterviewSessionDoc(keys keyScope, s interview.Session) (interviewSessionDoc, error) {
	x := keys.sealing(s.CaseID)
	aad := func(field string) string { return interviewAAD(s.ID, field) }
	d := interviewSessionDoc{ID: s.ID, OrgID: s.OrgID, CaseID: s.CaseID, UpdatedAt: s.UpdatedAt, ProtocolID: s.ProtocolID,
		ProtocolVersion: s.ProtocolVersion, InterviewerID: s.InterviewerID, Status: string(s.Status),
		StartedAt: s.StartedAt, EndedAt: s.EndedAt, SubmittedAt: s.SubmittedAt, ApprovedAt: s.ApprovedAt, ApprovedBy: s.ApprovedBy,
		CreatedAt: s.CreatedAt, Version: s.Version,
		Situation: interviewSituationDoc{AgeBand: string(s.Situation.AgeBand), CaseTypes: stringsOf(s.Situation.CaseTypes), Needs: stringsOf(s.Situation.Needs)},
		Reviews:   make([]interviewReviewDoc, 0, len(s.Reviews)), Addenda: make([]interviewAddendumDoc, 0, len(s.Addenda)),
	}
	p := s.Plan
	d.Plan = interviewPlanDoc{ScheduledAt: p.ScheduledAt, Place: x.seal(p.Place, aad("plan.place")), ChildFriendlyRoom: p.ChildFriendlyRoom,
		Participants: make([]interviewParticipantDoc, 0, len(p.Participants)),
		Recording: interviewRecordingDoc{Recorded: p.Recording.Recorded, Device: x.seal(p.Recording.Device, aad("plan.recording.device")),
			FileName: x.seal(p.Recording.FileName, aad("plan.recording.file_name")), SHA256: p.Recording.SHA256},
		Consent: interviewConsentDoc{ChildInformed: p.Consent.ChildInformed, CaregiverInformed: p.Consent.CaregiverInformed,
			ConsentObtained: p.Consent.ConsentObtained, Notes: x.seal(p.Consent.Notes, aad("plan.consent.notes"))}}
	for i, pp := range p.Participants {
		d.Plan.Participants = append(d.Plan.Participants, interviewParticipantDoc{Role: string(pp.Role),
			Name: x.seal(pp.Name, aad("plan.participants."+strconv.Itoa(i)+".name")), Language: pp.Language, UserID: pp.UserID})
	}
	for i, r := range s.Reviews {
		rd := interviewReviewDoc{Decision: string(r.Decision), Comment: x.seal(r.Comment, aad("reviews."+strconv.Itoa(i)+".comment")),
			ByUserID: r.ByUserID, At: r.At, ItemComments: make([]interviewItemCommentDoc, 0, len(r.ItemComments))}
		for j, ic := range r.ItemComments {
			rd.ItemComments = append(rd.ItemComments, interviewItemCommentDoc{StepID: ic.StepID, ItemID: ic.ItemID,
				Comment: x.seal(ic.Comment, aad("reviews."+strconv.Itoa(i)+".item_comments."+strconv.Itoa(j)+".comment"))})
		}
		d.Reviews = append(d.Reviews, rd)
	}
	for _, a := range s.Addenda {
		d.Addenda = append(d.Addenda, interviewAddendumDoc{ID: a.ID, Text: x.seal(a.Text, aad("addenda."+a.ID+".text")),
			ByUserID: a.ByUserID, RecordedAt: a.RecordedAt, ReceivedAt: a.ReceivedAt})
	}
	if q := s.Quality; q != nil {
		m := q.Measures
		qd := &interviewQualityDoc{Prompts: m.Prompts, ByType: map[string]int{}, OpenPrompts: m.OpenPrompts, OpenShare: m.OpenShare,
			Breaks: m.Breaks, WellbeingChecks: m.WellbeingChecks, DurationMinutes: m.DurationMinutes, MinutesWithoutBreak: m.MinutesWithoutBreak,
			PhasesNotDone: m.PhasesNotDone, InterviewNumber: m.InterviewNumber, InterpreterNeeded: m.InterpreterNeeded,
			InterpreterPresent: m.InterpreterPresent, ChecklistItems: m.ChecklistItems, ChecklistItemsDone: m.ChecklistItemsDone,
			ChecklistItemsNotDone: m.ChecklistItemsNotDone, Flags: make([]interviewFlagDoc, 0, len(q.Flags))}
		for t, n := range m.ByType {
			qd.ByType[string(t)] = n
		}
		for _, f := range q.Flags {
			qd.Flags = append(qd.Flags, interviewFlagDoc{Code: f.Code, Severity: string(f.Severity), Measure: f.Measure,
				Value: f.Value, Threshold: f.Threshold, PhaseID: f.PhaseID})
		}
		d.Quality = qd
	}
	if f := s.SharedFrom; f != nil {
		d.SharedFrom = &interviewSharedFromDoc{ReferralID: f.ReferralID, OrgID: f.OrgID, SessionID: f.SessionID}
	}
	return d, x.err
}

func fromInterviewSessionDoc(keys keyScope, d interviewSessionDoc) (interview.Session, error) {
	x := keys.opening(d.CaseID)
	aad := func(field string) string { return interviewAAD(d.ID, field) }
	s := interview.Session{ID: d.ID, OrgID: d.OrgID, CaseID: d.CaseID, ProtocolID: d.ProtocolID, ProtocolVersion: d.ProtocolVersion,
		InterviewerID: d.InterviewerID, Status: interview.Status(d.Status), StartedAt: identityUTCPtr(d.StartedAt), EndedAt: identityUTCPtr(d.EndedAt),
		SubmittedAt: identityUTCPtr(d.SubmittedAt), ApprovedAt: identityUTCPtr(d.ApprovedAt), ApprovedBy: d.ApprovedBy,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Version: d.Version,
		Situation: protocol.Situation{AgeBand: protocol.AgeBand(d.Situation.AgeBand), CaseTypes: typedOf[protocol.CaseType](d.Situation.CaseTypes),
			Needs: typedOf[protocol.Need](d.Situation.Needs)},
		Reviews: make([]interview.Review, 0, len(d.Reviews)), Addenda: make([]interview.Addendum, 0, len(d.Addenda)),
	}
	p := d.Plan
	s.Plan = interview.Plan{ScheduledAt: identityUTCPtr(p.ScheduledAt), Place: x.open(p.Place, aad("plan.place")), ChildFriendlyRoom: p.ChildFriendlyRoom,
		Recording: interview.Recording{Recorded: p.Recording.Recorded, Device: x.open(p.Recording.Device, aad("plan.recording.device")),
			FileName: x.open(p.Recording.FileName, aad("plan.recording.file_name")), SHA256: p.Recording.SHA256},
		Consent: interview.Consent{ChildInformed: p.Consent.ChildInformed, CaregiverInformed: p.Consent.CaregiverInformed,
			ConsentObtained: p.Consent.ConsentObtained, Notes: x.open(p.Consent.Notes, aad("plan.consent.notes"))}}
	for i, pp := range p.Participants {
		s.Plan.Participants = append(s.Plan.Participants, interview.Participant{Role: interview.ParticipantRole(pp.Role),
			Name: x.open(pp.Name, aad("plan.participants."+strconv.Itoa(i)+".name")), Language: pp.Language, UserID: pp.UserID})
	}
	for i, r := range d.Reviews {
		rv := interview.Review{Decision: interview.Decision(r.Decision), Comment: x.open(r.Comment, aad("reviews."+strconv.Itoa(i)+".comment")),
			ByUserID: r.ByUserID, At: r.At.UTC(), ItemComments: make([]interview.ItemComment, 0, len(r.ItemComments))}
		for j, ic := range r.ItemComments {
			rv.ItemComments = append(rv.ItemComments, interview.ItemComment{StepID: ic.StepID, ItemID: ic.ItemID,
				Comment: x.open(ic.Comment, aad("reviews."+strconv.Itoa(i)+".item_comments."+strconv.Itoa(j)+".comment"))})
		}
		s.Reviews = append(s.Reviews, rv)
	}
	for _, a := range d.Addenda {
		s.Addenda = append(s.Addenda, interview.Addendum{ID: a.ID, Text: x.open(a.Text, aad("addenda."+a.ID+".text")),
			ByUserID: a.ByUserID, RecordedAt: a.RecordedAt.UTC(), ReceivedAt: a.ReceivedAt.UTC()})
	}
	if qd := d.Quality; qd != nil {
		q := &interview.Quality{Measures: interview.Measures{Prompts: qd.Prompts, ByType: map[interview.PromptType]int{}, OpenPrompts: qd.OpenPrompts,
			OpenShare: qd.OpenShare, Breaks: qd.Breaks, WellbeingChecks: qd.WellbeingChecks, DurationMinutes: qd.DurationMinutes,
			MinutesWithoutBreak: qd.MinutesWithoutBreak, PhasesNotDone: qd.PhasesNotDone, InterviewNumber: qd.InterviewNumber,
			InterpreterNeeded: qd.InterpreterNeeded, InterpreterPresent: qd.InterpreterPresent, ChecklistItems: qd.ChecklistItems,
			ChecklistItemsDone: qd.ChecklistItemsDone, ChecklistItemsNotDone: qd.ChecklistItemsNotDone}, Flags: []interview.Flag{}}
		if q.Measures.PhasesNotDone == nil {
			q.Measures.PhasesNotDone = []string{}
		}
		for t, n := range qd.ByType {
			q.Measures.ByType[interview.PromptType(t)] = n
		}
		for _, f := range qd.Flags {
			q.Flags = append(q.Flags, interview.Flag{Code: f.Code, Severity: interview.Severity(f.Severity), Measure: f.Measure,
				Value: f.Value, Threshold: f.Threshold, PhaseID: f.PhaseID})
		}
		s.Quality = q
	}
	if f := d.SharedFrom; f != nil {
		s.SharedFrom = &interview.SharedFrom{ReferralID: f.ReferralID, OrgID: f.OrgID, SessionID: f.SessionID}
	}
	if x.err != nil {
		return interview.Session{}, fmt.Errorf("reading interview %s: %w", d.ID, x.err)
	}
	return s, nil
}

func toInterviewEntryDocs(keys keyScope, caseID, id string, e interview.Entries) (interviewLogDoc, error) {
	x := keys.sealing(caseID)
	var d interviewLogDoc
	for _, p := range e.Prompts {
		d.Prompts = append(d.Prompts, interviewPromptDoc{ClientID: p.ClientID, Type: string(p.Type),
			Words: x.seal(p.Words, interviewLogAAD(id, "prompts", p.ClientID, "words")), PhaseID: p.PhaseID,
			RecordedAt: p.RecordedAt, ReceivedAt: p.ReceivedAt, ByUserID: p.ByUserID})
	}
	for _, b := range e.Breaks {
		d.Breaks = append(d.Breaks, interviewBreakDoc{ClientID: b.ClientID, StartedAt: b.StartedAt, EndedAt: b.EndedAt,
			Note: x.seal(b.Note, interviewLogAAD(id, "breaks", b.ClientID, "note")), ReceivedAt: b.ReceivedAt, ByUserID: b.ByUserID})
	}
	for _, c := range e.Checks {
		d.Checks = append(d.Checks, interviewCheckDoc{ClientID: c.ClientID, CheckedAt: c.CheckedAt,
			Note: x.seal(c.Note, interviewLogAAD(id, "wellbeing_checks", c.ClientID, "note")), ReceivedAt: c.ReceivedAt, ByUserID: c.ByUserID})
	}
	for _, m := range e.Marks {
		d.Marks = append(d.Marks, interviewMarkDoc{ClientID: m.ClientID, StepID: m.StepID, ItemID: m.ItemID, Done: m.Done,
			Reason: x.seal(m.Reason, interviewLogAAD(id, "checklist", m.ClientID, "reason")), RecordedAt: m.RecordedAt,
			ReceivedAt: m.ReceivedAt, ByUserID: m.ByUserID})
	}
	return d, x.err
}

func fromInterviewLogDoc(keys keyScope, d interviewLogDoc) (interview.Log, error) {
	x := keys.opening(d.CaseID)
	l := interview.Log{SessionID: d.ID, Open: d.Open, ClosedAt: d.ClosedAt.UTC()}
	for _, p := range d.Prompts {
		l.Prompts = append(l.Prompts, interview.Prompt{ClientID: p.ClientID, Type: interview.PromptType(p.Type),
			Words: x.open(p.Words, interviewLogAAD(d.ID, "prompts", p.ClientID, "words")), PhaseID: p.PhaseID,
			RecordedAt: p.RecordedAt.UTC(), ReceivedAt: p.ReceivedAt.UTC(), ByUserID: p.ByUserID})
	}
	for _, b := range d.Breaks {
		l.Breaks = append(l.Breaks, interview.Break{ClientID: b.ClientID, StartedAt: b.StartedAt.UTC(), EndedAt: b.EndedAt.UTC(),
			Note: x.open(b.Note, interviewLogAAD(d.ID, "breaks", b.ClientID, "note")), ReceivedAt: b.ReceivedAt.UTC(), ByUserID: b.ByUserID})
	}
	for _, c := range d.Checks {
		l.Checks = append(l.Checks, interview.WellbeingCheck{ClientID: c.ClientID, CheckedAt: c.CheckedAt.UTC(),
			Note: x.open(c.Note, interviewLogAAD(d.ID, "wellbeing_checks", c.ClientID, "note")), ReceivedAt: c.ReceivedAt.UTC(), ByUserID: c.ByUserID})
	}
	for _, m := range d.Marks {
		l.Marks = append(l.Marks, interview.Mark{ClientID: m.ClientID, StepID: m.StepID, ItemID: m.ItemID, Done: m.Done,
			Reason: x.open(m.Reason, interviewLogAAD(d.ID, "checklist", m.ClientID, "reason")), RecordedAt: m.RecordedAt.UTC(),
			ReceivedAt: m.ReceivedAt.UTC(), ByUserID: m.ByUserID})
	}
	if x.err != nil {
		return interview.Log{}, fmt.Errorf("reading the log of interview %s: %w", d.ID, x.err)
	}
	return l, nil
}

func stringsOf[T ~string](values []T) []string {
	if values == nil {
		return nil
	}
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

func typedOf[T ~string](values []string) []T {
	if values == nil {
		return nil
	}
	out := make([]T, len(values))
	for i, v := range values {
		out[i] = T(v)
	}
	return out
}
