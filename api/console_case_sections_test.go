package main

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// A supervisor assigns and unassigns caseworkers from the case page, choosing among the
// organisation's enabled caseworkers by display name. No choice or someone who is not a caseworker
// of the organisation shows the message at the picker and changes nothing; a stale page answers
// 409; another organisation's supervisor gets 404; a caseworker may not assign (403).
func TestConsoleCaseAssign(t *testing.T) {
	t.Parallel()
	base := server(t).base
	org := newOrg(t)
	supName, supPass, sup := org.newUser(t, "supervisor")
	workerName, workerPass, worker := org.newUser(t, "caseworker")
	otherName, _, other := org.newUser(t, "caseworker")
	_, _, gone := org.newUser(t, "caseworker")
	if r := post(t, base, http.MethodPatch, "/v1/users/"+gone.User.ID, org.admin, map[string]any{"version": gone.User.Version, "disabled": true}); r.status != http.StatusOK {
		t.Fatalf("disabling: %d %s", r.status, r.body)
	}
	outOrg := newOrg(t)
	outName, outPass, _ := outOrg.newUser(t, "supervisor")
	_, _, foreigner := outOrg.newUser(t, "caseworker")
	id := uuid.Must(uuid.NewV7()).String()
	if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(id, "Child A.")); r.status != http.StatusCreated {
		t.Fatalf("case: %d %s", r.status, r.body)
	}
	type caseState struct {
		CaseworkerIDs []string `json:"caseworker_ids"`
		Version       int64    `json:"version"`
	}
	state := func(t *testing.T) caseState {
		t.Helper()
		var c caseState
		get(t, base, "/v1/cases/"+id, "Authorization: Bearer "+sup.AccessToken).json(t, &c)
		return c
	}
	cc := consoleSignIn(t, base, supName, supPass)

	page := cc.get("/console/cases/" + id)
	picker := page.body[strings.Index(page.body, `id="caseworker_id"`):]
	picker = picker[:strings.Index(picker, "</select>")]
	if !strings.Contains(picker, ">Test "+otherName+"<") || strings.Contains(picker, workerName) ||
		strings.Contains(picker, gone.User.ID) || strings.Contains(picker, foreigner.User.ID) {
		t.Errorf("the picker should offer the unassigned, enabled caseworkers of the organisation by name: %s", picker)
	}

	steps := []struct {
		name       string
		client     *consoleClient
		path       string
		form       url.Values
		wantStatus int
		wantBody   string
		wantIDs    []string
	}{
		{"no choice", cc, "/assign", url.Values{"caseworker_id": {""}}, http.StatusBadRequest, `id="caseworker-error"`, []string{worker.User.ID}},
		{"not a caseworker here", cc, "/assign", url.Values{"caseworker_id": {foreigner.User.ID}}, http.StatusBadRequest, "not an active user of your organisation", []string{worker.User.ID}},
		{"disabled", cc, "/assign", url.Values{"caseworker_id": {gone.User.ID}}, http.StatusBadRequest, `id="caseworker-error"`, []string{worker.User.ID}},
		{"stale page", cc, "/assign", url.Values{"caseworker_id": {other.User.ID}, "version": {"999"}}, http.StatusConflict, "", []string{worker.User.ID}},
		{"another organisation", consoleSignIn(t, base, outName, outPass), "/assign", url.Values{"caseworker_id": {other.User.ID}}, http.StatusNotFound, "", []string{worker.User.ID}},
		{"a caseworker", consoleSignIn(t, base, workerName, workerPass), "/assign", url.Values{"caseworker_id": {other.User.ID}}, http.StatusForbidden, "", []string{worker.User.ID}},
		{"assign", cc, "/assign", url.Values{"caseworker_id": {other.User.ID}}, http.StatusSeeOther, "", []string{worker.User.ID, other.User.ID}},
		{"assign again", cc, "/assign", url.Values{"caseworker_id": {other.User.ID}}, http.StatusSeeOther, "", []string{worker.User.ID, other.User.ID}},
		{"unassign", cc, "/unassign", url.Values{"caseworker_id": {worker.User.ID}}, http.StatusSeeOther, "", []string{other.User.ID}},
	}
	for _, s := range steps {
		if !s.form.Has("version") {
			s.form.Set("version", strconv.FormatInt(state(t).Version, 10))
		}
		r := s.client.post("/console/cases/"+id+s.path, s.form)
		if r.status != s.wantStatus || !strings.Contains(r.body, s.wantBody) {
			t.Fatalf("%s: %d %.1500s", s.name, r.status, r.body)
		}
		if s.wantStatus == http.StatusSeeOther && r.location() != "/console/cases/"+id {
			t.Errorf("%s: redirected to %q", s.name, r.location())
		}
		if got := state(t).CaseworkerIDs; !slices.Equal(got, s.wantIDs) {
			t.Fatalf("%s: caseworkers %v, want %v", s.name, got, s.wantIDs)
		}
	}
	if page := cc.get("/console/cases/" + id); !strings.Contains(page.body, "Unassign Test "+otherName) || !strings.Contains(page.body, ">Test "+workerName+"<") {
		t.Errorf("after the changes the page should list %s (with an unassign button) and offer %s: %.3000s", otherName, workerName, page.body)
	}
}

// The case page shows the protocol run with its step progress and overdue marks, the interviews
// with their status, open-prompt share and flags (a supervisor also gets the review link), and the
// evidence item with its custody timeline, verify form and downloads. A caseworker sees the same
// without the assignment forms and review links.
func TestConsoleCaseSections(t *testing.T) {
	t.Parallel()
	base := server(t).base
	o := newWorklistOrg(t)
	page := "/console/cases/" + o.assigned
	review := page + "/interviews/" + o.submitted
	item := page + "/evidence/" + o.item
	sup := consoleSignIn(t, base, o.supervisorName, o.supervisorPass)

	r := sup.get(page)
	if r.status != http.StatusOK {
		t.Fatalf("%d %.300s", r.status, r.body)
	}
	for _, want := range []string{
		`id="runs-h"`, "steps done", `class="badge bad">overdue<`, "Not recorded yet",
		`id="interviews"`, "submitted", "returned", "Suggestive prompts", `href="` + review + `"`,
		"Sealed", "seal S-9 — seal broken", `action="` + item + `/verify"`, `href="` + item + `/custody-record"`, `href="` + item + `/case-uco"`,
		`id="assign-form"`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the supervisor's case page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", r.body)
	}

	// an assigned caseworker sees the sections, without assignment forms or review links
	workerName, workerPass, worker := o.org.newUser(t, "caseworker")
	var k struct {
		CaseworkerIDs []string `json:"caseworker_ids"`
		Version       int64    `json:"version"`
	}
	get(t, base, "/v1/cases/"+o.assigned, "Authorization: Bearer "+o.supervisor.AccessToken).json(t, &k)
	if r := post(t, base, http.MethodPatch, "/v1/cases/"+o.assigned, o.supervisor.AccessToken,
		map[string]any{"version": k.Version, "caseworker_ids": append(k.CaseworkerIDs, worker.User.ID)}); r.status != http.StatusOK {
		t.Fatalf("assigning: %d %s", r.status, r.body)
	}
	cw := consoleSignIn(t, base, workerName, workerPass)
	r = cw.get(page)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Suggestive prompts") || !strings.Contains(r.body, "seal S-9") {
		t.Fatalf("the caseworker's case page: %d %.3000s", r.status, r.body)
	}
	if strings.Contains(r.body, `id="assign-form"`) || strings.Contains(r.body, "/unassign") || strings.Contains(r.body, `href="`+review+`"`) {
		t.Errorf("the caseworker's case page offers assignment or review: %.5000s", r.body)
	}
}

// The verify action checks an item's chain through the evidence service and explains the result;
// the downloads serve the API's CASE/UCO document and printable record, never stored; another
// organisation gets 404 for all three; the reads and the verification are audited.
func TestConsoleCaseEvidenceActions(t *testing.T) {
	t.Parallel()
	base := server(t).base
	o := newWorklistOrg(t)
	item := "/console/cases/" + o.assigned + "/evidence/" + o.item
	sup := consoleSignIn(t, base, o.supervisorName, o.supervisorPass)
	outName, outPass, _ := newOrg(t).newUser(t, "supervisor")
	outsider := consoleSignIn(t, base, outName, outPass)

	tests := []struct {
		name, method, path string
		client             *consoleClient
		status             int
		contentType        string
		want               []string
	}{
		{"verify", http.MethodPost, item + "/verify", sup, http.StatusOK, "text/html",
			[]string{`id="verify-result"`, "The chain holds", "2 custody events were checked", "The server signed the chain up to event", `href="/console/cases/` + o.assigned + `"`}},
		{"printable record", http.MethodGet, item + "/custody-record", sup, http.StatusOK, "text/html", []string{"Chain of custody record", "S-9"}},
		{"CASE/UCO", http.MethodGet, item + "/case-uco", sup, http.StatusOK, "application/ld+json", []string{"case-investigation:InvestigativeAction", o.item}},
		{"verify, another organisation", http.MethodPost, item + "/verify", outsider, http.StatusNotFound, "text/html", nil},
		{"record, another organisation", http.MethodGet, item + "/custody-record", outsider, http.StatusNotFound, "text/html", nil},
		{"CASE/UCO, another organisation", http.MethodGet, item + "/case-uco", outsider, http.StatusNotFound, "text/html", nil},
		{"verify, unknown item", http.MethodPost, "/console/cases/" + o.assigned + "/evidence/" + uuid.Must(uuid.NewV7()).String() + "/verify", sup, http.StatusNotFound, "text/html", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r *consoleResponse
			if tc.method == http.MethodPost {
				r = tc.client.post(tc.path, nil)
			} else {
				r = tc.client.get(tc.path)
			}
			if r.status != tc.status || !strings.HasPrefix(r.header.Get("Content-Type"), tc.contentType) {
				t.Fatalf("%d %s %.500s", r.status, r.header.Get("Content-Type"), r.body)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("the answer lacks %q: %.3000s", w, r.body)
				}
			}
		})
	}
	if csp := sup.get(item + "/custody-record").header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'sha256-") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
		t.Errorf("the printable record's Content-Security-Policy %q", csp)
	}
	if r := sup.do(http.MethodPost, item+"/verify", url.Values{"csrf": {"forged"}}); r.status != http.StatusForbidden {
		t.Errorf("verify without the page's CSRF token: %d", r.status)
	}

	var log struct {
		Items []struct {
			Action     string `json:"action"`
			ResourceID string `json:"resource_id"`
		} `json:"items"`
	}
	get(t, base, "/v1/audit?limit=200", "Authorization: Bearer "+o.supervisor.AccessToken).json(t, &log)
	for _, action := range []string{"evidence.verify", "evidence.export"} {
		if !slices.ContainsFunc(log.Items, func(e struct {
			Action     string `json:"action"`
			ResourceID string `json:"resource_id"`
		}) bool {
			return e.Action == action && e.ResourceID == o.item
		}) {
			t.Errorf("no %s entry for the item in the audit log", action)
		}
	}
}
