package console

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
)

// verifyData is the verification page of one evidence item: the report and its explanation, one
// localized sentence per finding.
type verifyData struct {
	CaseID, ItemID string
	OK             bool
	Lines          []string
}

// verifyItem is POST /console/cases/{id}/evidence/{item}/verify: evidence.Service.VerifyItem (as
// GET /v1/cases/{id}/evidence/{item}/verify; same scoping, 404 for another organisation's case or
// item, same audit entry), shown with what the result means.
func (c *Console) verifyItem(r *request) error {
	caseID, itemID := strings.Clone(r.c.Params("case")), strings.Clone(r.c.Params("item"))
	rep, err := c.deps.Evidence.VerifyItem(r.ctx(), r.p, caseID, itemID, "")
	if err != nil {
		return err
	}
	return c.render(r, fiber.StatusOK, "case_verify", "console.case.verify.title",
		verifyData{CaseID: caseID, ItemID: itemID, OK: rep.OK, Lines: c.explainReport(r, rep)}, "")
}

// explainReport says in the page's language what a verification found: whether the chain holds,
// the first problem and what it means, the content's integrity, the signed head and checkpoint.
func (c *Console) explainReport(r *request, rep evidence.Report) []string {
	m := func(id string, data map[string]any) string {
		return c.deps.Catalog.Message(r.loc.Code, "console.case.verify."+id, data)
	}
	at := func(t time.Time) string {
		return t.UTC().Format(c.deps.Catalog.Message(r.loc.Code, "console.format.datetime", nil)) + " UTC"
	}
	var out []string
	if rep.OK {
		out = append(out, m("ok", map[string]any{"Count": rep.Events}))
	} else {
		out = append(out, m("failed", map[string]any{"Count": rep.Events}))
	}
	if p := rep.FirstProblem; p != nil {
		kind := "problem." + p.Kind
		if id := "console.case.verify." + kind; c.deps.Catalog.Message(r.loc.Code, id, nil) == id {
			kind = "problem.other"
		}
		out = append(out, m("first_problem", map[string]any{"Seq": p.Seq})+" "+m(kind, nil))
	}
	if rep.Integrity == evidence.IntegrityFailed {
		out = append(out, m("integrity_failed", nil))
	}
	if rep.ReceiptSeq > 0 {
		out = append(out, m("receipt", map[string]any{"Seq": rep.ReceiptSeq, "Time": at(rep.ReceiptSignedAt)}))
	}
	if rep.UnsignedEvents > 0 {
		out = append(out, m("unsigned", map[string]any{"Count": rep.UnsignedEvents}))
	}
	if cp := rep.Checkpoint; cp != nil {
		out = append(out, m("checkpoint", map[string]any{"Seq": cp.Seq, "Time": at(cp.SignedAt)}))
	}
	if rep.ContentErased {
		out = append(out, m("erased", nil))
	}
	return out
}

// itemCaseUCO is GET /console/cases/{id}/evidence/{item}/case-uco: the item's chain as the CASE/UCO
// JSON-LD document of GET /v1/cases/{id}/evidence/{item}/case-uco (evidence.Service.Chain: same
// scoping and audit), as a download that is never stored.
func (c *Console) itemCaseUCO(r *request) error {
	it, events, rep, err := c.deps.Evidence.Chain(r.ctx(), r.p, r.c.Params("case"), r.c.Params("item"))
	if err != nil {
		return err
	}
	b, err := httpapi.CaseUCODocument(it, events, rep)
	if err != nil {
		return err
	}
	r.c.Set(fiber.HeaderCacheControl, "no-store")
	r.c.Set(fiber.HeaderContentType, "application/ld+json")
	r.c.Set(fiber.HeaderContentDisposition, `attachment; filename="custody-`+it.ID+`.jsonld"`)
	return r.c.Send(b)
}

// custodyRecordCSP lets the printable record's own style sheet through (by its hash) and nothing
// else: no script, no other source, no framing.
var custodyRecordCSP = func() string {
	sum := sha256.Sum256([]byte(httpapi.CustodyRecordStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
}()

// itemCustodyRecord is GET /console/cases/{id}/evidence/{item}/custody-record: the printable
// chain-of-custody record of GET /v1/cases/{id}/evidence/{item}/custody-record in the page's
// language, never stored, opened in the browser for printing.
func (c *Console) itemCustodyRecord(r *request) error {
	it, events, rep, err := c.deps.Evidence.Chain(r.ctx(), r.p, r.c.Params("case"), r.c.Params("item"))
	if err != nil {
		return err
	}
	b, err := httpapi.CustodyRecordHTML(c.deps.Catalog, r.loc, it, events, rep, time.Now())
	if err != nil {
		return err
	}
	r.c.Set(fiber.HeaderCacheControl, "no-store")
	r.c.Set("Content-Security-Policy", custodyRecordCSP)
	r.c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return r.c.Send(b)
}
