package main

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
)

type caseBody struct {
	ID              string `json:"id"`
	ReferenceNumber string `json:"reference_number"`
	Status          string `json:"status"`
	Version         int64  `json:"version"`
	CaseworkerIDs   []string
	Child           struct {
		Pseudonym string `json:"pseudonym"`
	} `json:"child"`
}

func newCase(id, pseudonym string) map[string]any {
	return map[string]any{
		"id": id, "reference_number": "REF-" + id[:8],
		"child": map[string]any{"pseudonym": pseudonym, "age_band": "under_6", "gender": "female", "preferred_language": "fr",
			"needs": map[string]any{"interpreter": true, "interpreter_language": "fr", "disability_notes": "uses picture cards for " + pseudonym}},
		"case_types": []string{"grooming"},
	}
}

func TestCaseLifecycle(t *testing.T) {
	t.Parallel()
	base := server(t).base
	_, _, worker := newUser(t, "caseworker")
	_, _, stranger := newUser(t, "caseworker")
	_, _, supervisor := newUser(t, "supervisor")
	id := uuid.Must(uuid.NewV7()).String()
	body := newCase(id, "Child L.")

	r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, body)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created caseBody
	r.json(t, &created)
	if created.Version != 1 || created.Status != "open" || created.Child.Pseudonym != "Child L." {
		t.Fatalf("created %+v", created)
	}
	if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, body); r.status != http.StatusOK {
		t.Errorf("repeated create: %d %s", r.status, r.body)
	}
	other := newCase(id, "Someone else")
	if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, other); r.status != http.StatusConflict {
		t.Errorf("same id, other content: %d", r.status)
	}

	for _, tc := range []struct {
		name  string
		token string
		want  int
	}{{"assigned caseworker", worker.AccessToken, 200}, {"unassigned caseworker", stranger.AccessToken, 404}, {"supervisor", supervisor.AccessToken, 200}} {
		if r := get(t, base, "/v1/cases/"+id, "Authorization: Bearer "+tc.token); r.status != tc.want {
			t.Errorf("%s reads the case: %d, want %d", tc.name, r.status, tc.want)
		}
	}
	var list struct{ Items []caseBody }
	get(t, base, "/v1/cases?status=open&case_type=grooming&age_band=under_6", "Authorization: Bearer "+worker.AccessToken).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != id {
		t.Errorf("caseworker's list = %+v", list.Items)
	}
	get(t, base, "/v1/cases", "Authorization: Bearer "+stranger.AccessToken).json(t, &list)
	if slices.ContainsFunc(list.Items, func(c caseBody) bool { return c.ID == id }) {
		t.Error("an unassigned caseworker lists the case")
	}

	r = post(t, base, http.MethodPatch, "/v1/cases/"+id, worker.AccessToken, map[string]any{"version": 1, "reference_number": "REF-2"})
	if r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	r = post(t, base, http.MethodPatch, "/v1/cases/"+id, supervisor.AccessToken, map[string]any{"version": 1, "reference_number": "REF-3"})
	var conflict struct {
		Code    string
		Current caseBody
	}
	r.json(t, &conflict)
	if r.status != http.StatusConflict || conflict.Current.ReferenceNumber != "REF-2" || conflict.Current.Version != 2 {
		t.Errorf("stale update: %d %s", r.status, r.body)
	}

	if r := post(t, base, http.MethodPost, "/v1/cases/"+id+"/close", supervisor.AccessToken, map[string]any{"version": 2}); r.status != http.StatusBadRequest {
		t.Errorf("close without a reason: %d", r.status)
	}
	r = post(t, base, http.MethodPost, "/v1/cases/"+id+"/close", supervisor.AccessToken, map[string]any{"version": 2, "reason": "Referred on"})
	var closed caseBody
	r.json(t, &closed)
	if r.status != http.StatusOK || closed.Status != "closed" {
		t.Fatalf("close: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPatch, "/v1/cases/"+id, worker.AccessToken, map[string]any{"version": closed.Version, "reference_number": "X"}); r.status != http.StatusBadRequest {
		t.Errorf("update of a closed case: %d", r.status)
	}
	if r := post(t, base, http.MethodPost, "/v1/cases/"+id+"/reopen", worker.AccessToken, map[string]any{"version": closed.Version, "reason": "New disclosure"}); r.status != http.StatusOK {
		t.Errorf("reopen: %d %s", r.status, r.body)
	}
}

func TestProtocolRunOnACase(t *testing.T) {
	t.Parallel()
	base := server(t).base
	_, _, worker := newUser(t, "caseworker")
	caseID := uuid.Must(uuid.NewV7()).String()
	if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(caseID, "Child M.")); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	runID := uuid.Must(uuid.NewV7()).String()
	r := post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/runs", worker.AccessToken, map[string]string{"id": runID, "protocol_id": "child-interview"})
	if r.status != http.StatusCreated {
		t.Fatalf("start run: %d %s", r.status, r.body)
	}
	var run struct {
		ProtocolVersion int `json:"protocol_version"`
		Steps           []struct {
			StepID string `json:"step_id"`
		}
		Progress struct{ Applicable, Done int }
		Records  []any
	}
	r.json(t, &run)
	var ids []string
	for _, st := range run.Steps {
		ids = append(ids, st.StepID)
	}
	if run.ProtocolVersion < 1 || !slices.Contains(ids, "adapt-for-under-6") || !slices.Contains(ids, "brief-interpreter") || slices.Contains(ids, "brief-support-person") {
		t.Fatalf("applicable steps for an under-6 with an interpreter: %v", ids)
	}
	record := map[string]any{"client_id": "rec-1", "step_id": "gather-known-information", "status": "done", "note": "Checked the referral", "recorded_at": time.Now().UTC().Format(time.RFC3339)}
	for i := 0; i < 2; i++ { // a retry after a lost response adds nothing
		r = post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/runs/"+runID+"/steps", worker.AccessToken, record)
		if r.status != http.StatusOK {
			t.Fatalf("record: %d %s", r.status, r.body)
		}
	}
	r.json(t, &run)
	if len(run.Records) != 1 || run.Progress.Done != 1 {
		t.Errorf("records %d, done %d", len(run.Records), run.Progress.Done)
	}
	bad := []map[string]any{
		{"client_id": "rec-2", "step_id": "gather-known-information", "status": "skipped", "recorded_at": time.Now().UTC().Format(time.RFC3339)},
		{"client_id": "rec-3", "step_id": "no-such-step", "status": "done", "recorded_at": time.Now().UTC().Format(time.RFC3339)},
		{"client_id": "rec-4", "step_id": "gather-known-information", "status": "done", "recorded_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
		{"client_id": "rec-5", "step_id": "gather-known-information", "status": "finished", "recorded_at": time.Now().UTC().Format(time.RFC3339)},
	}
	for _, b := range bad {
		if r := post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/runs/"+runID+"/steps", worker.AccessToken, b); r.status != http.StatusBadRequest {
			t.Errorf("bad record %v: %d %s", b, r.status, r.body)
		}
	}
	var runs struct{ Items []struct{ ID string } }
	get(t, base, "/v1/cases/"+caseID+"/runs", "Authorization: Bearer "+worker.AccessToken).json(t, &runs)
	if len(runs.Items) != 1 || runs.Items[0].ID != runID {
		t.Errorf("runs = %+v", runs)
	}
}

// Free text and identifying fields are stored encrypted: the raw database holds none of them.
func TestCaseDataIsEncryptedAtRest(t *testing.T) {
	t.Parallel()
	s := server(t)
	_, _, worker := newUser(t, "caseworker")
	caseID := uuid.Must(uuid.NewV7()).String()
	pseudonym := "Zebedee-Quill-7731"
	if r := post(t, s.base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(caseID, pseudonym)); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	runID := uuid.Must(uuid.NewV7()).String()
	post(t, s.base, http.MethodPost, "/v1/cases/"+caseID+"/runs", worker.AccessToken, map[string]string{"id": runID, "protocol_id": "first-contact-safety"})
	var run struct {
		Steps []struct {
			StepID string `json:"step_id"`
		}
	}
	get(t, s.base, "/v1/cases/"+caseID+"/runs/"+runID, "Authorization: Bearer "+worker.AccessToken).json(t, &run)
	note := "Quokka-note-5521 said at school"
	r := post(t, s.base, http.MethodPost, "/v1/cases/"+caseID+"/runs/"+runID+"/steps", worker.AccessToken, map[string]any{
		"client_id": "n1", "step_id": run.Steps[0].StepID, "status": "done", "note": note, "recorded_at": time.Now().UTC().Format(time.RFC3339)})
	if r.status != http.StatusOK {
		t.Fatalf("record: %d %s", r.status, r.body)
	}
	db := rawDatabase(t, s)
	secrets := []string{pseudonym, "REF-" + caseID[:8], "picture cards", "Quokka-note-5521"}
	for _, coll := range []string{"cases", "runs"} {
		cur, err := db.Collection(coll).Find(context.Background(), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for cur.Next(context.Background()) {
			n++
			for _, secret := range secrets {
				if bytes.Contains(cur.Current, []byte(secret)) {
					t.Errorf("%s holds %q in plain text", coll, secret)
				}
			}
		}
		if n == 0 {
			t.Errorf("no documents in %s: the test looks at the wrong place", coll)
		}
	}
	var c caseBody
	get(t, s.base, "/v1/cases/"+caseID, "Authorization: Bearer "+worker.AccessToken).json(t, &c)
	if c.Child.Pseudonym != pseudonym {
		t.Errorf("the API does not give the pseudonym back: %q", c.Child.Pseudonym)
	}
}

// envOf returns the environment value the shared server was started with, or def.
func envOf(_ *testServer, key, def string) string {
	if v := sharedEnv[key]; v != "" {
		return v
	}
	return def
}

// Bad case input: a localized problem with the field, and no case created.
func TestBadCaseInput(t *testing.T) {
	t.Parallel()
	base := server(t).base
	_, _, worker := newUser(t, "caseworker")
	tests := []struct {
		name   string
		mutate func(map[string]any)
		field  string
		label  string // in the Spanish message, when checked
	}{
		{"invalid uuid", func(b map[string]any) { b["id"] = "not-a-uuid" }, "id", ""},
		{"unknown case type", func(b map[string]any) { b["case_types"] = []string{"grooming", "phishing"} }, "case_types[1]", "tipos de caso"},
		{"unknown age band", func(b map[string]any) { b["child"].(map[string]any)["age_band"] = "teen" }, "child.age_band", "franja de edad"},
		{"birth year in the future", func(b map[string]any) { b["child"].(map[string]any)["birth_year"] = time.Now().Year() + 1 }, "child.birth_year", ""},
		{"opened in the future", func(b map[string]any) { b["opened_at"] = time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339) }, "opened_at", ""},
		{"operator in a nested value", func(b map[string]any) { b["child"].(map[string]any)["pseudonym"] = map[string]any{"$ne": ""} }, "child.pseudonym.$ne", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := uuid.Must(uuid.NewV7()).String()
			body := newCase(id, "Child B.")
			tt.mutate(body)
			r := post(t, base, http.MethodPost, "/v1/cases?lang=es", worker.AccessToken, body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			p := r.problem(t)
			if !slices.ContainsFunc(p.Errors, func(e struct{ Field, Code, Message string }) bool {
				return e.Field == tt.field && strings.Contains(e.Message, tt.label)
			}) {
				t.Errorf("no error for %s naming %q in %+v", tt.field, tt.label, p.Errors)
			}
			if r := get(t, base, "/v1/cases/"+id, "Authorization: Bearer "+worker.AccessToken); r.status != http.StatusNotFound {
				t.Errorf("the refused case exists: %d", r.status)
			}
		})
	}
}

// Assigned caseworkers and supervisors must be active users of the organisation with that role; a
// caseworker assigned by a supervisor then sees the case.
func TestCaseAssignments(t *testing.T) {
	t.Parallel()
	base := server(t).base
	_, _, supervisor := newUser(t, "supervisor")
	_, _, worker := newUser(t, "caseworker")
	tests := []struct {
		name        string
		caseworkers []string
		supervisor  string
		wantStatus  int
	}{
		{"unknown caseworker", []string{"01a21c00-0000-7000-8000-000000000000"}, "", 400},
		{"a supervisor is not a caseworker", []string{supervisor.User.ID}, "", 400},
		{"a caseworker is not a supervisor", []string{worker.User.ID}, worker.User.ID, 400},
		{"valid assignment", []string{worker.User.ID}, supervisor.User.ID, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := uuid.Must(uuid.NewV7()).String()
			body := newCase(id, "Child A.")
			body["caseworker_ids"] = tt.caseworkers
			body["supervisor_id"] = tt.supervisor
			r := post(t, base, http.MethodPost, "/v1/cases", supervisor.AccessToken, body)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if tt.wantStatus == 400 {
				if p := r.problem(t); !slices.ContainsFunc(p.Errors, func(e struct{ Field, Code, Message string }) bool { return e.Code == "unknown_user" }) {
					t.Errorf("errors %+v", p.Errors)
				}
				return
			}
			if r := get(t, base, "/v1/cases/"+id, "Authorization: Bearer "+worker.AccessToken); r.status != http.StatusOK {
				t.Errorf("the assigned caseworker reads the case: %d", r.status)
			}
		})
	}
}
