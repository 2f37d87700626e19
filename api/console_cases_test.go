package main

import (
	"net/http"
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
			shown := strings.Contains(r.body, "Child P.")
			if shown != (tc.status == http.StatusOK) {
				t.Errorf("the child's pseudonym shown: %v", shown)
			}
		})
	}
}
