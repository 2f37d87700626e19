package httpapi

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

type auditEntryView struct {
	Seq          int64     `json:"seq"`
	Time         time.Time `json:"time"`
	ActorID      string    `json:"actor_id"`
	ActorRole    string    `json:"actor_role"`
	DeviceID     string    `json:"device_id"`
	Action       string    `json:"action"`
	ResourceType string    `json:"resource_type"`
	ResourceID   string    `json:"resource_id"`
	Outcome      string    `json:"outcome"`
	RequestID    string    `json:"request_id"`
	PrevHash     string    `json:"prev_hash"`
	Hash         string    `json:"hash"`
}

func toAuditEntryView(e audit.Entry) auditEntryView {
	return auditEntryView{Seq: e.Seq, Time: e.Time, ActorID: e.ActorID, ActorRole: e.ActorRole, DeviceID: e.DeviceID,
		Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID, Outcome: string(e.Outcome),
		RequestID: e.RequestID, PrevHash: e.PrevHash, Hash: e.Hash}
}

type auditList struct {
	Items      []auditEntryView `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

type auditQuery struct {
	Log          string `query:"log" validate:"omitempty,oneof=organisation deployment"`
	ActorID      string `query:"actor_id" validate:"omitempty,max=64"`
	Action       string `query:"action" validate:"omitempty,max=64"`
	ResourceType string `query:"resource_type" validate:"omitempty,max=32"`
	ResourceID   string `query:"resource_id" validate:"omitempty,max=128"`
	Limit        int    `query:"limit" validate:"min=1,max=200"`
}

// listAudit answers GET /v1/audit: the organisation's audit log, oldest first, filtered and paged.
// Reading the log is itself recorded.
func (s *Server) listAudit(c *fiber.Ctx) error {
	q := readQuery(c, "log", "actor_id", "action", "resource_type", "resource_id", "since", "until", "limit", "cursor")
	aq := auditQuery{Log: q.str("log"), ActorID: q.str("actor_id"), Action: q.str("action"), ResourceType: q.str("resource_type"),
		ResourceID: q.str("resource_id"), Limit: q.integer("limit", defaultPageSize)}
	f := audit.Filter{ActorID: aq.ActorID, Action: aq.Action, ResourceType: aq.ResourceType, ResourceID: aq.ResourceID,
		Since: q.time("since"), Until: q.time("until")}
	var after int64
	if key := q.cursor(); key != "" {
		n, err := strconv.ParseInt(key, 10, 64)
		if err != nil || n < 0 {
			q.errs = append(q.errs, apperr.FieldError{Field: "cursor", Code: "cursor", MessageID: "field.cursor"})
		}
		after = n
	}
	if err := q.done(s.validate, &aq); err != nil {
		return err
	}
	logID, err := s.auditLogOf(c, audit.ActionAuditRead, aq.Log)
	if err != nil {
		return err
	}
	entries, next, err := s.deps.Audit.List(c.UserContext(), logID, f, after, aq.Limit)
	if err != nil {
		return err
	}
	list := auditList{Items: make([]auditEntryView, len(entries))}
	for i, e := range entries {
		list.Items[i] = toAuditEntryView(e)
	}
	list.NextCursor = seqCursorOrNil(next)
	return s.sendPrivate(c, list)
}

type auditReportView struct {
	Entries         int               `json:"entries"`
	OK              bool              `json:"ok"`
	FirstProblem    *auditProblemView `json:"first_problem"`
	LastSeq         int64             `json:"last_seq"`
	LastHash        string            `json:"last_hash"`
	Full            bool              `json:"full"`
	FromSeq         int64             `json:"from_seq"`
	Checkpoint      *checkpointView   `json:"checkpoint"`
	AfterCheckpoint int64             `json:"entries_after_checkpoint"`
}

type auditProblemView struct {
	Seq    int64  `json:"seq"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// verifyAudit answers GET /v1/audit/verify: checks the log from its newest signed checkpoint on.
func (s *Server) verifyAudit(c *fiber.Ctx) error {
	q := readQuery(c, "log")
	vq := struct {
		Log string `query:"log" validate:"omitempty,oneof=organisation deployment"`
	}{Log: q.str("log")}
	if err := q.done(s.validate, &vq); err != nil {
		return err
	}
	logID, err := s.auditLogOf(c, audit.ActionAuditVerify, vq.Log)
	if err != nil {
		return err
	}
	r, err := s.deps.Audit.Verify(c.UserContext(), logID)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toAuditReportView(r))
}

func toAuditReportView(r audit.Report) auditReportView {
	v := auditReportView{Entries: r.Entries, OK: r.OK, LastSeq: r.LastSeq, LastHash: r.LastHash, Full: r.Full,
		FromSeq: r.FromSeq, AfterCheckpoint: r.AfterCheckpoint}
	if r.FirstProblem != nil {
		v.FirstProblem = &auditProblemView{Seq: r.FirstProblem.Seq, Kind: r.FirstProblem.Kind, Detail: r.FirstProblem.Detail}
	}
	if r.Checkpoint != nil {
		cv := toCheckpointView(*r.Checkpoint, !r.CheckpointLost)
		v.Checkpoint = &cv
	}
	return v
}

// auditLogOf returns the id of the audit log a request asks for ("organisation" or empty: the caller's
// organisation's; "deployment": audit.DeploymentLog, the log of security events that belong to no
// organisation) and records action on it in the caller's organisation's log. The deployment log is
// open only to auditors of the organisation Deps.DeploymentAuditOrg: anyone else gets
// identity.ErrForbidden (the log's existence is no secret). It returns the recorder's error too.
func (s *Server) auditLogOf(c *fiber.Ctx, action, log string) (string, error) {
	p := principal(c)
	logID := p.OrgID
	if log == "deployment" {
		if !p.HasRole(identity.RoleAuditor) || p.OrgID == "" || p.OrgID != s.deps.DeploymentAuditOrg {
			return "", identity.ErrForbidden
		}
		logID = audit.DeploymentLog
	}
	if err := s.record(c, action, "audit_log", logID); err != nil {
		return "", err
	}
	return logID, nil
}

// record writes an audit entry for the request's principal; a request whose entry cannot be written fails.
func (s *Server) record(c *fiber.Ctx, action, resourceType, resourceID string) error {
	p := principal(c)
	return s.deps.Audit.RecordEvent(c.UserContext(), p.AuditEvent(p.FirstRole(), action, resourceType, resourceID, audit.OutcomeSuccess))
}

// sendPrivate writes a JSON body that must not be stored by caches (personal or security data).
func (s *Server) sendPrivate(c *fiber.Ctx, v any) error {
	b, err := jsonEncode(v)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(b)
}
