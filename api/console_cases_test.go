package main

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// The case list shows a supervisor their organisation's cases and a caseworker only the cases
// assigned to them (the API's scoping), with the API's filters; a bad filter is a 400 page; another
// organisation's cases never appear; the title names no child; the page is never cached.
func TestConsoleCasesList(t *testing.T) {
	t.Parallel()
	base := server(t).base
	org := newOrg(t)
	supName, supPass, sup := org.newUser(t, "supervisor")
	workerName, workerPass, worker := org.newUser(t, "caseworker")
	mine, theirs := uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String()
	ref := func(id string) string { return "REF-" + id[len(id)-12:] } // UUIDv7 prefixes repeat within a millisecond
	caseWithRef := func(id string) map[string]any {
		c := newCase(id, "Child L.")
		c["reference_number"] = ref(id)
		return c
	}
	for _, c := range []struct{ id, token string }{{mine, worker.AccessToken}, {theirs, sup.AccessToken}} {
		if r := post(t, base, http.MethodPost, "/v1/cases", c.token, caseWithRef(c.id)); r.status != http.StatusCreated {
			t.Fatalf("case: %d %s", r.status, r.body)
		}
	}
	other := newOrg(t)
	_, _, outsider := other.newUser(t, "supervisor")
	foreign := uuid.Must(uuid.NewV7()).String()
	if r := post(t, base, http.MethodPost, "/v1/cases", outsider.AccessToken, caseWithRef(foreign)); r.status != http.StatusCreated {
		t.Fatalf("foreign case: %d %s", r.status, r.body)
	}

	tests := []struct {
		name, user, pass, path string
		status                 int
		want, notWant          []string
	}{
		{"supervisor", supName, supPass, "/console/cases", http.StatusOK, []string{ref(mine), ref(theirs), "<td>Open</td>", "<td>Online enticement, solicitation and grooming</td>", "<td>Under 6 years</td>"}, []string{ref(foreign), "<td>open</td>", "<td>grooming</td>", "<td>under_6</td>"}},
		{"supervisor filtered", supName, supPass, "/console/cases?status=closed", http.StatusOK, []string{"No cases match."}, []string{ref(mine)}},
		{"caseworker", workerName, workerPass, "/console/cases", http.StatusOK, []string{ref(mine)}, []string{ref(theirs), ref(foreign)}},
		{"bad filter", supName, supPass, "/console/cases?age_band=ancient", http.StatusBadRequest, nil, []string{"REF-"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := consoleSignIn(t, base, tc.user, tc.pass).get(tc.path)
			if r.status != tc.status {
				t.Fatalf("%s: %d %.300s", tc.path, r.status, r.body)
			}
			if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control %q", cc)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(r.body, w) {
					t.Errorf("the page shows %q", w)
				}
			}
			if m := pageTitle.FindStringSubmatch(r.body); m == nil || strings.Contains(m[1], "Child") || strings.Contains(m[1], "REF-") {
				t.Errorf("page title %q", m)
			}
		})
	}
}

// The case page shows the child's profile and needs to the organisation's supervisor and to an
// assigned caseworker; another organisation's supervisor and an unassigned caseworker get the API's
// 404; its title names no child; it is never cached.
func TestConsoleCasesPage(t *testing.T) {
	t.Parallel()
	base := server(t).base
	org := newOrg(t)
	supName, supPass, _ := org.newUser(t, "supervisor")
	workerName, workerPass, worker := org.newUser(t, "caseworker")
	idleName, idlePass, _ := org.newUser(t, "caseworker")
	id := uuid.Must(uuid.NewV7()).String()
	if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(id, "Child P.")); r.status != http.StatusCreated {
		t.Fatalf("case: %d %s", r.status, r.body)
	}
	outName, outPass, _ := newOrg(t).newUser(t, "supervisor")
	tests := []struct {
		name, user, pass string
		status           int
	}{
		{"supervisor", supName, supPass, http.StatusOK},
		{"assigned caseworker", workerName, workerPass, http.StatusOK},
		{"unassigned caseworker", idleName, idlePass, http.StatusNotFound},
		{"another organisation", outName, outPass, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := consoleSignIn(t, base, tc.user, tc.pass).get("/console/cases/" + id)
			if r.status != tc.status {
				t.Fatalf("%d %.300s", r.status, r.body)
			}
			if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control %q", cc)
			}
			if m := pageTitle.FindStringSubmatch(r.body); m == nil || strings.Contains(m[1], "Child") || strings.Contains(m[1], "REF-") {
				t.Errorf("page title %q", m)
			}
			if tc.status == http.StatusOK && (!strings.Contains(r.body, "Under 6 years") || !strings.Contains(r.body, "Online enticement") || strings.Contains(r.body, "<dd>grooming</dd>")) {
				t.Errorf("the case page shows codes, not the age band's and case types' names: %.2000s", r.body)
			}
			if tc.status == http.StatusOK && !strings.Contains(r.body, "<li>Test "+workerName) {
				t.Errorf("the case page does not name its caseworker: %.2000s", r.body)
			}
			shown := strings.Contains(r.body, "Child P.")
			if shown != (tc.status == http.StatusOK) {
				t.Errorf("the child's pseudonym shown: %v", shown)
			}
		})
	}
}

// A supervisor closes a case with a reason and reopens it from the case page. A missing reason shows
// the message at the field and changes nothing; a stale page answers 409; another organisation's
// supervisor gets 404 and changes nothing.
func TestConsoleCaseCloseReopen(t *testing.T) {
	t.Parallel()
	base := server(t).base
	org := newOrg(t)
	supName, supPass, sup := org.newUser(t, "supervisor")
	outName, outPass, _ := newOrg(t).newUser(t, "supervisor")
	id := uuid.Must(uuid.NewV7()).String()
	if r := post(t, base, http.MethodPost, "/v1/cases", sup.AccessToken, newCase(id, "Child C.")); r.status != http.StatusCreated {
		t.Fatalf("case: %d %s", r.status, r.body)
	}
	type caseState struct {
		Status       string `json:"status"`
		StatusReason string `json:"status_reason"`
		Version      int64  `json:"version"`
	}
	state := func(t *testing.T) caseState {
		t.Helper()
		var c caseState
		get(t, base, "/v1/cases/"+id, "Authorization: Bearer "+sup.AccessToken).json(t, &c)
		return c
	}
	cc := consoleSignIn(t, base, supName, supPass)
	outsider := consoleSignIn(t, base, outName, outPass)
	version := func(t *testing.T) string { t.Helper(); return strconv.FormatInt(state(t).Version, 10) }
	steps := []struct {
		name       string
		client     *consoleClient
		path       string
		form       url.Values
		wantStatus int
		wantBody   string
		wantCase   string // status after the step
	}{
		{"no reason", cc, "/close", url.Values{"reason": {"  "}}, http.StatusBadRequest, `id="reason-error"`, "open"},
		{"stale page", cc, "/close", url.Values{"reason": {"Support completed."}, "version": {"999"}}, http.StatusConflict, "", "open"},
		{"another organisation", outsider, "/close", url.Values{"reason": {"Support completed."}}, http.StatusNotFound, "", "open"},
		{"close", cc, "/close", url.Values{"reason": {"Support completed."}}, http.StatusSeeOther, "", "closed"},
		{"close again", cc, "/close", url.Values{"reason": {"Twice."}}, http.StatusBadRequest, "", "closed"},
		{"reopen", cc, "/reopen", url.Values{"reason": {"New disclosure."}}, http.StatusSeeOther, "", "open"},
	}
	for _, s := range steps {
		if !s.form.Has("version") {
			s.form.Set("version", version(t))
		}
		r := s.client.post("/console/cases/"+id+s.path, s.form)
		if r.status != s.wantStatus || !strings.Contains(r.body, s.wantBody) {
			t.Fatalf("%s: %d %.1500s", s.name, r.status, r.body)
		}
		if s.wantStatus == http.StatusSeeOther && r.location() != "/console/cases/"+id {
			t.Errorf("%s: redirected to %q", s.name, r.location())
		}
		if got := state(t); got.Status != s.wantCase {
			t.Fatalf("%s: case %+v, want %s", s.name, got, s.wantCase)
		}
	}
	if got := state(t); got.StatusReason != "New disclosure." {
		t.Errorf("reason after reopening: %q", got.StatusReason)
	}
	page := cc.get("/console/cases/" + id)
	if !strings.Contains(page.body, "New disclosure.") || !strings.Contains(page.body, "Close the case") {
		t.Errorf("the case page after reopening: %.2000s", page.body)
	}
}
