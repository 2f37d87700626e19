package main

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// Every create that takes a client-chosen id answers 201 the first time and 200 to a retry, with
// the same record.
func TestRepeatedCreatesAnswer200(t *testing.T) {
	t.Parallel()
	base := server(t).base
	caseID, worker := newCaseWithWorker(t, base)
	itemID := uuid.Must(uuid.NewV7()).String()
	tests := []struct {
		name, path string
		body       any
	}{
		{"case", "/v1/cases", newCase(uuid.Must(uuid.NewV7()).String(), "Child R.")},
		{"run", "/v1/cases/" + caseID + "/runs", map[string]string{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": "child-interview"}},
		{"interview", "/v1/cases/" + caseID + "/interviews", map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "plan": interviewPlan()}},
		{"evidence item", "/v1/cases/" + caseID + "/evidence", newPhone(itemID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := post(t, base, http.MethodPost, tt.path, worker.AccessToken, tt.body)
			mustStatus(t, first, http.StatusCreated)
			again := post(t, base, http.MethodPost, tt.path, worker.AccessToken, tt.body)
			mustStatus(t, again, http.StatusOK)
			var a, b struct{ ID string }
			first.json(t, &a)
			again.json(t, &b)
			if a.ID == "" || a.ID != b.ID {
				t.Errorf("retry answered %q, first %q", b.ID, a.ID)
			}
		})
	}
	t.Run("custody event", func(t *testing.T) {
		e := event("note", map[string]any{"note": "again"})
		path := "/v1/cases/" + caseID + "/evidence/" + itemID + "/events"
		mustStatus(t, post(t, base, http.MethodPost, path, worker.AccessToken, e), http.StatusCreated)
		mustStatus(t, post(t, base, http.MethodPost, path, worker.AccessToken, e), http.StatusOK)
	})
}
