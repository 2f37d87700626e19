package main

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestWorklistReflectsWritesAtOnce: GET /v1/worklist, answered from the snapshot of the
// organisation's open cases and runs, shows every write of a case or run made before it (opening,
// assignment, a run, a record, closing, reopening), each on the very next request.
func TestWorklistReflectsWritesAtOnce(t *testing.T) {
	t.Parallel()
	base := server(t).base
	org := newOrg(t)
	_, _, sup := org.newUser(t, "supervisor")
	_, _, worker := org.newUser(t, "caseworker")
	worklist := func(t *testing.T) worklistBody {
		t.Helper()
		r := get(t, base, "/v1/worklist", "Authorization: Bearer "+sup.AccessToken)
		if r.status != http.StatusOK {
			t.Fatalf("worklist: %d %s", r.status, r.body)
		}
		var w worklistBody
		r.json(t, &w)
		return w
	}
	overdueOf := func(w worklistBody, caseID string) []string {
		var steps []string
		for _, s := range w.OverdueSteps {
			if s.CaseID == caseID {
				steps = append(steps, s.StepID)
			}
		}
		return steps
	}
	call := func(t *testing.T, method, path, token string, body any, want int) *response {
		t.Helper()
		r := post(t, base, method, path, token, body)
		if r.status != want {
			t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
		}
		return r
	}
	if w := worklist(t); w.OpenCases != 0 { // the snapshot exists before the writes
		t.Fatalf("open cases %d, want 0", w.OpenCases)
	}

	assigned, unassigned, run := uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String()
	var firstOverdue []string
	steps := []struct {
		name  string
		write func(t *testing.T)
		check func(w worklistBody) bool
	}{
		{"a caseworker opens a case", func(t *testing.T) {
			c := newCase(assigned, "Child F.")
			c["opened_at"] = time.Now().Add(-5 * time.Hour).UTC().Format(time.RFC3339)
			call(t, http.MethodPost, "/v1/cases", worker.AccessToken, c, http.StatusCreated)
		}, func(w worklistBody) bool {
			return w.OpenCases == 1 && len(w.Unassigned) == 0 && len(w.Caseload) == 1 && w.Caseload[0].OpenCases == 1
		}},
		{"a supervisor opens an unassigned case", func(t *testing.T) {
			call(t, http.MethodPost, "/v1/cases", sup.AccessToken, newCase(unassigned, "Child G."), http.StatusCreated)
		}, func(w worklistBody) bool {
			return w.OpenCases == 2 && len(w.Unassigned) == 1 && w.Unassigned[0].CaseID == unassigned
		}},
		{"a run starts", func(t *testing.T) {
			call(t, http.MethodPost, "/v1/cases/"+assigned+"/runs", worker.AccessToken,
				map[string]string{"id": run, "protocol_id": "first-contact-safety"}, http.StatusCreated)
		}, func(w worklistBody) bool { firstOverdue = overdueOf(w, assigned); return len(firstOverdue) > 0 }},
		{"an overdue step is recorded", func(t *testing.T) {
			call(t, http.MethodPost, "/v1/cases/"+assigned+"/runs/"+run+"/steps", worker.AccessToken, map[string]any{
				"client_id": "fresh-1", "step_id": firstOverdue[0], "status": "done", "recorded_at": time.Now().UTC().Format(time.RFC3339)}, http.StatusOK)
		}, func(w worklistBody) bool { return slices.Equal(overdueOf(w, assigned), firstOverdue[1:]) }},
		{"the unassigned case is assigned", func(t *testing.T) {
			call(t, http.MethodPatch, "/v1/cases/"+unassigned, sup.AccessToken,
				map[string]any{"version": 1, "caseworker_ids": []string{worker.User.ID}}, http.StatusOK)
		}, func(w worklistBody) bool {
			return len(w.Unassigned) == 0 && len(w.Caseload) == 1 && w.Caseload[0].OpenCases == 2
		}},
		{"the first case is closed", func(t *testing.T) {
			call(t, http.MethodPost, "/v1/cases/"+assigned+"/close", sup.AccessToken, map[string]any{"version": 1, "reason": "Referred on"}, http.StatusOK)
		}, func(w worklistBody) bool { return w.OpenCases == 1 && len(overdueOf(w, assigned)) == 0 }},
		{"it is reopened, with its run", func(t *testing.T) {
			call(t, http.MethodPost, "/v1/cases/"+assigned+"/reopen", sup.AccessToken, map[string]any{"version": 2, "reason": "New disclosure"}, http.StatusOK)
		}, func(w worklistBody) bool {
			return w.OpenCases == 2 && slices.Equal(overdueOf(w, assigned), firstOverdue[1:])
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.write(t)
			if w := worklist(t); !st.check(w) {
				t.Fatalf("not shown at once: %+v", w)
			}
		})
	}
}
