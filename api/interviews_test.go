package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// sessionBody is the part of an InterviewSession the tests look at.
type sessionBody struct {
	ID            string   `json:"id"`
	CaseID        string   `json:"case_id"`
	InterviewerID string   `json:"interviewer_id"`
	Status        string   `json:"status"`
	Version       int64    `json:"version"`
	Locale        string   `json:"locale"`
	LogOpen       bool     `json:"log_open"`
	Needs         []string `json:"needs"`
	Plan          struct {
		Place        string `json:"place"`
		Participants []struct {
			Role, Name, Language string
		} `json:"participants"`
	} `json:"plan"`
	SubmittedAt *time.Time          `json:"submitted_at"`
	ApprovedAt  *time.Time          `json:"approved_at"`
	ApprovedBy  string              `json:"approved_by"`
	Checklist   []checklistStepBody `json:"checklist"`
	Prompts     []struct {
		ClientID string `json:"client_id"`
		Type     string `json:"type"`
		Words    string `json:"words"`
	} `json:"prompts"`
	Breaks          []any          `json:"breaks"`
	WellbeingChecks []any          `json:"wellbeing_checks"`
	ChecklistMarks  []any          `json:"checklist_marks"`
	Quality         qualityBody    `json:"quality"`
	Reviews         []reviewBody   `json:"reviews"`
	Addenda         []addendumBody `json:"addenda"`
}

type checklistStepBody struct {
	PhaseID    string   `json:"phase_id"`
	PhaseTitle string   `json:"phase_title"`
	StepID     string   `json:"step_id"`
	Required   bool     `json:"required"`
	Phrasings  []string `json:"phrasings"`
	Items      []struct {
		ID     string `json:"id"`
		Text   string `json:"text"`
		Latest *struct {
			Done bool `json:"done"`
		} `json:"latest"`
	} `json:"items"`
}

type qualityBody struct {
	Measures struct {
		Prompts               int            `json:"prompts"`
		ByType                map[string]int `json:"by_type"`
		OpenPrompts           int            `json:"open_prompts"`
		OpenShare             *float64       `json:"open_share"`
		Breaks                int            `json:"breaks"`
		WellbeingChecks       int            `json:"wellbeing_checks"`
		DurationMinutes       *float64       `json:"duration_minutes"`
		MinutesWithoutBreak   *float64       `json:"minutes_without_break"`
		PhasesNotDone         []string       `json:"phases_not_done"`
		InterviewNumber       int            `json:"interview_number"`
		InterpreterNeeded     bool           `json:"interpreter_needed"`
		InterpreterPresent    bool           `json:"interpreter_present"`
		ChecklistItemsNotDone int            `json:"checklist_items_not_done"`
	} `json:"measures"`
	Flags []flagBody `json:"flags"`
}

type flagBody struct {
	Code      string  `json:"code"`
	Severity  string  `json:"severity"`
	Message   string  `json:"message"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	PhaseID   *string `json:"phase_id"`
}

type reviewBody struct {
	Decision     string `json:"decision"`
	Comment      string `json:"comment"`
	ByUserID     string `json:"by_user_id"`
	ItemComments []struct {
		StepID, ItemID, Comment string
	} `json:"item_comments"`
}

type addendumBody struct {
	ID, Text string
}

func flagCodes(fs []flagBody) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Code
	}
	return out
}

// interviewCase creates a case of a 5-year-old who needs a French interpreter, assigned to worker.
func interviewCase(t *testing.T, base, token string) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	if r := post(t, base, http.MethodPost, "/v1/cases", token, newCase(id, "Child I.")); r.status != http.StatusCreated {
		t.Fatalf("creating the case: %d %s", r.status, r.body)
	}
	return id
}

func interviewPlan() map[string]any {
	return map[string]any{
		"scheduled_at": time.Now().UTC().Add(-3 * time.Hour).Format(time.RFC3339), "place": "Child-friendly room 2", "child_friendly_room": true,
		"participants": []map[string]any{{"role": "interviewer", "name": "A. Mensah"}, {"role": "interpreter", "name": "Certified interpreter", "language": "fr"},
			{"role": "observer", "name": "Investigator on the team"}},
		"recording": map[string]any{"recorded": true, "device": "Room 2 camera", "file_name": "interview-2.mp4", "sha256": strings.Repeat("0f", 32)},
		"consent":   map[string]any{"child_informed": true, "caregiver_informed": true, "consent_obtained": true, "notes": "Explained with picture cards"},
	}
}

// createInterview creates a session on caseID and returns it.
func createInterview(t *testing.T, base, token, caseID string) sessionBody {
	t.Helper()
	r := post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/interviews?lang=fr", token,
		map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "plan": interviewPlan()})
	if r.status != http.StatusCreated {
		t.Fatalf("creating the interview: %d %s", r.status, r.body)
	}
	var s sessionBody
	r.json(t, &s)
	return s
}

// sessionCall sends body to a session route and decodes the session; it fails unless the status is want.
func sessionCall(t *testing.T, base, method, path, token string, body any, want int) sessionBody {
	t.Helper()
	r := post(t, base, method, path, token, body)
	if r.status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.status, want, r.body)
	}
	var s sessionBody
	if want < 300 {
		r.json(t, &s)
	}
	return s
}

// problemCode sends body and returns the status and problem code.
func problemCode(t *testing.T, base, method, path, token string, body any) (int, string) {
	t.Helper()
	r := post(t, base, method, path, token, body)
	if r.status < 400 {
		return r.status, ""
	}
	return r.status, r.problem(t).Code
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// The "done when": a full interview of a 5-year-old with an interpreter (plan, phases, 40
// prompts of mixed types, a break, closing) is submitted, returned with a comment, fixed, resubmitted
// and approved by a supervisor who is not the interviewer; the flags and measures are the
// hand-computed ones; the approved session cannot be changed and addenda keep the original.
func TestInterviewDoneWhen(t *testing.T) {
	t.Parallel()
	base := server(t).base
	_, _, worker := newUser(t, "caseworker")
	_, _, supervisor := newUser(t, "supervisor")
	caseID := interviewCase(t, base, worker.AccessToken)
	s := createInterview(t, base, worker.AccessToken, caseID)
	path := "/v1/cases/" + caseID + "/interviews/" + s.ID

	// The checklist: the steps for an under-6 with an interpreter, in French, with under-6 phrasings.
	if s.Status != "draft" || s.Version != 1 || s.InterviewerID != worker.User.ID || s.Locale != "fr" || !s.LogOpen {
		t.Fatalf("created %+v", s)
	}
	var steps []string
	for _, st := range s.Checklist {
		steps = append(steps, st.StepID)
	}
	for _, want := range []string{"adapt-for-under-6", "brief-interpreter", "introduce-others-present", "build-rapport", "close-on-neutral-topic"} {
		if !slices.Contains(steps, want) {
			t.Errorf("the checklist lacks %s: %v", want, steps)
		}
	}
	if slices.Contains(steps, "brief-support-person") || slices.Contains(steps, "prepare-for-disability") {
		t.Errorf("the checklist holds steps that do not apply: %v", steps)
	}
	var doc struct {
		Phases []struct {
			Steps []struct {
				ID        string
				Phrasings map[string][]string
			}
		}
	}
	get(t, base, "/v1/protocols/child-interview?lang=fr&age_band=under_6&needs=interpreter").json(t, &doc)
	for _, ph := range doc.Phases {
		for _, st := range ph.Steps {
			if st.ID != "build-rapport" {
				continue
			}
			i := slices.IndexFunc(s.Checklist, func(c checklistStepBody) bool { return c.StepID == "build-rapport" })
			if i < 0 || !slices.Equal(s.Checklist[i].Phrasings, st.Phrasings["under_6"]) || len(st.Phrasings["under_6"]) == 0 {
				t.Errorf("rapport phrasings %v, want the French under-6 ones %v", s.Checklist[i].Phrasings, st.Phrasings["under_6"])
			}
		}
	}

	// Start; then the log: every checklist item done except the closing record, one optional item
	// not done with a reason, 40 prompts in two batches (one sent twice), a wellbeing check, a break.
	t0 := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	s = sessionCall(t, base, http.MethodPatch, path, worker.AccessToken, map[string]any{"version": 1, "started_at": rfc(t0)}, 200)
	var marks []map[string]any
	for _, st := range s.Checklist {
		for _, it := range st.Items {
			m := map[string]any{"client_id": "m-" + st.StepID + "-" + it.ID, "step_id": st.StepID, "item_id": it.ID, "done": true, "recorded_at": rfc(t0.Add(time.Minute))}
			switch {
			case st.StepID == "close-on-neutral-topic" && it.ID == "record-complete":
				continue
			case st.StepID == "support-reluctant-child" && it.ID == "break-offered":
				m["done"], m["reason"] = false, "The child was settled and did not need it"
			}
			marks = append(marks, m)
		}
	}
	types := slices.Concat(slices.Repeat([]string{"invitation"}, 18), slices.Repeat([]string{"cued_invitation"}, 8),
		slices.Repeat([]string{"directive"}, 8), slices.Repeat([]string{"option_posing"}, 4), slices.Repeat([]string{"suggestive"}, 2))
	phases := map[string]string{"invitation": "free-recall", "cued_invitation": "questioning", "directive": "questioning", "option_posing": "questioning", "suggestive": "questioning"}
	var prompts []map[string]any
	for i, typ := range types {
		minute := 2 + i
		if i >= 20 {
			minute = 16 + i // after the break: minutes 36 to 55
		}
		prompts = append(prompts, map[string]any{"client_id": fmt.Sprintf("p-%02d", i), "type": typ, "phase_id": phases[typ],
			"words": fmt.Sprintf("Prompt %d words", i), "recorded_at": rfc(t0.Add(time.Duration(minute) * time.Minute))})
	}
	first := map[string]any{"prompts": prompts[:20], "checklist": marks,
		"wellbeing_checks": []map[string]any{{"client_id": "w-1", "checked_at": rfc(t0.Add(24 * time.Minute)), "note": "Asked for water"}},
		"breaks":           []map[string]any{{"client_id": "b-1", "started_at": rfc(t0.Add(25 * time.Minute)), "ended_at": rfc(t0.Add(35 * time.Minute)), "note": "Team consulted"}}}
	sessionCall(t, base, http.MethodPost, path+"/log", worker.AccessToken, first, 200)
	sessionCall(t, base, http.MethodPost, path+"/log", worker.AccessToken, first, 200) // a retry adds nothing
	s = sessionCall(t, base, http.MethodPost, path+"/log", worker.AccessToken, map[string]any{"prompts": prompts[20:]}, 200)
	s = sessionCall(t, base, http.MethodPatch, path+"?lang=fr", worker.AccessToken, map[string]any{"version": 2, "ended_at": rfc(t0.Add(60 * time.Minute))}, 200)
	if s.Version != 3 || len(s.Prompts) != 40 || len(s.Breaks) != 1 || len(s.WellbeingChecks) != 1 || len(s.ChecklistMarks) != len(marks) {
		t.Fatalf("after logging: version %d, %d prompts, %d breaks, %d checks, %d marks (sent %d)", s.Version, len(s.Prompts), len(s.Breaks),
			len(s.WellbeingChecks), len(s.ChecklistMarks), len(marks))
	}

	// Hand-computed: 26 open of 40 (0.65); 2 suggestive; closing not done; 25 minutes at most without
	// a break (start to break, break to end), under the 30 of an under-6; interpreter present; first
	// interview; 4 option-posing of 40 (0.1) is under 0.2.
	checkQuality := func(q qualityBody, wantFlags []string) {
		t.Helper()
		m := q.Measures
		want := map[string]int{"invitation": 18, "cued_invitation": 8, "directive": 8, "option_posing": 4, "suggestive": 2}
		if m.Prompts != 40 || m.OpenPrompts != 26 || m.OpenShare == nil || *m.OpenShare != 0.65 || fmt.Sprint(m.ByType) != fmt.Sprint(want) {
			t.Errorf("prompt measures %+v", m)
		}
		if m.Breaks != 1 || m.WellbeingChecks != 1 || m.DurationMinutes == nil || *m.DurationMinutes != 60 || m.MinutesWithoutBreak == nil ||
			*m.MinutesWithoutBreak != 25 || m.InterviewNumber != 1 || !m.InterpreterNeeded || !m.InterpreterPresent || m.ChecklistItemsNotDone != 1 {
			t.Errorf("measures %+v", m)
		}
		if got := flagCodes(q.Flags); !slices.Equal(got, wantFlags) {
			t.Errorf("flags %v, want %v", got, wantFlags)
		}
	}
	checkQuality(s.Quality, []string{"suggestive_prompts", "required_phase_not_done"})
	sug, phase := s.Quality.Flags[0], s.Quality.Flags[1]
	if sug.Severity != "high" || sug.Value != 2 || sug.Threshold != 0 || !strings.Contains(sug.Message, "2") {
		t.Errorf("suggestive flag %+v", sug)
	}
	closingTitle := ""
	for _, st := range s.Checklist {
		if st.PhaseID == "closing" {
			closingTitle = st.PhaseTitle
		}
	}
	if phase.PhaseID == nil || *phase.PhaseID != "closing" || phase.Severity != "high" || closingTitle == "" || !strings.Contains(phase.Message, closingTitle) ||
		!slices.Equal(s.Quality.Measures.PhasesNotDone, []string{"closing"}) {
		t.Errorf("phase flag %+v (closing is %q in French)", phase, closingTitle)
	}

	// Submit: the log closes; nothing changes any more.
	s = sessionCall(t, base, http.MethodPost, path+"/submit", worker.AccessToken, map[string]any{"version": 3}, 200)
	if s.Status != "submitted" || s.Version != 4 || s.SubmittedAt == nil || s.LogOpen {
		t.Fatalf("submitted %+v", s)
	}
	late := map[string]any{"prompts": []map[string]any{{"client_id": "p-late", "type": "directive", "recorded_at": rfc(t0.Add(59 * time.Minute))}}}
	if st, code := problemCode(t, base, http.MethodPost, path+"/log", worker.AccessToken, late); st != 400 || code != "interview_locked" {
		t.Errorf("logging on a submitted interview: %d %s", st, code)
	}
	if st, code := problemCode(t, base, http.MethodPost, path+"/review", worker.AccessToken, map[string]any{"version": 4, "decision": "approve"}); st != 403 || code != "forbidden" {
		t.Errorf("a caseworker reviews: %d %s", st, code)
	}

	// The queue shows it with its flags, oldest submission first.
	var queue struct {
		Items []struct {
			ID               string       `json:"id"`
			SubmittedAt      time.Time    `json:"submitted_at"`
			SubmittedQuality *qualityBody `json:"submitted_quality"`
		}
		NextCursor *string `json:"next_cursor"`
	}
	get(t, base, "/v1/interviews/review-queue?limit=200", "Authorization: Bearer "+supervisor.AccessToken).json(t, &queue)
	found := false
	for i, it := range queue.Items {
		if i > 0 && it.SubmittedAt.Before(queue.Items[i-1].SubmittedAt) {
			t.Errorf("the queue is not oldest first at %d", i)
		}
		if it.ID == s.ID {
			found = true
			if it.SubmittedQuality == nil || !slices.Equal(flagCodes(it.SubmittedQuality.Flags), []string{"suggestive_prompts", "required_phase_not_done"}) {
				t.Errorf("queued with %+v", it.SubmittedQuality)
			}
		}
	}
	if !found {
		t.Errorf("the submitted interview is not in the queue")
	}
	seen, cursor := map[string]bool{}, ""
	for range 200 { // one item a page, following next_cursor, never repeats an item
		q := "/v1/interviews/review-queue?limit=1"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		get(t, base, q, "Authorization: Bearer "+supervisor.AccessToken).json(t, &queue)
		for _, it := range queue.Items {
			if seen[it.ID] {
				t.Errorf("page after %s repeats %s", cursor, it.ID)
			}
			seen[it.ID] = true
		}
		if queue.NextCursor == nil {
			break
		}
		cursor = *queue.NextCursor
	}
	if !seen[s.ID] {
		t.Errorf("paging through the queue never reached the interview")
	}
	if r := get(t, base, "/v1/interviews/review-queue?cursor=bm9wZQ", "Authorization: Bearer "+supervisor.AccessToken); r.status != 400 {
		t.Errorf("a cursor the service did not issue: %d", r.status)
	}

	// Returned with a comment on the closing record item.
	ret := map[string]any{"version": 4, "decision": "return", "comment": "Please complete the closing.",
		"item_comments": []map[string]any{{"step_id": "close-on-neutral-topic", "item_id": "record-complete", "comment": "The interview record is missing."}}}
	s = sessionCall(t, base, http.MethodPost, path+"/review", supervisor.AccessToken, ret, 200)
	if s.Status != "returned" || s.Version != 5 || !s.LogOpen || len(s.Reviews) != 1 || s.Reviews[0].Decision != "return" ||
		s.Reviews[0].ItemComments[0].Comment != "The interview record is missing." || s.Reviews[0].ByUserID != supervisor.User.ID {
		t.Fatalf("returned %+v", s)
	}

	// Fixed and resubmitted: the phase flag is gone.
	fix := map[string]any{"checklist": []map[string]any{{"client_id": "m-fix", "step_id": "close-on-neutral-topic", "item_id": "record-complete",
		"done": true, "recorded_at": rfc(time.Now())}}}
	sessionCall(t, base, http.MethodPost, path+"/log", worker.AccessToken, fix, 200)
	s = sessionCall(t, base, http.MethodPost, path+"/submit", worker.AccessToken, map[string]any{"version": 5}, 200)
	if s.Status != "resubmitted" || s.Version != 6 {
		t.Fatalf("resubmitted %+v", s)
	}
	checkQuality(s.Quality, []string{"suggestive_prompts"})

	// Approved by the supervisor.
	s = sessionCall(t, base, http.MethodPost, path+"/review", supervisor.AccessToken, map[string]any{"version": 6, "decision": "approve", "comment": "Good use of invitations."}, 200)
	if s.Status != "approved" || s.Version != 7 || s.ApprovedAt == nil || s.ApprovedBy != supervisor.User.ID || s.LogOpen {
		t.Fatalf("approved %+v", s)
	}

	// Locked: no change of any kind; a retried batch still answers without changing anything.
	for _, tc := range []struct {
		name, method, path string
		body               any
		code               string
	}{
		{"patch", http.MethodPatch, path, map[string]any{"version": 7, "ended_at": rfc(t0.Add(61 * time.Minute))}, "interview_locked"},
		{"new prompt", http.MethodPost, path + "/log", late, "interview_locked"},
		{"submit", http.MethodPost, path + "/submit", map[string]any{"version": 7}, "interview_locked"},
		{"review again", http.MethodPost, path + "/review", map[string]any{"version": 7, "decision": "return", "comment": "x"}, "interview_status"},
	} {
		if st, code := problemCode(t, base, tc.method, tc.path, supervisorOr(tc.name, worker.AccessToken, supervisor.AccessToken), tc.body); st != 400 || code != tc.code {
			t.Errorf("%s on an approved interview: %d %s", tc.name, st, code)
		}
	}
	s = sessionCall(t, base, http.MethodPost, path+"/log", worker.AccessToken, first, 200)
	if s.Version != 7 || len(s.Prompts) != 40 || s.Status != "approved" {
		t.Errorf("a retried batch changed the approved interview: %+v", s)
	}

	// An addendum keeps the original.
	add := map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "text": "The break began at 25 minutes, as logged; the note was incomplete.", "recorded_at": rfc(time.Now())}
	s = sessionCall(t, base, http.MethodPost, path+"/addenda", worker.AccessToken, add, 200)
	s = sessionCall(t, base, http.MethodPost, path+"/addenda", worker.AccessToken, add, 200)
	if len(s.Addenda) != 1 || s.Addenda[0].Text != add["text"] || s.Status != "approved" || len(s.Prompts) != 40 || s.Plan.Place != "Child-friendly room 2" {
		t.Errorf("after the addendum: %+v", s)
	}
	add["text"] = "Something else"
	if st, code := problemCode(t, base, http.MethodPost, path+"/addenda", worker.AccessToken, add); st != 409 || code != "addendum_id_conflict" {
		t.Errorf("the same addendum id with another text: %d %s", st, code)
	}

	// Every read and write is in the audit log.
	var log struct {
		Items []struct{ Action, Outcome string }
	}
	get(t, base, "/v1/audit?resource_id="+s.ID+"&limit=200", "Authorization: Bearer "+supervisor.AccessToken).json(t, &log)
	var actions []string
	for _, e := range log.Items {
		if !slices.Contains(actions, e.Action) {
			actions = append(actions, e.Action)
		}
	}
	for _, want := range []string{"interview.create", "interview.update", "interview.log", "interview.submit", "interview.review", "interview.addendum"} {
		if !slices.Contains(actions, want) {
			t.Errorf("no %s in the audit log: %v", want, actions)
		}
	}
}

// supervisorOr picks the supervisor's token for the review call, the interviewer's otherwise.
func supervisorOr(name, worker, supervisor string) string {
	if strings.HasPrefix(name, "review") {
		return supervisor
	}
	return worker
}

// Who may do what with a session, for every role.
func TestInterviewAuthorization(t *testing.T) {
	t.Parallel()
	base := server(t).base
	_, _, worker := newUser(t, "caseworker")
	_, _, colleague := newUser(t, "caseworker")
	_, _, stranger := newUser(t, "caseworker")
	_, _, supervisor := newUser(t, "supervisor")
	others := map[string]string{}
	for _, role := range []string{"content_editor", "admin", "auditor"} {
		_, _, tk := newUser(t, role)
		others[role] = tk.AccessToken
	}
	caseID := interviewCase(t, base, worker.AccessToken)
	if r := post(t, base, http.MethodPatch, "/v1/cases/"+caseID, supervisor.AccessToken, map[string]any{"version": 1, "caseworker_ids": []string{worker.User.ID, colleague.User.ID}}); r.status != 200 {
		t.Fatalf("assigning the colleague: %d %s", r.status, r.body)
	}
	s := createInterview(t, base, worker.AccessToken, caseID)
	path := "/v1/cases/" + caseID + "/interviews/" + s.ID
	patch := map[string]any{"version": 1, "plan": map[string]any{"place": "Room 3"}}

	tests := []struct {
		name, token, method, path string
		body                      any
		status                    int
		code                      string
	}{
		{"an assigned colleague reads", colleague.AccessToken, http.MethodGet, path, nil, 200, ""},
		{"an assigned colleague lists", colleague.AccessToken, http.MethodGet, "/v1/cases/" + caseID + "/interviews", nil, 200, ""},
		{"an assigned colleague does not change it", colleague.AccessToken, http.MethodPatch, path, patch, 403, "not_interviewer"},
		{"an assigned colleague does not log", colleague.AccessToken, http.MethodPost, path + "/log", map[string]any{"prompts": []map[string]any{{"client_id": "x", "type": "invitation", "recorded_at": rfc(time.Now())}}}, 403, "not_interviewer"},
		{"an unassigned caseworker does not see it", stranger.AccessToken, http.MethodGet, path, nil, 404, "case_not_found"},
		{"an unassigned caseworker does not list", stranger.AccessToken, http.MethodGet, "/v1/cases/" + caseID + "/interviews", nil, 404, "case_not_found"},
		{"the supervisor reads", supervisor.AccessToken, http.MethodGet, path, nil, 200, ""},
		{"the supervisor does not edit a draft", supervisor.AccessToken, http.MethodPatch, path, patch, 403, "not_interviewer"},
		{"the supervisor does not submit it", supervisor.AccessToken, http.MethodPost, path + "/submit", map[string]any{"version": 1}, 403, "not_interviewer"},
		{"a caseworker has no review queue", worker.AccessToken, http.MethodGet, "/v1/interviews/review-queue", nil, 403, "forbidden"},
		{"a caseworker reads their own coaching report", worker.AccessToken, http.MethodGet, "/v1/interviews/coaching", nil, 200, ""},
		{"a caseworker does not read another's report", worker.AccessToken, http.MethodGet, "/v1/interviews/coaching?interviewer_id=" + colleague.User.ID, nil, 403, "forbidden"},
		{"a supervisor reads anyone's report", supervisor.AccessToken, http.MethodGet, "/v1/interviews/coaching?interviewer_id=" + worker.User.ID, nil, 200, ""},
		{"unknown session", worker.AccessToken, http.MethodGet, "/v1/cases/" + caseID + "/interviews/" + uuid.Must(uuid.NewV7()).String(), nil, 404, "interview_not_found"},
		{"not a uuid", worker.AccessToken, http.MethodGet, "/v1/cases/" + caseID + "/interviews/abc", nil, 404, "interview_not_found"},
		{"the interviewer changes it", worker.AccessToken, http.MethodPatch, path, patch, 200, ""},
	}
	for role, token := range others {
		tests = append(tests, struct {
			name, token, method, path string
			body                      any
			status                    int
			code                      string
		}{role + " reads", token, http.MethodGet, path, nil, 403, "forbidden"},
			struct {
				name, token, method, path string
				body                      any
				status                    int
				code                      string
			}{role + " has no coaching report", token, http.MethodGet, "/v1/interviews/coaching", nil, 403, "forbidden"})
	}
	for _, tt := range tests {
		var body any = tt.body
		if tt.method == http.MethodGet {
			body = nil
		}
		r := post(t, base, tt.method, tt.path, tt.token, body)
		if r.status != tt.status {
			t.Errorf("%s: %d, want %d: %s", tt.name, r.status, tt.status, r.body)
			continue
		}
		if tt.code != "" {
			if p := r.problem(t); p.Code != tt.code {
				t.Errorf("%s: code %s, want %s", tt.name, p.Code, tt.code)
			}
		}
	}

	// A supervisor's own interview is reviewed by another supervisor only.
	_, _, second := newUser(t, "supervisor")
	own := createInterview(t, base, supervisor.AccessToken, caseID)
	ownPath := "/v1/cases/" + caseID + "/interviews/" + own.ID
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	sessionCall(t, base, http.MethodPatch, ownPath, supervisor.AccessToken, map[string]any{"version": 1, "started_at": rfc(t0), "ended_at": rfc(t0.Add(20 * time.Minute))}, 200)
	own = sessionCall(t, base, http.MethodPost, ownPath+"/submit", supervisor.AccessToken, map[string]any{"version": 2}, 200)
	if got := flagCodes(own.Quality.Flags); !slices.Contains(got, "repeated_interview") || own.Quality.Measures.InterviewNumber != 2 {
		t.Errorf("the case's second interview: number %d, flags %v", own.Quality.Measures.InterviewNumber, got)
	}
	if st, code := problemCode(t, base, http.MethodPost, ownPath+"/review", supervisor.AccessToken, map[string]any{"version": 3, "decision": "approve"}); st != 403 || code != "own_interview" {
		t.Errorf("self-review: %d %s", st, code)
	}
	if st, _ := problemCode(t, base, http.MethodPost, ownPath+"/review", second.AccessToken, map[string]any{"version": 2, "decision": "approve"}); st != 409 {
		t.Errorf("review at a stale version: %d", st)
	}
	r := post(t, base, http.MethodPost, ownPath+"/review", second.AccessToken, map[string]any{"version": 2, "decision": "approve"})
	var conflict struct{ Current sessionBody }
	r.json(t, &conflict)
	if conflict.Current.ID != own.ID || conflict.Current.Version != 3 {
		t.Errorf("the conflict carries %+v", conflict.Current)
	}
	sessionCall(t, base, http.MethodPost, ownPath+"/review", second.AccessToken, map[string]any{"version": 3, "decision": "approve"}, 200)
}

// Bad input: a localized problem with the field, and nothing changed in the database.
func TestBadInterviewInput(t *testing.T) {
	t.Parallel()
	base := server(t).base
	_, _, worker := newUser(t, "caseworker")
	_, _, supervisor := newUser(t, "supervisor")
	caseID := interviewCase(t, base, worker.AccessToken)
	auth := "Authorization: Bearer " + worker.AccessToken

	t.Run("create", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			mutate func(map[string]any)
			field  string
		}{
			{"invalid uuid", func(b map[string]any) { b["id"] = "nope" }, "id"},
			{"unknown field", func(b map[string]any) { b["colour"] = "red" }, "colour"},
			{"wrong type", func(b map[string]any) { b["plan"] = "tomorrow" }, "plan"},
			{"unknown participant role", func(b map[string]any) {
				b["plan"].(map[string]any)["participants"] = []map[string]any{{"role": "parent"}}
			}, "plan.participants[0].role"},
			{"bad hash", func(b map[string]any) {
				b["plan"].(map[string]any)["recording"] = map[string]any{"sha256": strings.Repeat("z", 64)}
			}, "plan.recording.sha256"},
			{"bad interpreter language", func(b map[string]any) {
				b["plan"].(map[string]any)["participants"] = []map[string]any{{"role": "interpreter", "language": "not a language!"}}
			}, "plan.participants[0].language"},
			{"operator injection", func(b map[string]any) { b["plan"].(map[string]any)["place"] = map[string]any{"$gt": ""} }, "plan.place.$gt"},
			{"not an interview protocol", func(b map[string]any) { b["protocol_id"] = "digital-evidence" }, "protocol_id"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				id := uuid.Must(uuid.NewV7()).String()
				body := map[string]any{"id": id, "plan": interviewPlan()}
				tt.mutate(body)
				r := post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/interviews?lang=ru", worker.AccessToken, body)
				if r.status != 400 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				p := r.problem(t)
				if !slices.ContainsFunc(p.Errors, func(e struct{ Field, Code, Message string }) bool { return e.Field == tt.field && e.Message != "" }) {
					t.Errorf("no error for %s in %+v", tt.field, p.Errors)
				}
				if r := get(t, base, "/v1/cases/"+caseID+"/interviews/"+id, auth); r.status != 404 {
					t.Errorf("the refused interview exists: %d", r.status)
				}
			})
		}
		if r := post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/interviews", worker.AccessToken, "{not json"); r.status != 400 || r.problem(t).Errors[0].Code != "malformed" {
			t.Errorf("malformed JSON: %d %s", r.status, r.body)
		}
	})

	s := createInterview(t, base, worker.AccessToken, caseID)
	path := "/v1/cases/" + caseID + "/interviews/" + s.ID
	now := rfc(time.Now())
	prompt := func(fields map[string]any) map[string]any {
		p := map[string]any{"client_id": "c1", "type": "invitation", "recorded_at": now}
		for k, v := range fields {
			p[k] = v
		}
		return map[string]any{"prompts": []map[string]any{p}}
	}
	t.Run("log", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			body  any
			field string
		}{
			{"empty batch", map[string]any{}, "body"},
			{"unknown prompt type", prompt(map[string]any{"type": "leading"}), "prompts[0].type"},
			{"future time", prompt(map[string]any{"recorded_at": rfc(time.Now().Add(time.Hour))}), "prompts[0].recorded_at"},
			{"unknown phase", prompt(map[string]any{"phase_id": "tea-time"}), "prompts[0].phase_id"},
			{"bad client id", prompt(map[string]any{"client_id": "a b"}), "prompts[0].client_id"},
			{"wrong type", prompt(map[string]any{"words": 42}), "prompts.words"},
			{"unknown field", prompt(map[string]any{"tone": "calm"}), "tone"}, // encoding/json names the unknown key only
			{"operator key", map[string]any{"prompts": []map[string]any{{"$where": "1"}}}, "prompts[0].$where"},
			{"duplicate client ids", map[string]any{"prompts": []map[string]any{{"client_id": "d", "type": "invitation", "recorded_at": now}, {"client_id": "d", "type": "directive", "recorded_at": now}}}, "prompts[1].client_id"},
			{"mark of an unknown item", map[string]any{"checklist": []map[string]any{{"client_id": "m", "step_id": "build-rapport", "item_id": "nope", "done": true, "recorded_at": now}}}, "checklist[0].item_id"},
			{"mark of a step that does not apply", map[string]any{"checklist": []map[string]any{{"client_id": "m", "step_id": "brief-support-person", "item_id": "seating", "done": true, "recorded_at": now}}}, "checklist[0].step_id"},
			{"not done without a reason", map[string]any{"checklist": []map[string]any{{"client_id": "m", "step_id": "build-rapport", "item_id": "open-topic", "done": false, "recorded_at": now}}}, "checklist[0].reason"},
			{"break ending before it starts", map[string]any{"breaks": []map[string]any{{"client_id": "b", "started_at": now, "ended_at": rfc(time.Now().Add(-time.Hour))}}}, "breaks[0].ended_at"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := post(t, base, http.MethodPost, path+"/log?lang=zh", worker.AccessToken, tt.body)
				if r.status != 400 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				if p := r.problem(t); !slices.ContainsFunc(p.Errors, func(e struct{ Field, Code, Message string }) bool { return e.Field == tt.field }) {
					t.Errorf("no error for %s in %+v", tt.field, p.Errors)
				}
			})
		}
	})
	t.Run("update, submit and review", func(t *testing.T) {
		for _, tt := range []struct {
			name, method, path, token string
			body                      any
			field                     string
		}{
			{"end before start", http.MethodPatch, path, worker.AccessToken, map[string]any{"version": 1, "started_at": now, "ended_at": rfc(time.Now().Add(-time.Hour))}, "ended_at"},
			{"version missing", http.MethodPatch, path, worker.AccessToken, map[string]any{"started_at": now}, "version"},
			{"version as a string", http.MethodPost, path + "/submit", worker.AccessToken, map[string]any{"version": "1"}, "version"},
			{"unknown decision", http.MethodPost, path + "/review", supervisor.AccessToken, map[string]any{"version": 1, "decision": "maybe"}, "decision"},
			{"operator in a review", http.MethodPost, path + "/review", supervisor.AccessToken, map[string]any{"version": 1, "decision": "return",
				"item_comments": []map[string]any{{"step_id": "build-rapport", "comment": map[string]any{"$ne": ""}}}}, "item_comments[0].comment.$ne"},
			{"unknown review field", http.MethodPost, path + "/review", supervisor.AccessToken, map[string]any{"version": 1, "decision": "approve", "grade": "A"}, "grade"},
			{"addendum with a bad id", http.MethodPost, path + "/addenda", worker.AccessToken, map[string]any{"id": "1", "text": "x", "recorded_at": now}, "id"},
			{"addendum without text", http.MethodPost, path + "/addenda", worker.AccessToken, map[string]any{"id": uuid.NewString(), "recorded_at": now}, "text"},
			{"plan with an unknown field", http.MethodPatch, path, worker.AccessToken, map[string]any{"version": 1, "plan": map[string]any{"room": "2"}}, "room"},
		} {
			r := post(t, base, tt.method, tt.path, tt.token, tt.body)
			if r.status != 400 {
				t.Errorf("%s: status %d: %s", tt.name, r.status, r.body)
				continue
			}
			if p := r.problem(t); !slices.ContainsFunc(p.Errors, func(e struct{ Field, Code, Message string }) bool { return e.Field == tt.field }) {
				t.Errorf("%s: no error for %s in %+v", tt.name, tt.field, p.Errors)
			}
		}
		if st, code := problemCode(t, base, http.MethodPost, path+"/submit", worker.AccessToken, map[string]any{"version": 1}); st != 400 || code != "interview_not_ended" {
			t.Errorf("submitting an interview that has not ended: %d %s", st, code)
		}
		if st, code := problemCode(t, base, http.MethodPost, path+"/review", supervisor.AccessToken, map[string]any{"version": 1, "decision": "approve"}); st != 400 || code != "interview_status" {
			t.Errorf("reviewing a draft: %d %s", st, code)
		}
		if st, code := problemCode(t, base, http.MethodPost, path+"/addenda", worker.AccessToken, map[string]any{"id": uuid.NewString(), "text": "x", "recorded_at": now}); st != 400 || code != "interview_status" {
			t.Errorf("an addendum to a draft: %d %s", st, code)
		}
		if st, code := problemCode(t, base, http.MethodPatch, path, worker.AccessToken, map[string]any{"version": 9, "started_at": now}); st != 409 || code != "version_conflict" {
			t.Errorf("a stale change: %d %s", st, code)
		}
	})

	// Nothing of it reached the database.
	var after sessionBody
	get(t, base, path, auth).json(t, &after)
	if after.Version != 1 || after.Status != "draft" || len(after.Prompts) != 0 || len(after.ChecklistMarks) != 0 || len(after.Breaks) != 0 || !after.LogOpen ||
		len(after.Reviews) != 0 || len(after.Addenda) != 0 || after.Plan.Place != "Child-friendly room 2" {
		t.Errorf("bad input changed the interview: %+v", after)
	}
}

// The coaching report: an interviewer's open-prompt share and flag counts per month, with the
// organisation's beside them.
func TestInterviewCoachingReport(t *testing.T) {
	t.Parallel()
	base := server(t).base
	_, _, worker := newUser(t, "caseworker")
	_, _, supervisor := newUser(t, "supervisor")
	month := time.Now().UTC().Format("2006-01")

	// Two interviews this month: 3 of 4 open prompts with one suggestive, then 1 of 4 open.
	run := func(types []string) {
		caseID := interviewCase(t, base, worker.AccessToken)
		s := createInterview(t, base, worker.AccessToken, caseID)
		path := "/v1/cases/" + caseID + "/interviews/" + s.ID
		t0 := time.Now().UTC().Add(-30 * time.Minute).Truncate(time.Second)
		if t0.Format("2006-01") != month {
			t0 = time.Now().UTC().Truncate(time.Second)
		}
		var prompts []map[string]any
		for i, typ := range types {
			prompts = append(prompts, map[string]any{"client_id": fmt.Sprint("p", i), "type": typ, "recorded_at": rfc(t0.Add(time.Duration(i) * time.Minute))})
		}
		sessionCall(t, base, http.MethodPost, path+"/log", worker.AccessToken, map[string]any{"prompts": prompts}, 200)
		sessionCall(t, base, http.MethodPatch, path, worker.AccessToken, map[string]any{"version": 1, "started_at": rfc(t0), "ended_at": rfc(t0.Add(10 * time.Minute))}, 200)
		sessionCall(t, base, http.MethodPost, path+"/submit", worker.AccessToken, map[string]any{"version": 2}, 200)
	}
	run([]string{"invitation", "invitation", "cued_invitation", "suggestive"})
	run([]string{"invitation", "directive", "option_posing", "directive"})

	var rep struct {
		InterviewerID string `json:"interviewer_id"`
		From, To      string
		Months        []struct {
			Month        string
			Interviewer  figures
			Organisation figures
		}
		Total struct {
			Interviewer, Organisation figures
		}
	}
	get(t, base, "/v1/interviews/coaching?interviewer_id="+worker.User.ID+"&from="+month+"&to="+month, "Authorization: Bearer "+supervisor.AccessToken).json(t, &rep)
	if len(rep.Months) != 1 || rep.Months[0].Month != month || rep.InterviewerID != worker.User.ID {
		t.Fatalf("report %+v", rep)
	}
	me, org := rep.Months[0].Interviewer, rep.Months[0].Organisation
	// Hand-computed: 2 sessions, 8 prompts, 4 open (0.5); flags: suggestive once, every session misses
	// rapport, ground rules and closing (no checklist marked).
	if me.Sessions != 2 || me.Prompts != 8 || me.OpenPrompts != 4 || me.OpenShare == nil || math.Abs(*me.OpenShare-0.5) > 1e-9 ||
		me.Flags["suggestive_prompts"] != 1 || me.Flags["required_phase_not_done"] != 6 || me.Flags["low_open_share"] != 0 {
		t.Errorf("interviewer's figures %+v", me)
	}
	if org.Sessions < me.Sessions || org.Prompts < me.Prompts {
		t.Errorf("organisation's figures %+v below the interviewer's", org)
	}
	var own struct {
		InterviewerID string `json:"interviewer_id"`
	}
	get(t, base, "/v1/interviews/coaching", "Authorization: Bearer "+worker.AccessToken).json(t, &own)
	if own.InterviewerID != worker.User.ID {
		t.Errorf("own report of %s", own.InterviewerID)
	}
	for _, q := range []string{"from=2026-13", "from=2020-01&to=2026-01", "to=last", "colour=red"} {
		if r := get(t, base, "/v1/interviews/coaching?"+q, "Authorization: Bearer "+worker.AccessToken); r.status != 400 {
			t.Errorf("coaching?%s: %d", q, r.status)
		}
	}
}

type figures struct {
	Sessions    int            `json:"sessions"`
	Prompts     int            `json:"prompts"`
	OpenPrompts int            `json:"open_prompts"`
	OpenShare   *float64       `json:"open_share"`
	Flags       map[string]int `json:"flags"`
}

// The words of prompts and every other free text of a session are stored encrypted: the raw
// database holds none of them, and every stored document carries the sync stamp.
func TestInterviewDataIsEncryptedAtRest(t *testing.T) {
	t.Parallel()
	s := server(t)
	_, _, worker := newUser(t, "caseworker")
	_, _, supervisor := newUser(t, "supervisor")
	caseID := interviewCase(t, s.base, worker.AccessToken)
	id := uuid.Must(uuid.NewV7()).String()
	plan := interviewPlan()
	plan["place"] = "Saffron-Room-8812"
	plan["participants"] = []map[string]any{{"role": "interpreter", "name": "Ottoline-Vasquez-3301", "language": "fr"}}
	plan["recording"] = map[string]any{"recorded": true, "device": "Camcorder-Q7719", "file_name": "Brindle-4471.mp4"}
	plan["consent"] = map[string]any{"notes": "Guardian-Penhallow-2210 agreed"}
	if r := post(t, s.base, http.MethodPost, "/v1/cases/"+caseID+"/interviews", worker.AccessToken, map[string]any{"id": id, "plan": plan}); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	path := "/v1/cases/" + caseID + "/interviews/" + id
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	sessionCall(t, s.base, http.MethodPost, path+"/log", worker.AccessToken, map[string]any{
		"prompts":          []map[string]any{{"client_id": "p1", "type": "invitation", "words": "Tell me about Marmalade-Kite-5590", "recorded_at": rfc(t0)}},
		"breaks":           []map[string]any{{"client_id": "b1", "started_at": rfc(t0), "ended_at": rfc(t0.Add(time.Minute)), "note": "Pause-Heron-6621"}},
		"wellbeing_checks": []map[string]any{{"client_id": "w1", "checked_at": rfc(t0), "note": "Thirsty-Lantern-7730"}},
		"checklist":        []map[string]any{{"client_id": "m1", "step_id": "build-rapport", "item_id": "open-topic", "done": false, "reason": "Quiet-Fennel-8841", "recorded_at": rfc(t0)}},
	}, 200)
	sessionCall(t, s.base, http.MethodPatch, path, worker.AccessToken, map[string]any{"version": 1, "started_at": rfc(t0), "ended_at": rfc(t0.Add(20 * time.Minute))}, 200)
	sessionCall(t, s.base, http.MethodPost, path+"/submit", worker.AccessToken, map[string]any{"version": 2}, 200)
	sessionCall(t, s.base, http.MethodPost, path+"/review", supervisor.AccessToken, map[string]any{"version": 3, "decision": "return", "comment": "Review-Juniper-9952",
		"item_comments": []map[string]any{{"step_id": "build-rapport", "item_id": "open-topic", "comment": "Item-Tamarind-1063"}}}, 200)

	db := rawDatabase(t, s)
	secrets := []string{"Saffron-Room-8812", "Ottoline-Vasquez", "Camcorder-Q7719", "Brindle-4471", "Penhallow", "Marmalade-Kite", "Pause-Heron",
		"Thirsty-Lantern", "Quiet-Fennel", "Review-Juniper", "Item-Tamarind"}
	for _, coll := range []string{"interview_sessions", "interview_logs"} {
		raw, err := db.Collection(coll).FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Raw()
		if err != nil {
			t.Fatalf("%s: %v", coll, err)
		}
		for _, secret := range secrets {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("%s holds %q in plain text", coll, secret)
			}
		}
		if raw.Lookup("org_id").StringValue() != "default" || raw.Lookup("case_id").StringValue() != caseID ||
			raw.Lookup("change_seq").Int64() < 1 || raw.Lookup("updated_at").IsZero() {
			t.Errorf("%s: sync stamp missing: org %v case %v seq %v", coll, raw.Lookup("org_id"), raw.Lookup("case_id"), raw.Lookup("change_seq"))
		}
	}
	var back sessionBody
	get(t, s.base, path, "Authorization: Bearer "+worker.AccessToken).json(t, &back)
	if back.Plan.Place != "Saffron-Room-8812" || back.Prompts[0].Words != "Tell me about Marmalade-Kite-5590" || back.Reviews[0].Comment != "Review-Juniper-9952" {
		t.Errorf("the API does not give the text back: %+v", back)
	}
}
