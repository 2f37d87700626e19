package console

import (
	"html/template"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/childsafe-protocols/caseguide/internal/access"
	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// declareAuditor adds the audit pages: the log with filters and paging, and its verification, for
// the roles GET /v1/audit admits. The deployment's log (?log=deployment) is open only to auditors
// of Deps.DeploymentAuditOrg, as in the API. Reading and verifying are recorded as the API records
// them (audit.read, audit.verify).
func (c *Console) declareAuditor() {
	get := fiber.MethodGet
	readers := access.Roles(identity.RoleAuditor, identity.RoleSupervisor)
	c.routes = append(c.routes,
		route{method: get, path: Prefix + "/audit", policy: readers, h: c.auditLog, nav: &navEntry{label: "console.nav.audit", order: 60}},
		route{method: get, path: Prefix + "/audit/verify", policy: readers, h: c.auditVerify},
	)
}

// auditPageSize is the number of entries on one page of the log unless ?limit= says otherwise.
const auditPageSize = 50

// auditFilter is the log page's filter form, as typed.
type auditFilter struct {
	Log, ActorID, Action, ResourceType, ResourceID, Since, Until, Limit string
}

// query returns the filter as a query string for links (ids and codes only, never child data).
func (f auditFilter) query() string {
	v := fiber.AcquireArgs()
	defer fiber.ReleaseArgs(v)
	for _, kv := range [][2]string{{"log", f.Log}, {"actor_id", f.ActorID}, {"action", f.Action},
		{"resource_type", f.ResourceType}, {"resource_id", f.ResourceID}, {"since", f.Since}, {"until", f.Until}, {"limit", f.Limit}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return v.String()
}

type auditLogData struct {
	Filter        auditFilter
	Errors        map[string]string
	Entries       []audit.Entry
	NextHref      template.URL // the next page ("" on the last); ids and codes only
	VerifyHref    template.URL // verification of the log shown
	FilterQuery   string       // the filter alone
	Deployment    bool         // showing the deployment's log
	CanDeployment bool         // the user may read the deployment's log
}

// canReadDeployment reports whether r's user may read the deployment's log (auditors of
// Deps.DeploymentAuditOrg).
func (c *Console) canReadDeployment(r *request) bool {
	return r.p.HasRole(identity.RoleAuditor) && r.p.OrgID != "" && r.p.OrgID == c.deps.DeploymentAuditOrg
}

// auditLogID returns the log a request asks for (?log=) and records action on it in the user's
// organisation's log, as the API's auditLogOf does: ErrForbidden for the deployment's log unless
// canReadDeployment, or a validation error for an unknown log.
func (c *Console) auditLogID(r *request, action, log string) (string, error) {
	logID := r.p.OrgID
	switch log {
	case "", "organisation":
	case "deployment":
		if !c.canReadDeployment(r) {
			return "", identity.ErrForbidden
		}
		logID = audit.DeploymentLog
	default:
		return "", apperr.Validation(apperr.FieldError{Field: "log", Code: "oneof", MessageID: "field.oneof",
			Data: map[string]any{"Param": "organisation deployment"}})
	}
	if err := c.deps.Audit.RecordEvent(r.ctx(), r.p.AuditEvent(r.p.FirstRole(), action, "audit_log", logID, audit.OutcomeSuccess)); err != nil {
		return "", err
	}
	return logID, nil
}

// auditLog shows one page of a log, oldest first, filtered by actor, action, resource and days
// (since and until are dates, until inclusive); ?after=<seq> continues after an entry. Bad filter
// values are shown at their fields and nothing is read.
func (c *Console) auditLog(r *request) error {
	q := func(k string) string { return utils.CopyString(r.c.Query(k)) }
	f := auditFilter{Log: q("log"), ActorID: q("actor_id"), Action: q("action"), ResourceType: q("resource_type"),
		ResourceID: q("resource_id"), Since: q("since"), Until: q("until"), Limit: q("limit")}
	d := auditLogData{Filter: f, Errors: map[string]string{}, Deployment: f.Log == "deployment", CanDeployment: c.canReadDeployment(r),
		FilterQuery: f.query(), VerifyHref: Prefix + "/audit/verify"}
	if d.Deployment {
		d.VerifyHref += "?log=deployment"
	}
	af := audit.Filter{ActorID: f.ActorID, Action: f.Action, ResourceType: f.ResourceType, ResourceID: f.ResourceID}
	var errs []apperr.FieldError
	for _, fv := range []struct {
		name, value string
		max         int
	}{{"actor_id", f.ActorID, 64}, {"action", f.Action, 64}, {"resource_type", f.ResourceType, 32}, {"resource_id", f.ResourceID, 128}} {
		if len(fv.value) > fv.max {
			errs = append(errs, apperr.FieldError{Field: fv.name, Code: "max", MessageID: "field.max", Data: map[string]any{"Param": strconv.Itoa(fv.max)}})
		}
	}
	day := func(name, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			errs = append(errs, apperr.FieldError{Field: name, Code: "datetime", MessageID: "console.audit.bad_date"})
		}
		return t
	}
	af.Since = day("since", f.Since)
	if until := day("until", f.Until); !until.IsZero() {
		af.Until = until.AddDate(0, 0, 1)
	}
	limit := auditPageSize
	if f.Limit != "" {
		n, err := strconv.Atoi(f.Limit)
		if err != nil || n < 1 || n > audit.MaxListLimit-1 {
			errs = append(errs, apperr.FieldError{Field: "limit", Code: "max", MessageID: "console.audit.bad_limit",
				Data: map[string]any{"Max": audit.MaxListLimit - 1}})
		}
		limit = n
	}
	var after int64
	if a := r.c.Query("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			errs = append(errs, apperr.FieldError{Field: "cursor", Code: "cursor", MessageID: "field.cursor"})
		}
		after = n
	}
	if len(errs) > 0 {
		for _, e := range errs {
			d.Errors[e.Field] = c.fieldMessage(r.loc.Code, e)
		}
		return c.render(r, fiber.StatusBadRequest, "audit_log", "console.audit.title", d, "")
	}
	logID, err := c.auditLogID(r, audit.ActionAuditRead, f.Log)
	if err != nil {
		return err
	}
	entries, nextAfter, err := c.deps.Audit.List(r.ctx(), logID, af, after, limit)
	if err != nil {
		return err
	}
	if nextAfter > 0 {
		next := "after=" + strconv.FormatInt(nextAfter, 10)
		if d.FilterQuery != "" {
			next = d.FilterQuery + "&" + next
		}
		d.NextHref = template.URL(Prefix + "/audit?" + next) // built from encoded values
	}
	d.Entries = entries
	return c.render(r, fiber.StatusOK, "audit_log", "console.audit.title", d, "")
}

type auditVerifyData struct {
	Report     audit.Report
	Deployment bool
	Problem    string // message id explaining the first problem's kind
	LogHref    template.URL
}

// auditVerify recomputes a log's whole hash chain (audit.Service.Verify, as GET /v1/audit/verify)
// and explains the result: intact up to which entry and hash, or the first problem and what it
// means.
func (c *Console) auditVerify(r *request) error {
	log := utils.CopyString(r.c.Query("log"))
	logID, err := c.auditLogID(r, audit.ActionAuditVerify, log)
	if err != nil {
		return err
	}
	rep, err := c.deps.Audit.Verify(r.ctx(), logID)
	if err != nil {
		return err
	}
	d := auditVerifyData{Report: rep, Deployment: log == "deployment"}
	d.LogHref = Prefix + "/audit"
	if d.Deployment {
		d.LogHref += "?log=deployment"
	}
	if rep.FirstProblem != nil {
		switch rep.FirstProblem.Kind {
		case audit.ProblemHashMismatch, audit.ProblemBrokenLink, audit.ProblemGap:
			d.Problem = "console.audit.problem." + rep.FirstProblem.Kind
		default:
			d.Problem = "console.audit.problem.other"
		}
	}
	return c.render(r, fiber.StatusOK, "audit_verify", "console.audit.verify.title", d, "")
}

// Num64 formats a whole number (a sequence number) for the locale, as Num does.
func (v view) Num64(n int64) string { return v.Num(int(n)) }
