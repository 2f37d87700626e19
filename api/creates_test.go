package main

import (
	"net/http"
	"testing"
	"time"

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

// A log entry sent again with its client id is a retry (200, nothing added); the same client id with
// other content is a reuse: 409 client_id_conflict naming the entry, with the session as held.
func TestInterviewLogClientIDReuse(t *testing.T) {
	t.Parallel()
	base := server(t).base
	caseID, worker := newCaseWithWorker(t, base)
	s := createInterview(t, base, worker.AccessToken, caseID)
	path := "/v1/cases/" + caseID + "/interviews/" + s.ID + "/log"
	at := rfc(time.Now().Add(-time.Minute))
	first := map[string]any{"prompts": []any{map[string]any{"client_id": "p1", "type": "invitation", "words": "Tell me", "recorded_at": at}}}
	sessionCall(t, base, http.MethodPost, path, worker.AccessToken, first, 200)
	if again := sessionCall(t, base, http.MethodPost, path, worker.AccessToken, first, 200); len(again.Prompts) != 1 {
		t.Fatalf("a retry left %d prompts", len(again.Prompts))
	}
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"other words", map[string]any{"prompts": []any{map[string]any{"client_id": "p1", "type": "invitation", "words": "Did he hurt you?", "recorded_at": at}}}, "prompts[0].client_id"},
		{"a break under a prompt's id", map[string]any{"breaks": []any{map[string]any{"client_id": "p1", "started_at": at, "ended_at": rfc(time.Now())}}}, "breaks[0].client_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, base, http.MethodPost, path, worker.AccessToken, tt.body)
			if r.status != http.StatusConflict {
				t.Fatalf("%d %s, want 409", r.status, r.body)
			}
			var p struct {
				Code    string
				Errors  []struct{ Field, Code string }
				Current struct {
					Prompts []struct {
						ClientID string `json:"client_id"`
						Words    string
					}
				}
			}
			r.json(t, &p)
			if p.Code != "client_id_conflict" || len(p.Errors) != 1 || p.Errors[0].Field != tt.field ||
				len(p.Current.Prompts) != 1 || p.Current.Prompts[0].Words != "Tell me" {
				t.Errorf("problem %+v", p)
			}
		})
	}
}
