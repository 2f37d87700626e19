package httpapi

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// Response views of interview sessions: the named conversions from the interview package's types.

type participantView struct {
	Role     string `json:"role"`
	Name     string `json:"name"`
	Language string `json:"language"`
	UserID   string `json:"user_id"`
}

type recordingView struct {
	Recorded bool   `json:"recorded"`
	Device   string `json:"device"`
	FileName string `json:"file_name"`
	SHA256   string `json:"sha256"`
}

type consentView struct {
	ChildInformed     bool   `json:"child_informed"`
	CaregiverInformed bool   `json:"caregiver_informed"`
	ConsentObtained   bool   `json:"consent_obtained"`
	Notes             string `json:"notes"`
}

type planView struct {
	ScheduledAt       *time.Time        `json:"scheduled_at"`
	Place             string            `json:"place"`
	ChildFriendlyRoom bool              `json:"child_friendly_room"`
	Participants      []participantView `json:"participants"`
	Recording         recordingView     `json:"recording"`
	Consent           consentView       `json:"consent"`
}

type markView struct {
	ClientID   string    `json:"client_id"`
	StepID     string    `json:"step_id"`
	ItemID     string    `json:"item_id"`
	Done       bool      `json:"done"`
	Reason     string    `json:"reason"`
	RecordedAt time.Time `json:"recorded_at"`
	ReceivedAt time.Time `json:"received_at"`
	ByUserID   string    `json:"by_user_id"`
}

type checklistItemView struct {
	ID     string    `json:"id"`
	Text   string    `json:"text"`
	Latest *markView `json:"latest"`
}

type checklistStepView struct {
	PhaseID    string              `json:"phase_id"`
	PhaseTitle string              `json:"phase_title"`
	StepID     string              `json:"step_id"`
	Title      string              `json:"title"`
	Required   bool                `json:"required"`
	Phrasings  []string            `json:"phrasings"`
	Items      []checklistItemView `json:"items"`
}

type promptView struct {
	ClientID   string    `json:"client_id"`
	Type       string    `json:"type"`
	Words      string    `json:"words"`
	PhaseID    string    `json:"phase_id"`
	RecordedAt time.Time `json:"recorded_at"`
	ReceivedAt time.Time `json:"received_at"`
	ByUserID   string    `json:"by_user_id"`
}

type breakView struct {
	ClientID   string    `json:"client_id"`
	StartedAt  time.Time `json:"started_at"`
	EndedAt    time.Time `json:"ended_at"`
	Note       string    `json:"note"`
	ReceivedAt time.Time `json:"received_at"`
	ByUserID   string    `json:"by_user_id"`
}

type wellbeingCheckView struct {
	ClientID   string    `json:"client_id"`
	CheckedAt  time.Time `json:"checked_at"`
	Note       string    `json:"note"`
	ReceivedAt time.Time `json:"received_at"`
	ByUserID   string    `json:"by_user_id"`
}

type promptCountsView struct {
	Invitation     int `json:"invitation"`
	CuedInvitation int `json:"cued_invitation"`
	Directive      int `json:"directive"`
	OptionPosing   int `json:"option_posing"`
	Suggestive     int `json:"suggestive"`
}

type measuresView struct {
	Prompts               int              `json:"prompts"`
	ByType                promptCountsView `json:"by_type"`
	OpenPrompts           int              `json:"open_prompts"`
	OpenShare             *float64         `json:"open_share"`
	Breaks                int              `json:"breaks"`
	WellbeingChecks       int              `json:"wellbeing_checks"`
	DurationMinutes       *float64         `json:"duration_minutes"`
	MinutesWithoutBreak   *float64         `json:"minutes_without_break"`
	PhasesNotDone         []string         `json:"phases_not_done"`
	InterviewNumber       int              `json:"interview_number"`
	InterpreterNeeded     bool             `json:"interpreter_needed"`
	InterpreterPresent    bool             `json:"interpreter_present"`
	ChecklistItems        int              `json:"checklist_items"`
	ChecklistItemsDone    int              `json:"checklist_items_done"`
	ChecklistItemsNotDone int              `json:"checklist_items_not_done"`
}

type flagView struct {
	Code      string  `json:"code"`
	Severity  string  `json:"severity"`
	Message   string  `json:"message"`
	Measure   string  `json:"measure"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	PhaseID   *string `json:"phase_id"`
}

type qualityView struct {
	Measures measuresView `json:"measures"`
	Flags    []flagView   `json:"flags"`
}

type itemCommentView struct {
	StepID  string `json:"step_id"`
	ItemID  string `json:"item_id"`
	Comment string `json:"comment"`
}

type reviewView struct {
	Decision     string            `json:"decision"`
	Comment      string            `json:"comment"`
	ItemComments []itemCommentView `json:"item_comments"`
	ByUserID     string            `json:"by_user_id"`
	At           time.Time         `json:"at"`
}

type addendumView struct {
	ID         string    `json:"id"`
	Text       string    `json:"text"`
	ByUserID   string    `json:"by_user_id"`
	RecordedAt time.Time `json:"recorded_at"`
	ReceivedAt time.Time `json:"received_at"`
}

type interviewSummaryView struct {
	ID               string          `json:"id"`
	CaseID           string          `json:"case_id"`
	ProtocolID       string          `json:"protocol_id"`
	ProtocolVersion  int             `json:"protocol_version"`
	InterviewerID    string          `json:"interviewer_id"`
	Status           string          `json:"status"`
	AgeBand          string          `json:"age_band"`
	StartedAt        *time.Time      `json:"started_at"`
	EndedAt          *time.Time      `json:"ended_at"`
	SubmittedAt      *time.Time      `json:"submitted_at"`
	ApprovedAt       *time.Time      `json:"approved_at"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
	Version          int64           `json:"version"`
	SubmittedQuality *qualityView    `json:"submitted_quality"`
	SharedFrom       *sharedFromView `json:"shared_from"`
}

// sharedFromView says where a shared copy of a session comes from (null on the organisation's own).
type sharedFromView struct {
	ReferralID string `json:"referral_id"`
	OrgID      string `json:"org_id"`
	SessionID  string `json:"session_id"`
}

// toSharedFromView returns the view of f (nil for nil).
func toSharedFromView(f *interview.SharedFrom) *sharedFromView {
	if f == nil {
		return nil
	}
	return &sharedFromView{ReferralID: f.ReferralID, OrgID: f.OrgID, SessionID: f.SessionID}
}

// interviewView is an interview session as GET /v1/cases/{id}/interviews/{interview} shows it: the
// stored record, and what is computed for the reader from the pinned protocol version and the
// request's language.
type interviewView struct {
	interviewRecordView
	Locale    string              `json:"locale"`
	Dir       string              `json:"dir"`
	Checklist []checklistStepView `json:"checklist"`
	Quality   qualityView         `json:"quality"`
}

// interviewRecordView is an interview session with its log, as stored (and as a device syncs it).
type interviewRecordView struct {
	ID              string               `json:"id"`
	OrgID           string               `json:"org_id"`
	CaseID          string               `json:"case_id"`
	ProtocolID      string               `json:"protocol_id"`
	ProtocolVersion int                  `json:"protocol_version"`
	InterviewerID   string               `json:"interviewer_id"`
	Status          string               `json:"status"`
	AgeBand         string               `json:"age_band"`
	CaseTypes       []string             `json:"case_types"`
	Needs           []string             `json:"needs"`
	Plan            planView             `json:"plan"`
	StartedAt       *time.Time           `json:"started_at"`
	EndedAt         *time.Time           `json:"ended_at"`
	SubmittedAt     *time.Time           `json:"submitted_at"`
	ApprovedAt      *time.Time           `json:"approved_at"`
	ApprovedBy      string               `json:"approved_by"`
	CreatedAt       time.Time            `json:"created_at"`
	UpdatedAt       time.Time            `json:"updated_at"`
	Version         int64                `json:"version"`
	LogOpen         bool                 `json:"log_open"`
	Prompts         []promptView         `json:"prompts"`
	Breaks          []breakView          `json:"breaks"`
	WellbeingChecks []wellbeingCheckView `json:"wellbeing_checks"`
	ChecklistMarks  []markView           `json:"checklist_marks"`
	Reviews         []reviewView         `json:"reviews"`
	Addenda         []addendumView       `json:"addenda"`
	SharedFrom      *sharedFromView      `json:"shared_from"`
}

// toInterviewRecordView returns the view of a session and its log.
func toInterviewRecordView(sess interview.Session, log interview.Log) interviewRecordView {
	v := interviewRecordView{ID: sess.ID, OrgID: sess.OrgID, CaseID: sess.CaseID, ProtocolID: sess.ProtocolID, ProtocolVersion: sess.ProtocolVersion,
		InterviewerID: sess.InterviewerID, Status: string(sess.Status), AgeBand: string(sess.Situation.AgeBand),
		CaseTypes: nonNil(codes(sess.Situation.CaseTypes)), Needs: nonNil(codes(sess.Situation.Needs)), Plan: toPlanView(sess.Plan),
		StartedAt: sess.StartedAt, EndedAt: sess.EndedAt, SubmittedAt: sess.SubmittedAt, ApprovedAt: sess.ApprovedAt, ApprovedBy: sess.ApprovedBy,
		CreatedAt: sess.CreatedAt, UpdatedAt: sess.UpdatedAt, Version: sess.Version, LogOpen: log.Open && sess.Status.Editable(),
		Prompts: make([]promptView, len(log.Prompts)), Breaks: make([]breakView, len(log.Breaks)),
		WellbeingChecks: make([]wellbeingCheckView, len(log.Checks)), ChecklistMarks: make([]markView, len(log.Marks)),
		Reviews: make([]reviewView, len(sess.Reviews)), Addenda: make([]addendumView, len(sess.Addenda)), SharedFrom: toSharedFromView(sess.SharedFrom)}
	for i, p := range log.Prompts {
		v.Prompts[i] = promptView{ClientID: p.ClientID, Type: string(p.Type), Words: p.Words, PhaseID: p.PhaseID,
			RecordedAt: p.RecordedAt, ReceivedAt: p.ReceivedAt, ByUserID: p.ByUserID}
	}
	for i, b := range log.Breaks {
		v.Breaks[i] = breakView{ClientID: b.ClientID, StartedAt: b.StartedAt, EndedAt: b.EndedAt, Note: b.Note, ReceivedAt: b.ReceivedAt, ByUserID: b.ByUserID}
	}
	for i, c := range log.Checks {
		v.WellbeingChecks[i] = wellbeingCheckView{ClientID: c.ClientID, CheckedAt: c.CheckedAt, Note: c.Note, ReceivedAt: c.ReceivedAt, ByUserID: c.ByUserID}
	}
	for i, m := range log.Marks {
		v.ChecklistMarks[i] = toMarkView(m)
	}
	for i, r := range sess.Reviews {
		rv := reviewView{Decision: string(r.Decision), Comment: r.Comment, ByUserID: r.ByUserID, At: r.At, ItemComments: make([]itemCommentView, len(r.ItemComments))}
		for j, ic := range r.ItemComments {
			rv.ItemComments[j] = itemCommentView(ic)
		}
		v.Reviews[i] = rv
	}
	for i, a := range sess.Addenda {
		v.Addenda[i] = addendumView{ID: a.ID, Text: a.Text, ByUserID: a.ByUserID, RecordedAt: a.RecordedAt, ReceivedAt: a.ReceivedAt}
	}
	return v
}

func toMarkView(m interview.Mark) markView {
	return markView{ClientID: m.ClientID, StepID: m.StepID, ItemID: m.ItemID, Done: m.Done, Reason: m.Reason,
		RecordedAt: m.RecordedAt, ReceivedAt: m.ReceivedAt, ByUserID: m.ByUserID}
}

func toPlanView(p interview.Plan) planView {
	v := planView{ScheduledAt: p.ScheduledAt, Place: p.Place, ChildFriendlyRoom: p.ChildFriendlyRoom,
		Participants: make([]participantView, len(p.Participants)), Recording: recordingView(p.Recording), Consent: consentView(p.Consent)}
	for i, pp := range p.Participants {
		v.Participants[i] = participantView{Role: string(pp.Role), Name: pp.Name, Language: pp.Language, UserID: pp.UserID}
	}
	return v
}

// toQualityView localizes the flags' messages; phaseTitle names a phase in the response's locale.
func (s *Server) toQualityView(q interview.Quality, locale string, phaseTitle func(string) string) qualityView {
	m := q.Measures
	v := qualityView{Measures: measuresView{Prompts: m.Prompts, OpenPrompts: m.OpenPrompts, OpenShare: roundPtr(m.OpenShare, 4),
		Breaks: m.Breaks, WellbeingChecks: m.WellbeingChecks, DurationMinutes: roundPtr(m.DurationMinutes, 1),
		MinutesWithoutBreak: roundPtr(m.MinutesWithoutBreak, 1), PhasesNotDone: nonNil(m.PhasesNotDone), InterviewNumber: m.InterviewNumber,
		InterpreterNeeded: m.InterpreterNeeded, InterpreterPresent: m.InterpreterPresent, ChecklistItems: m.ChecklistItems,
		ChecklistItemsDone: m.ChecklistItemsDone, ChecklistItemsNotDone: m.ChecklistItemsNotDone,
		ByType: promptCountsView{Invitation: m.ByType[interview.PromptInvitation], CuedInvitation: m.ByType[interview.PromptCuedInvitation],
			Directive: m.ByType[interview.PromptDirective], OptionPosing: m.ByType[interview.PromptOptionPosing], Suggestive: m.ByType[interview.PromptSuggestive]}},
		Flags: make([]flagView, len(q.Flags))}
	for i, f := range q.Flags {
		value, threshold := f.Value, f.Threshold
		if strings.HasSuffix(f.Measure, "_share") { // shown as percentages
			value, threshold = value*100, threshold*100
		}
		data := map[string]any{"Value": math.Round(value), "Threshold": math.Round(threshold), "Phase": ""}
		fv := flagView{Code: f.Code, Severity: string(f.Severity), Measure: f.Measure, Value: round(f.Value, 4), Threshold: round(f.Threshold, 4)}
		if f.PhaseID != "" {
			phase := f.PhaseID
			fv.PhaseID = &phase
			data["Phase"] = phaseTitle(phase)
		}
		msgID := "interview.flag." + f.Code
		fv.Message = s.deps.Catalog.Message(locale, msgID, data)
		if fv.Message == msgID { // a configured rule without a message of its own
			fv.Message = s.deps.Catalog.Message(locale, "interview.flag.other", map[string]any{"Code": f.Code})
		}
		v.Flags[i] = fv
	}
	return v
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func roundPtr(v *float64, digits int) *float64 {
	if v == nil {
		return nil
	}
	r := round(*v, digits)
	return &r
}

// phaseTitles returns a function naming the phases of v in locale.
func phaseTitles(v protocol.Version, locale string) func(string) string {
	p, _ := v.Document.Localize(locale)
	titles := map[string]string{}
	for _, ph := range p.Phases {
		titles[ph.ID] = ph.Title
	}
	return func(id string) string {
		if t, ok := titles[id]; ok {
			return t
		}
		return id
	}
}

func (s *Server) toInterviewSummary(ctx context.Context, x interview.Session, locale string) interviewSummaryView {
	v := interviewSummaryView{ID: x.ID, CaseID: x.CaseID, ProtocolID: x.ProtocolID, ProtocolVersion: x.ProtocolVersion,
		InterviewerID: x.InterviewerID, Status: string(x.Status), AgeBand: string(x.Situation.AgeBand), StartedAt: x.StartedAt,
		EndedAt: x.EndedAt, SubmittedAt: x.SubmittedAt, ApprovedAt: x.ApprovedAt, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt, Version: x.Version,
		SharedFrom: toSharedFromView(x.SharedFrom)}
	if x.Quality != nil {
		titles := func(id string) string { return id }
		if pv, err := s.deps.Protocols.Version(ctx, x.ProtocolID, x.ProtocolVersion); err == nil {
			titles = phaseTitles(pv, locale)
		}
		q := s.toQualityView(*x.Quality, locale, titles)
		v.SubmittedQuality = &q
	}
	return v
}

func (s *Server) toInterviewView(x interview.View, locale string) interviewView {
	sess := x.Session
	loc, _ := s.deps.Catalog.Locale(locale)
	v := interviewView{interviewRecordView: toInterviewRecordView(sess, x.Log), Locale: locale, Dir: loc.Dir,
		Checklist: make([]checklistStepView, 0, len(x.Checklist))}
	if v.Dir == "" {
		v.Dir = "ltr"
	}
	localized, _ := x.Protocol.Document.Localize(locale)
	phaseTitle := map[string]string{}
	steps := map[string]protocol.Step{}
	for _, ph := range localized.Phases {
		phaseTitle[ph.ID] = ph.Title
		for _, st := range ph.Steps {
			steps[st.ID] = st
		}
	}
	for _, cs := range x.Checklist {
		st := steps[cs.Step.ID]
		texts := map[string]string{}
		for _, it := range st.Checklist {
			texts[it.ID] = it.Text
		}
		sv := checklistStepView{PhaseID: cs.PhaseID, PhaseTitle: phaseTitle[cs.PhaseID], StepID: cs.Step.ID, Title: st.Title,
			Required: cs.Step.Required, Phrasings: nonNil(st.Phrasings[sess.Situation.AgeBand]), Items: make([]checklistItemView, len(cs.Items))}
		for i, it := range cs.Items {
			iv := checklistItemView{ID: it.Item.ID, Text: texts[it.Item.ID]}
			if it.Latest != nil {
				m := toMarkView(*it.Latest)
				iv.Latest = &m
			}
			sv.Items[i] = iv
		}
		v.Checklist = append(v.Checklist, sv)
	}
	v.Quality = s.toQualityView(x.Quality, locale, func(id string) string {
		if t, ok := phaseTitle[id]; ok {
			return t
		}
		return id
	})
	return v
}

type figuresView struct {
	Sessions    int            `json:"sessions"`
	Prompts     int            `json:"prompts"`
	OpenPrompts int            `json:"open_prompts"`
	OpenShare   *float64       `json:"open_share"`
	Flags       map[string]int `json:"flags"`
}

type monthFiguresView struct {
	Month        string      `json:"month"`
	Interviewer  figuresView `json:"interviewer"`
	Organisation figuresView `json:"organisation"`
}

type coachingView struct {
	InterviewerID string             `json:"interviewer_id"`
	From          string             `json:"from"`
	To            string             `json:"to"`
	Months        []monthFiguresView `json:"months"`
	Total         monthFiguresView   `json:"total"`
}

func toFiguresView(f interview.Figures) figuresView {
	flags := map[string]int{}
	for k, n := range f.Flags {
		flags[k] = n
	}
	return figuresView{Sessions: f.Sessions, Prompts: f.Prompts, OpenPrompts: f.OpenPrompts, OpenShare: roundPtr(f.OpenShare, 4), Flags: flags}
}

func toMonthFiguresView(m interview.MonthFigures) monthFiguresView {
	return monthFiguresView{Month: m.Month, Interviewer: toFiguresView(m.Interviewer), Organisation: toFiguresView(m.Organisation)}
}

func toCoachingView(r interview.Report) coachingView {
	v := coachingView{InterviewerID: r.InterviewerID, From: r.From, To: r.To, Months: make([]monthFiguresView, len(r.Months)),
		Total: toMonthFiguresView(r.Total)}
	v.Total.Month = "total"
	for i, m := range r.Months {
		v.Months[i] = toMonthFiguresView(m)
	}
	return v
}
