package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// A value one character over a limit the domain holds is refused by the HTTP layer with the
// localized field error naming the domain's limit (the request bodies name the domain's constants,
// not numbers of their own).
func TestTooLongValuesGiveTheDomainLimit(t *testing.T) {
	t.Parallel()
	base := server(t).base
	caseID, worker := newCaseWithWorker(t, base)
	session := createInterview(t, base, worker.AccessToken, caseID)
	over := func(n int) string { return strings.Repeat("é", n+1) } // characters, not bytes
	longName := newCase(uuid.Must(uuid.NewV7()).String(), over(casework.MaxPseudonymLen))
	longDescription := newPhone(uuid.Must(uuid.NewV7()).String())
	longDescription["description"] = over(evidence.MaxDescriptionLen)
	longPlace := map[string]any{"version": session.Version, "plan": map[string]any{"place": over(interview.MaxPlaceLen)}}
	tests := []struct {
		name, method, path string
		body               any
		field              string
		limit              int
	}{
		{"case pseudonym", http.MethodPost, "/v1/cases", longName, "child.pseudonym", casework.MaxPseudonymLen},
		{"close reason", http.MethodPost, "/v1/cases/" + caseID + "/close", map[string]any{"version": 1, "reason": over(casework.MaxReasonLen)}, "reason", casework.MaxReasonLen},
		{"evidence description", http.MethodPost, "/v1/cases/" + caseID + "/evidence", longDescription, "description", evidence.MaxDescriptionLen},
		{"interview place", http.MethodPatch, "/v1/cases/" + caseID + "/interviews/" + session.ID, longPlace, "plan.place", interview.MaxPlaceLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := post(t, base, tt.method, tt.path+"?lang=es", worker.AccessToken, tt.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("%d %s, want 400", r.status, r.body)
			}
			found := false
			for _, e := range r.problem(t).Errors {
				found = found || e.Field == tt.field && e.Code == "max" && strings.Contains(e.Message, strconv.Itoa(tt.limit)) &&
					!strings.Contains(e.Message, "field.") && !strings.Contains(e.Message, "{{")
			}
			if !found || r.header.Get("Content-Language") != "es" {
				t.Errorf("errors %s (language %q), want %s over %d in Spanish", r.body, r.header.Get("Content-Language"), tt.field, tt.limit)
			}
		})
	}
}
