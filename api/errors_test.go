package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// A value of the wrong form is named with its field and the form expected, not as a body that is not
// JSON; a missing nested value names itself, not its parent.
func TestErrorsNameTheField(t *testing.T) {
	t.Parallel()
	base := server(t).base
	caseID, worker := newCaseWithWorker(t, base)
	session := createInterview(t, base, worker.AccessToken, caseID)
	itemID := uuid.Must(uuid.NewV7()).String()
	items := "/v1/cases/" + caseID + "/evidence"
	mustStatus(t, post(t, base, http.MethodPost, items, worker.AccessToken, newPhone(itemID)), http.StatusCreated)
	editor := authoringUser(t, base, adminToken(t), "content_editor")
	pid := "errors-" + strings.ToLower(uuid.NewString()[:8])
	untitled := sampleProtocol(pid)
	untitled["phases"].([]any)[0].(map[string]any)["steps"].([]any)[0].(map[string]any)["title"] = ""
	tests := []struct {
		name, method, path, token string
		body                      any
		field, code, mentions     string
	}{
		{"prompt recorded yesterday", http.MethodPost, "/v1/cases/" + caseID + "/interviews/" + session.ID + "/log", worker.AccessToken,
			map[string]any{"prompts": []any{map[string]any{"client_id": "y1", "type": "invitation", "recorded_at": "yesterday"}}},
			"prompts[0].recorded_at", "datetime", "RFC 3339"},
		{"custody event recorded yesterday", http.MethodPost, items + "/" + itemID + "/events", worker.AccessToken,
			map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "type": "note", "recorded_at": "yesterday"}, "recorded_at", "datetime", "RFC 3339"},
		{"step start of a date only", http.MethodPatch, "/v1/cases/" + caseID + "/interviews/" + session.ID, worker.AccessToken,
			map[string]any{"version": 1, "started_at": "2026-05-01"}, "started_at", "datetime", "RFC 3339"},
		{"empty step title", http.MethodPost, "/v1/authoring/drafts", editor.AccessToken,
			map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": pid, "protocol": untitled}, "protocol.step.greet.title", "required", "step.greet.title"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := post(t, base, tt.method, tt.path, tt.token, tt.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("%d %s, want 400", r.status, r.body)
			}
			p := r.problem(t)
			found := false
			for _, e := range p.Errors {
				found = found || e.Field == tt.field && e.Code == tt.code && strings.Contains(e.Message, tt.mentions)
			}
			if !found {
				t.Errorf("errors %+v, want field %s code %s mentioning %q", p.Errors, tt.field, tt.code, tt.mentions)
			}
		})
	}
}
