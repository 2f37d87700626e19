package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// interviewRoutes registers the interview session routes: sessions on a case (caseworkers and
// supervisors; the services decide who may change what), the review queue (supervisors) and the
// coaching report (caseworkers for themselves, supervisors for anyone of their organisation).
func (s *Server) interviewRoutes(app *fiber.App) {
	if s.deps.Interviews == nil {
		return
	}
	caseRoles := rolesOnly(identity.RoleCaseworker, identity.RoleSupervisor)
	get, post := fiber.MethodGet, fiber.MethodPost
	s.handle(app, post, "/v1/cases/:id/interviews", caseRoles, s.createInterview)
	s.handle(app, get, "/v1/cases/:id/interviews", caseRoles, s.listInterviews)
	s.handle(app, get, "/v1/cases/:id/interviews/:interview", caseRoles, s.getInterview)
	s.handle(app, fiber.MethodPatch, "/v1/cases/:id/interviews/:interview", caseRoles, s.updateInterview)
	s.handle(app, post, "/v1/cases/:id/interviews/:interview/log", caseRoles, s.appendInterviewLog)
	s.handle(app, post, "/v1/cases/:id/interviews/:interview/submit", caseRoles, s.submitInterview)
	s.handle(app, post, "/v1/cases/:id/interviews/:interview/review", rolesOnly(identity.RoleSupervisor), s.reviewInterview)
	s.handle(app, post, "/v1/cases/:id/interviews/:interview/addenda", caseRoles, s.addInterviewAddendum)
	s.handle(app, get, "/v1/interviews/review-queue", rolesOnly(identity.RoleSupervisor), s.interviewReviewQueue)
	s.handle(app, get, "/v1/interviews/coaching", caseRoles, s.interviewCoaching)
}

type participantBody struct {
	Role     string `json:"role" validate:"required,oneof=interviewer observer support_person interpreter intermediary"`
	Name     string `json:"name" validate:"max_interview_name"`
	Language string `json:"language" validate:"max_language"`
	UserID   string `json:"user_id" validate:"max_interview_id"`
}

type recordingBody struct {
	Recorded bool   `json:"recorded"`
	Device   string `json:"device" validate:"max_interview_name"`
	FileName string `json:"file_name" validate:"max_interview_name"`
	SHA256   string `json:"sha256" validate:"max=64"`
}

type consentBody struct {
	ChildInformed     bool   `json:"child_informed"`
	CaregiverInformed bool   `json:"caregiver_informed"`
	ConsentObtained   bool   `json:"consent_obtained"`
	Notes             string `json:"notes" validate:"max_interview_note"`
}

type planBody struct {
	ScheduledAt       *time.Time        `json:"scheduled_at"`
	Place             string            `json:"place" validate:"max_interview_place"`
	ChildFriendlyRoom bool              `json:"child_friendly_room"`
	Participants      []participantBody `json:"participants" validate:"max_interview_participants,dive"`
	Recording         recordingBody     `json:"recording"`
	Consent           consentBody       `json:"consent"`
}

type newInterviewRequest struct {
	ID         string   `json:"id" validate:"required,uuid"`
	ProtocolID string   `json:"protocol_id" validate:"max_interview_id"`
	Plan       planBody `json:"plan"`
}

type updateInterviewRequest struct {
	Version   int64      `json:"version" validate:"required,min=1"`
	Plan      *planBody  `json:"plan"`
	StartedAt *time.Time `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
}

type promptBody struct {
	ClientID   string    `json:"client_id" validate:"required,max_interview_client_id"`
	Type       string    `json:"type" validate:"required,oneof=invitation cued_invitation directive option_posing suggestive"`
	Words      string    `json:"words" validate:"max_interview_words"`
	PhaseID    string    `json:"phase_id" validate:"max_interview_id"`
	RecordedAt time.Time `json:"recorded_at" validate:"required"`
}

type breakBody struct {
	ClientID  string    `json:"client_id" validate:"required,max_interview_client_id"`
	StartedAt time.Time `json:"started_at" validate:"required"`
	EndedAt   time.Time `json:"ended_at" validate:"required"`
	Note      string    `json:"note" validate:"max_interview_note"`
}

type wellbeingCheckBody struct {
	ClientID  string    `json:"client_id" validate:"required,max_interview_client_id"`
	CheckedAt time.Time `json:"checked_at" validate:"required"`
	Note      string    `json:"note" validate:"max_interview_note"`
}

type markBody struct {
	ClientID   string    `json:"client_id" validate:"required,max_interview_client_id"`
	StepID     string    `json:"step_id" validate:"required,max_interview_id"`
	ItemID     string    `json:"item_id" validate:"required,max_interview_id"`
	Done       *bool     `json:"done" validate:"required"`
	Reason     string    `json:"reason" validate:"max_interview_note"`
	RecordedAt time.Time `json:"recorded_at" validate:"required"`
}

type interviewLogRequest struct {
	Prompts         []promptBody         `json:"prompts" validate:"max_interview_batch,dive"`
	Breaks          []breakBody          `json:"breaks" validate:"max_interview_batch,dive"`
	WellbeingChecks []wellbeingCheckBody `json:"wellbeing_checks" validate:"max_interview_batch,dive"`
	Checklist       []markBody           `json:"checklist" validate:"max_interview_batch,dive"`
}

type versionRequest struct {
	Version int64 `json:"version" validate:"required,min=1"`
}

type itemCommentBody struct {
	StepID  string `json:"step_id" validate:"required,max_interview_id"`
	ItemID  string `json:"item_id" validate:"max_interview_id"`
	Comment string `json:"comment" validate:"required,max_interview_comment"`
}

type interviewReviewRequest struct {
	Version      int64             `json:"version" validate:"required,min=1"`
	Decision     string            `json:"decision" validate:"required,oneof=approve return"`
	Comment      string            `json:"comment" validate:"max_interview_comment"`
	ItemComments []itemCommentBody `json:"item_comments" validate:"max_interview_item_comments,dive"`
}

type addendumRequest struct {
	ID         string    `json:"id" validate:"required,uuid"`
	Text       string    `json:"text" validate:"required,max_interview_comment"`
	RecordedAt time.Time `json:"recorded_at" validate:"required"`
}

func toPlan(b planBody) interview.Plan {
	p := interview.Plan{ScheduledAt: b.ScheduledAt, Place: b.Place, ChildFriendlyRoom: b.ChildFriendlyRoom,
		Recording: interview.Recording(b.Recording), Consent: interview.Consent(b.Consent)}
	for _, pp := range b.Participants {
		p.Participants = append(p.Participants, interview.Participant{Role: interview.ParticipantRole(pp.Role), Name: pp.Name,
			Language: pp.Language, UserID: pp.UserID})
	}
	return p
}

func toEntries(r interviewLogRequest) interview.Entries {
	var e interview.Entries
	for _, p := range r.Prompts {
		e.Prompts = append(e.Prompts, interview.Prompt{ClientID: p.ClientID, Type: interview.PromptType(p.Type), Words: p.Words,
			PhaseID: p.PhaseID, RecordedAt: p.RecordedAt})
	}
	for _, b := range r.Breaks {
		e.Breaks = append(e.Breaks, interview.Break{ClientID: b.ClientID, StartedAt: b.StartedAt, EndedAt: b.EndedAt, Note: b.Note})
	}
	for _, c := range r.WellbeingChecks {
		e.Checks = append(e.Checks, interview.WellbeingCheck{ClientID: c.ClientID, CheckedAt: c.CheckedAt, Note: c.Note})
	}
	for _, m := range r.Checklist {
		e.Marks = append(e.Marks, interview.Mark{ClientID: m.ClientID, StepID: m.StepID, ItemID: m.ItemID, Done: *m.Done,
			Reason: m.Reason, RecordedAt: m.RecordedAt})
	}
	return e
}

// createInterview answers POST /v1/cases/{id}/interviews: 201 with the session, or 200 with the
// stored one when the same create is repeated.
func (s *Server) createInterview(c *fiber.Ctx) error {
	var req newInterviewRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	v, created, err := s.deps.Interviews.Create(c.UserContext(), principal(c), c.Params("id"),
		interview.NewSession{ID: req.ID, ProtocolID: req.ProtocolID, Plan: toPlan(req.Plan)})
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return s.sendPrivate(c, s.toInterviewView(v, s.locale(c).Code))
}

type interviewList struct {
	Items []interviewSummaryView `json:"items"`
}

// listInterviews answers GET /v1/cases/{id}/interviews: the case's sessions by creation time.
func (s *Server) listInterviews(c *fiber.Ctx) error {
	list, err := s.deps.Interviews.List(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	loc := s.locale(c).Code
	out := interviewList{Items: make([]interviewSummaryView, len(list))}
	for i, x := range list {
		out.Items[i] = s.toInterviewSummary(c.UserContext(), x, loc)
	}
	return s.sendPrivate(c, out)
}

// getInterview answers GET /v1/cases/{id}/interviews/{interview}.
func (s *Server) getInterview(c *fiber.Ctx) error {
	v, err := s.deps.Interviews.Get(c.UserContext(), principal(c), c.Params("id"), c.Params("interview"))
	if err != nil {
		return err
	}
	return s.sendPrivate(c, s.toInterviewView(v, s.locale(c).Code))
}

// updateInterview answers PATCH /v1/cases/{id}/interviews/{interview}: the plan and times, at a version.
func (s *Server) updateInterview(c *fiber.Ctx) error {
	var req updateInterviewRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	upd := interview.SessionUpdate{StartedAt: req.StartedAt, EndedAt: req.EndedAt}
	if req.Plan != nil {
		plan := toPlan(*req.Plan)
		upd.Plan = &plan
	}
	v, err := s.deps.Interviews.Update(c.UserContext(), principal(c), c.Params("id"), c.Params("interview"), upd, req.Version)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, s.toInterviewView(v, s.locale(c).Code))
}

// appendInterviewLog answers POST /v1/cases/{id}/interviews/{interview}/log: a batch of prompts,
// breaks, wellbeing checks and checklist marks, idempotent by client_id.
func (s *Server) appendInterviewLog(c *fiber.Ctx) error {
	var req interviewLogRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	v, err := s.deps.Interviews.AppendLog(c.UserContext(), principal(c), c.Params("id"), c.Params("interview"), toEntries(req))
	if err != nil {
		return err
	}
	return s.sendPrivate(c, s.toInterviewView(v, s.locale(c).Code))
}

// submitInterview answers POST /v1/cases/{id}/interviews/{interview}/submit.
func (s *Server) submitInterview(c *fiber.Ctx) error {
	var req versionRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	v, err := s.deps.Interviews.Submit(c.UserContext(), principal(c), c.Params("id"), c.Params("interview"), req.Version)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, s.toInterviewView(v, s.locale(c).Code))
}

// reviewInterview answers POST /v1/cases/{id}/interviews/{interview}/review: approve or return.
func (s *Server) reviewInterview(c *fiber.Ctx) error {
	var req interviewReviewRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	in := interview.ReviewInput{Decision: interview.Decision(req.Decision), Comment: req.Comment}
	for _, ic := range req.ItemComments {
		in.ItemComments = append(in.ItemComments, interview.ItemComment(ic))
	}
	v, err := s.deps.Interviews.Review(c.UserContext(), principal(c), c.Params("id"), c.Params("interview"), in, req.Version)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, s.toInterviewView(v, s.locale(c).Code))
}

// addInterviewAddendum answers POST /v1/cases/{id}/interviews/{interview}/addenda.
func (s *Server) addInterviewAddendum(c *fiber.Ctx) error {
	var req addendumRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	v, err := s.deps.Interviews.AddAddendum(c.UserContext(), principal(c), c.Params("id"), c.Params("interview"),
		interview.NewAddendum{ID: req.ID, Text: req.Text, RecordedAt: req.RecordedAt})
	if err != nil {
		return err
	}
	return s.sendPrivate(c, s.toInterviewView(v, s.locale(c).Code))
}

type reviewQueueView struct {
	Items      []interviewSummaryView `json:"items"`
	NextCursor *string                `json:"next_cursor"`
}

// interviewReviewQueue answers GET /v1/interviews/review-queue: sessions waiting for review, oldest
// submission first, with their flags.
func (s *Server) interviewReviewQueue(c *fiber.Ctx) error {
	q := readQuery(c, "limit", "cursor")
	qq := pageQuery{Limit: q.integer("limit", defaultPageSize)}
	after := q.cursor()
	if err := q.done(s.validate, &qq); err != nil {
		return err
	}
	page, err := s.deps.Interviews.ReviewQueue(c.UserContext(), principal(c), after, qq.Limit)
	if err != nil {
		return err
	}
	loc := s.locale(c).Code
	out := reviewQueueView{Items: make([]interviewSummaryView, len(page.Sessions))}
	for i, x := range page.Sessions {
		out.Items[i] = s.toInterviewSummary(c.UserContext(), x, loc)
	}
	out.NextCursor = cursorOrNil(page.Next)
	return s.sendPrivate(c, out)
}

type coachingQuery struct {
	InterviewerID string `query:"interviewer_id" validate:"omitempty,max_interview_id"`
	From          string `query:"from" validate:"omitempty,len=7"`
	To            string `query:"to" validate:"omitempty,len=7"`
}

// interviewCoaching answers GET /v1/interviews/coaching: an interviewer's open-prompt share and flag
// counts per month, with the organisation's beside them.
func (s *Server) interviewCoaching(c *fiber.Ctx) error {
	q := readQuery(c, "interviewer_id", "from", "to")
	cq := coachingQuery{InterviewerID: q.str("interviewer_id"), From: q.str("from"), To: q.str("to")}
	if err := q.done(s.validate, &cq); err != nil {
		return err
	}
	rep, err := s.deps.Interviews.Coaching(c.UserContext(), principal(c), cq.InterviewerID, cq.From, cq.To)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toCoachingView(rep))
}
