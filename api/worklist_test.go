package main

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

type worklistBody struct {
	OpenCases int `json:"open_cases"`
	Reviews   []struct {
		CaseID          string   `json:"case_id"`
		InterviewID     string   `json:"interview_id"`
		InterviewerName string   `json:"interviewer_name"`
		Flags           []string `json:"flags"`
	} `json:"reviews"`
	OverdueSteps []struct {
		CaseID      string    `json:"case_id"`
		StepID      string    `json:"step_id"`
		DueAt       time.Time `json:"due_at"`
		AssigneeIDs []string  `json:"assignee_ids"`
	} `json:"overdue_steps"`
	Unassigned []struct {
		CaseID string `json:"case_id"`
	} `json:"unassigned_cases"`
	EvidenceProblems []struct {
		ItemID     string `json:"item_id"`
		SealBroken bool   `json:"seal_broken"`
	} `json:"evidence_problems"`
	Returned []struct {
		InterviewID string `json:"interview_id"`
	} `json:"returned_interviews"`
	Caseload []struct {
		UserID       string `json:"user_id"`
		DisplayName  string `json:"display_name"`
		OpenCases    int    `json:"open_cases"`
		OverdueSteps int    `json:"overdue_steps"`
	} `json:"caseload"`
}

// conductInterview creates an interview on caseID and logs a short one: started two hours ago, six
// prompts of every type (one suggestive), a wellbeing check and a break, ended. It returns the
// session, ready to submit.
func conductInterview(t *testing.T, base, token, caseID string) sessionBody {
	t.Helper()
	s := createInterview(t, base, token, caseID)
	path := "/v1/cases/" + caseID + "/interviews/" + s.ID
	t0 := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	s = sessionCall(t, base, http.MethodPatch, path, token, map[string]any{"version": s.Version, "started_at": rfc(t0)}, 200)
	var prompts []map[string]any
	for i, typ := range []string{"invitation", "invitation", "cued_invitation", "directive", "option_posing", "suggestive"} {
		prompts = append(prompts, map[string]any{"client_id": "p-" + strconv.Itoa(i), "type": typ, "words": "Prompt words " + strconv.Itoa(i),
			"recorded_at": rfc(t0.Add(time.Duration(2+i) * time.Minute))})
	}
	sessionCall(t, base, http.MethodPost, path+"/log", token, map[string]any{"prompts": prompts,
		"wellbeing_checks": []map[string]any{{"client_id": "w-1", "checked_at": rfc(t0.Add(10 * time.Minute)), "note": "Asked for water"}},
		"breaks":           []map[string]any{{"client_id": "b-1", "started_at": rfc(t0.Add(11 * time.Minute)), "ended_at": rfc(t0.Add(15 * time.Minute)), "note": "Team consulted"}}}, 200)
	return sessionCall(t, base, http.MethodPatch, path, token, map[string]any{"version": s.Version, "ended_at": rfc(t0.Add(30 * time.Minute))}, 200)
}

// worklistOrg is an organisation of its own (the worklist covers everything an organisation holds)
// with a supervisor and a caseworker, and one of each thing a worklist lists.
type worklistOrg struct {
	org                            testOrg
	supervisor, worker             tokens
	supervisorName, supervisorPass string
	assigned, unassigned           string // case ids
	submitted, returned            string // interview ids
	item                           string // evidence item with a broken seal
}

func newWorklistOrg(t *testing.T) worklistOrg {
	t.Helper()
	base := server(t).base
	o := worklistOrg{org: newOrg(t)}
	o.supervisorName, o.supervisorPass, o.supervisor = o.org.newUser(t, "supervisor")
	_, _, o.worker = o.org.newUser(t, "caseworker")
	o.assigned, o.unassigned = uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String()
	opened := newCase(o.assigned, "Child W.")
	opened["opened_at"] = time.Now().Add(-5 * time.Hour).UTC().Format(time.RFC3339)
	if r := post(t, base, http.MethodPost, "/v1/cases", o.worker.AccessToken, opened); r.status != http.StatusCreated {
		t.Fatalf("case: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/cases", o.supervisor.AccessToken, newCase(o.unassigned, "Child U.")); r.status != http.StatusCreated {
		t.Fatalf("unassigned case: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/cases/"+o.assigned+"/runs", o.worker.AccessToken,
		map[string]string{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": "first-contact-safety"}); r.status != http.StatusCreated {
		t.Fatalf("run: %d %s", r.status, r.body)
	}
	for i, id := range []*string{&o.submitted, &o.returned} {
		s := conductInterview(t, base, o.worker.AccessToken, o.assigned)
		*id = s.ID
		path := "/v1/cases/" + o.assigned + "/interviews/" + s.ID
		s = sessionCall(t, base, http.MethodPost, path+"/submit", o.worker.AccessToken, map[string]any{"version": s.Version}, 200)
		if i == 1 {
			sessionCall(t, base, http.MethodPost, path+"/review", o.supervisor.AccessToken,
				map[string]any{"version": s.Version, "decision": "return", "comment": "Please complete the closing."}, 200)
		}
	}
	o.item = uuid.Must(uuid.NewV7()).String()
	items := "/v1/cases/" + o.assigned + "/evidence"
	if r := post(t, base, http.MethodPost, items, o.worker.AccessToken, newPhone(o.item)); r.status != http.StatusCreated {
		t.Fatalf("evidence: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, items+"/"+o.item+"/events", o.worker.AccessToken,
		event("sealed", map[string]any{"seal_number": "S-9", "seal_intact": false})); r.status != http.StatusCreated {
		t.Fatalf("seal: %d %s", r.status, r.body)
	}
	return o
}

// GET /v1/worklist lists, for a supervisor of the organisation only, what waits: the interview
// waiting for review, the overdue steps of the run started five hours after first contact, the case
// with no caseworker, the item whose seal was found broken, the returned interview, and the
// caseworker's load; the reads are audited; the console's home page shows the same worklist.
func TestWorklist(t *testing.T) {
	t.Parallel()
	base := server(t).base
	o := newWorklistOrg(t)

	r := get(t, base, "/v1/worklist", "Authorization: Bearer "+o.supervisor.AccessToken)
	if r.status != http.StatusOK || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("worklist: %d %s", r.status, r.body)
	}
	var w worklistBody
	r.json(t, &w)
	if w.OpenCases != 2 {
		t.Errorf("open cases %d, want 2", w.OpenCases)
	}
	if len(w.Reviews) != 1 || w.Reviews[0].InterviewID != o.submitted || w.Reviews[0].InterviewerName == "" || w.Reviews[0].Flags == nil {
		t.Errorf("reviews %+v, want the submitted interview with its interviewer's name", w.Reviews)
	}
	if len(w.OverdueSteps) == 0 {
		t.Fatal("no overdue steps, yet the run's one-hour steps are five hours past first contact")
	}
	for i, s := range w.OverdueSteps {
		if s.CaseID != o.assigned || !slices.Equal(s.AssigneeIDs, []string{o.worker.User.ID}) || s.DueAt.After(time.Now()) {
			t.Errorf("overdue step %+v", s)
		}
		if i > 0 && s.DueAt.Before(w.OverdueSteps[i-1].DueAt) {
			t.Error("overdue steps are not by due time")
		}
	}
	if len(w.Unassigned) != 1 || w.Unassigned[0].CaseID != o.unassigned {
		t.Errorf("unassigned %+v, want %s", w.Unassigned, o.unassigned)
	}
	if len(w.EvidenceProblems) != 1 || w.EvidenceProblems[0].ItemID != o.item || !w.EvidenceProblems[0].SealBroken {
		t.Errorf("evidence problems %+v", w.EvidenceProblems)
	}
	if len(w.Returned) != 1 || w.Returned[0].InterviewID != o.returned {
		t.Errorf("returned %+v", w.Returned)
	}
	if len(w.Caseload) != 1 || w.Caseload[0].UserID != o.worker.User.ID || w.Caseload[0].OpenCases != 1 ||
		w.Caseload[0].OverdueSteps != len(w.OverdueSteps) || w.Caseload[0].DisplayName == "" {
		t.Errorf("caseload %+v", w.Caseload)
	}

	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"caseworker", o.worker.AccessToken, http.StatusForbidden},
		{"admin", o.org.admin, http.StatusForbidden},
		{"unknown parameter", o.supervisor.AccessToken + "?x", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "unknown parameter" {
				if r := get(t, base, "/v1/worklist?x=1", "Authorization: Bearer "+o.supervisor.AccessToken); r.status != http.StatusBadRequest {
					t.Errorf("an unknown parameter: %d", r.status)
				}
				return
			}
			if r := get(t, base, "/v1/worklist", "Authorization: Bearer "+tc.token); r.status != tc.status {
				t.Errorf("%d, want %d", r.status, tc.status)
			}
		})
	}

	other := newOrg(t)
	_, _, outsider := other.newUser(t, "supervisor")
	var elsewhere worklistBody
	get(t, base, "/v1/worklist", "Authorization: Bearer "+outsider.AccessToken).json(t, &elsewhere)
	if elsewhere.OpenCases != 0 || len(elsewhere.Reviews)+len(elsewhere.OverdueSteps)+len(elsewhere.EvidenceProblems)+len(elsewhere.Returned) != 0 {
		t.Errorf("another organisation's supervisor sees %+v", elsewhere)
	}

	var audit struct {
		Items []struct {
			Action  string `json:"action"`
			ActorID string `json:"actor_id"`
		} `json:"items"`
	}
	get(t, base, "/v1/audit?limit=200&actor_id="+o.supervisor.User.ID, "Authorization: Bearer "+o.supervisor.AccessToken).json(t, &audit)
	seen := map[string]bool{}
	for _, e := range audit.Items {
		if e.ActorID == o.supervisor.User.ID {
			seen[e.Action] = true
		}
	}
	for _, action := range []string{"interview.review_queue", "case.overview", "evidence.problem_list", "interview.returned_list"} {
		if !seen[action] {
			t.Errorf("the worklist read is not audited as %s", action)
		}
	}

	cc := consoleSignIn(t, base, o.supervisorName, o.supervisorPass)
	page := cc.get("/console/")
	if page.status != http.StatusOK {
		t.Fatalf("console home: %d %.300s", page.status, page.body)
	}
	for _, want := range []string{"Interviews waiting for review", "/console/cases/" + o.assigned + "/interviews/" + o.submitted,
		o.unassigned, o.item, "seal broken", "/console/cases/" + o.assigned + "/interviews/" + o.returned, w.Caseload[0].DisplayName} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the console's worklist lacks %q", want)
		}
	}
	if strings.Contains(page.body, "Child W.") || strings.Contains(page.body, "REF-") {
		t.Error("the worklist shows child data")
	}

	coaching := cc.get("/console/coaching?interviewer=" + o.worker.User.ID)
	if coaching.status != http.StatusOK {
		t.Fatalf("coaching page: %d %.300s", coaching.status, coaching.body)
	}
	for _, want := range []string{`<svg class="chart"`, `<polyline class="own"`, `<polyline class="org"`, `<table id="coaching">`, w.Caseload[0].DisplayName} {
		if !strings.Contains(coaching.body, want) {
			t.Errorf("the coaching page lacks %q", want)
		}
	}
	if r := cc.get("/console/coaching?interviewer=not-a-user-id-" + strings.Repeat("x", 200)); r.status != http.StatusBadRequest {
		t.Errorf("coaching of a malformed id: %d", r.status)
	}
}
