package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var pageTitle = regexp.MustCompile(`<title>([^<]*)</title>`)

// The interview review page shows the plan, the quality measures and flags with their meaning and
// the prompt log with its legend, to supervisors of the organisation only (another organisation's
// supervisor gets the API's 404, a caseworker a 403 page); its title names no child; a review
// without the session's CSRF token, or with a stale version, changes nothing.
func TestConsoleReviewPage(t *testing.T) {
	t.Parallel()
	base := server(t).base
	o := newWorklistOrg(t)
	review := "/console/cases/" + o.assigned + "/interviews/" + o.submitted

	cc := consoleSignIn(t, base, o.supervisorName, o.supervisorPass)
	page := cc.get(review)
	if page.status != http.StatusOK {
		t.Fatalf("review page: %d %.300s", page.status, page.body)
	}
	for _, want := range []string{"Suggestive prompts used: 1.", `class="legend"`, `<li class="suggestive">`, "Wellbeing check", `name="version"`,
		"Interpreter", `id="review-form"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the review page lacks %q", want)
		}
	}
	if m := pageTitle.FindStringSubmatch(page.body); m == nil || strings.Contains(m[1], "Child") || strings.Contains(m[1], "REF-") {
		t.Errorf("page title %q", m)
	}

	other := newOrg(t)
	outsiderName, outsiderPass, _ := other.newUser(t, "supervisor")
	outsider := consoleSignIn(t, base, outsiderName, outsiderPass)
	if r := outsider.get(review); r.status != http.StatusNotFound || !strings.Contains(r.body, "<h1>Not found</h1>") {
		t.Errorf("another organisation's supervisor: %d, want the 404 page", r.status)
	}
	workerName, workerPass, _ := o.org.newUser(t, "caseworker")
	if r := consoleSignIn(t, base, workerName, workerPass).get(review); r.status != http.StatusForbidden {
		t.Errorf("a caseworker: %d, want 403", r.status)
	}

	if r := cc.do(http.MethodPost, review+"/review", url.Values{"csrf": {"forged"}, "decision": {"approve"}, "version": {"1"}}); r.status != http.StatusForbidden {
		t.Errorf("a review without the CSRF token: %d", r.status)
	}
	if r := cc.post(review+"/review", url.Values{"decision": {"approve"}, "version": {"1"}}); r.status != http.StatusConflict || !strings.Contains(r.body, `id="review-errors"`) {
		t.Errorf("a review at a stale version: %d %.400s", r.status, r.body)
	}
	if r := cc.post(review+"/review", url.Values{"decision": {"return"}, "version": {"4"}}); r.status != http.StatusBadRequest {
		t.Errorf("returning without a comment: %d", r.status)
	}
	var s sessionBody
	get(t, base, "/v1/cases/"+o.assigned+"/interviews/"+o.submitted, "Authorization: Bearer "+o.supervisor.AccessToken).json(t, &s)
	if s.Status != "submitted" {
		t.Errorf("after refused reviews the interview is %s", s.Status)
	}
}
