package httpapi

import (
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/checkpoint"
)

// Audit actions of the checkpoint and verification-job routes.
const (
	actionAuditCheckpoint = "audit.checkpoint"
	actionAuditVerifyJob  = "audit.verify_job"
)

// checkpointView is a signed checkpoint of a chain: Stored false when the service knows it from
// memory only (the database lost it).
type checkpointView struct {
	N        int64     `json:"n"`
	Seq      int64     `json:"seq"`
	Hash     string    `json:"hash"`
	SignedAt time.Time `json:"signed_at"`
	KeyID    string    `json:"key_id"`
	Token    string    `json:"token"`
	Stored   bool      `json:"stored"`
}

func toCheckpointView(cp checkpoint.Checkpoint, stored bool) checkpointView {
	return checkpointView{N: cp.N, Seq: cp.Seq, Hash: cp.Hash, SignedAt: cp.SignedAt, KeyID: cp.KeyID, Token: cp.Token, Stored: stored}
}

type checkpointList struct {
	Items      []checkpointView `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

// listAuditCheckpoints answers GET /v1/audit/checkpoints: the log's signed checkpoints, newest
// first, paged. Reading them is recorded.
func (s *Server) listAuditCheckpoints(c *fiber.Ctx) error {
	q := readQuery(c, "log", "limit", "cursor")
	lq := struct {
		Log   string `query:"log" validate:"omitempty,oneof=organisation deployment"`
		Limit int    `query:"limit" validate:"min=1,max=200"`
	}{Log: q.str("log"), Limit: q.integer("limit", defaultPageSize)}
	var before int64
	if key := q.cursor(); key != "" {
		n, err := strconv.ParseInt(key, 10, 64)
		if err != nil || n < 1 {
			q.errs = append(q.errs, apperr.FieldError{Field: "cursor", Code: "cursor", MessageID: "field.cursor"})
		}
		before = n
	}
	if err := q.done(s.validate, &lq); err != nil {
		return err
	}
	logID, err := s.auditLogOf(c, audit.ActionAuditRead, lq.Log)
	if err != nil {
		return err
	}
	cps, err := s.deps.Audit.ListCheckpoints(c.UserContext(), logID, before, lq.Limit)
	if err != nil {
		return err
	}
	list := checkpointList{Items: make([]checkpointView, 0, len(cps))}
	for _, cp := range cps {
		list.Items = append(list.Items, toCheckpointView(cp, true))
	}
	if len(cps) == lq.Limit && cps[len(cps)-1].N > 1 {
		list.NextCursor = seqCursorOrNil(cps[len(cps)-1].N)
	}
	return s.sendPrivate(c, list)
}

type checkpointMade struct {
	Checkpoint   checkpointView  `json:"checkpoint"`
	Verification auditReportView `json:"verification"`
}

// makeAuditCheckpoint answers POST /v1/audit/checkpoints: verifies the log and, when it is intact,
// signs its newest entry now (201); 409 audit_log_not_intact otherwise. Recorded.
func (s *Server) makeAuditCheckpoint(c *fiber.Ctx) error {
	logID, err := s.auditLogFromQuery(c, actionAuditCheckpoint)
	if err != nil {
		return err
	}
	cp, r, ok, err := s.deps.Audit.Checkpoint(c.UserContext(), logID)
	if err != nil {
		return err
	}
	if !ok {
		seq := int64(0)
		if r.FirstProblem != nil {
			seq = r.FirstProblem.Seq
		}
		return &apperr.Error{Kind: apperr.Conflict, Code: "audit_log_not_intact", MessageID: "ErrAuditLogNotIntact",
			Data: map[string]any{"Seq": seq}}
	}
	c.Status(fiber.StatusCreated)
	return s.sendPrivate(c, checkpointMade{Checkpoint: toCheckpointView(cp, true), Verification: toAuditReportView(r)})
}

type verifyJobView struct {
	ID         string           `json:"id"`
	State      string           `json:"state"`
	Read       int64            `json:"entries_read"`
	Total      int64            `json:"entries_total"`
	StartedAt  time.Time        `json:"started_at"`
	FinishedAt *time.Time       `json:"finished_at"`
	Report     *auditReportView `json:"report"`
	Error      *string          `json:"error"`
}

func toVerifyJobView(j audit.Job) verifyJobView {
	v := verifyJobView{ID: j.ID, State: j.State, Read: j.Read, Total: j.Total, StartedAt: j.StartedAt}
	if !j.FinishedAt.IsZero() {
		v.FinishedAt = &j.FinishedAt
	}
	if j.Report != nil {
		r := toAuditReportView(*j.Report)
		v.Report = &r
	}
	if j.Error != "" {
		v.Error = &j.Error
	}
	return v
}

// startAuditVerifyJob answers POST /v1/audit/verify-jobs: starts a full verification of the log in
// the background (202 with the job), or answers 200 with the one already running for the log.
// Recorded.
func (s *Server) startAuditVerifyJob(c *fiber.Ctx) error {
	logID, err := s.auditLogFromQuery(c, actionAuditVerifyJob)
	if err != nil {
		return err
	}
	job, started := s.deps.Audit.StartVerifyJob(logID)
	if started {
		c.Status(fiber.StatusAccepted)
	}
	c.Location("/v1/audit/verify-jobs/" + job.ID)
	return s.sendPrivate(c, toVerifyJobView(job))
}

// getAuditVerifyJob answers GET /v1/audit/verify-jobs/{id}: the job's progress and, once done, its
// report; 404 verify_job_not_found for a job of another log or instance. Recorded.
func (s *Server) getAuditVerifyJob(c *fiber.Ctx) error {
	id := c.Params("id")
	logID, err := s.auditLogFromQuery(c, audit.ActionAuditRead)
	if err != nil {
		return err
	}
	notFound := &apperr.Error{Kind: apperr.NotFound, Code: "verify_job_not_found", MessageID: "ErrVerifyJobNotFound",
		Data: map[string]any{"ID": id}, Err: audit.ErrJobNotFound}
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return notFound
	}
	job, err := s.deps.Audit.VerifyJob(logID, id)
	if errors.Is(err, audit.ErrJobNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toVerifyJobView(job))
}

// auditLogFromQuery reads ?log= (organisation or deployment) and resolves it as auditLogOf does,
// recording action.
func (s *Server) auditLogFromQuery(c *fiber.Ctx, action string) (string, error) {
	q := readQuery(c, "log")
	vq := struct {
		Log string `query:"log" validate:"omitempty,oneof=organisation deployment"`
	}{Log: q.str("log")}
	if err := q.done(s.validate, &vq); err != nil {
		return "", err
	}
	return s.auditLogOf(c, action, vq.Log)
}
