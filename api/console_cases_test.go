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
	for _, c := range []struct{ id, token string }{{mine, worker.AccessToken}, {theirs, sup.AccessToken}} {
		if r := post(t, base, http.MethodPost, "/v1/cases", c.token, newCase(c.id, "Child L.")); r.status != http.StatusCreated {
			t.Fatalf("case: %d %s", r.status, r.body)
		}
	}
	other := newOrg(t)
	_, _, outsider := other.newUser(t, "supervisor")
	foreign := uuid.Must(uuid.NewV7()).String()
	if r := post(t, base, http.MethodPost, "/v1/cases", outsider.AccessToken, newCase(foreign, "Child F.")); r.status != http.StatusCreated {
		t.Fatalf("foreign case: %d %s", r.status, r.body)
	}

	tests := []struct {
		name, user, pass, path string
		status                 int
		want, notWant          []string
	}{
		{"supervisor", supName, supPass, "/console/cases", http.StatusOK, []string{"REF-" + mine[:8], "REF-" + theirs[:8]}, []string{"REF-" + foreign[:8]}},
		{"supervisor filtered", supName, supPass, "/console/cases?status=closed", http.StatusOK, []string{"No cases match."}, []string{"REF-" + mine[:8]}},
		{"caseworker", workerName, workerPass, "/console/cases", http.StatusOK, []string{"REF-" + mine[:8]}, []string{"REF-" + theirs[:8], "REF-" + foreign[:8]}},
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
