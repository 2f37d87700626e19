package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// testClock is the clock of a test server's services for working across agencies: tests move it
// forward instead of sleeping.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// careWorld is a server of its own (its clock is the test's) with an agency (the default
// organisation: a supervisor, a caseworker and an auditor) and another organisation's supervisor.
type careWorld struct {
	srv                                *testServer
	base                               string
	clock                              *testClock
	env                                map[string]string // the server's environment (for the users command)
	supervisor, worker, auditor, other tokens
}

func newCareWorld(t *testing.T) careWorld {
	t.Helper()
	dir := t.TempDir()
	clock := &testClock{t: time.Now().UTC()}
	env := testEnv(dir, nil)
	srv := startServer(t, env, &serveHooks{now: clock.Now})
	t.Cleanup(func() { srv.stop() })
	srv.dataDir = dir // for rawDatabase
	w := careWorld{srv: srv, base: srv.base, clock: clock, env: env}
	admin := login(t, w.base, "admin", adminPassword, "console")
	mk := func(adminToken, name, role string) tokens {
		t.Helper()
		pw := "long enough passphrase number " + strings.Repeat("x", len(name)%7+1)
		if r := post(t, w.base, http.MethodPost, "/v1/users", adminToken, map[string]any{"username": name, "display_name": "Test " + name, "roles": []string{role}, "password": pw}); r.status != http.StatusCreated {
			t.Fatalf("user %s: %d %s", name, r.status, r.body)
		}
		return login(t, w.base, name, pw, "d-"+name)
	}
	w.supervisor, w.worker, w.auditor = mk(admin.AccessToken, "care-sup", "supervisor"), mk(admin.AccessToken, "care-worker", "caseworker"), mk(admin.AccessToken, "care-auditor", "auditor")
	args := []string{"create", "-org", "police-unit", "-username", "policeadmin", "-roles", "admin", "-display-name", "Police admin"}
	if err := usersCommand(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader("police admin passphrase long\n"), io.Discard, io.Discard, testPasswords); err != nil {
		t.Fatalf("other organisation: %v", err)
	}
	otherAdmin := login(t, w.base, "policeadmin", "police admin passphrase long", "d-policeadmin")
	w.other = mk(otherAdmin.AccessToken, "police-sup", "supervisor")
	return w
}

// call sends body (nil for none) as token and fails the test unless the status is want; it decodes
// the answer into out when given.
func (w careWorld) call(t *testing.T, method, path, token string, body any, want int, out any) *response {
	t.Helper()
	var r *response
	if body == nil && method == http.MethodGet {
		r = get(t, w.base, path, "Authorization: Bearer "+token)
	} else {
		r = post(t, w.base, method, path, token, body)
	}
	if r.status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.status, want, r.body)
	}
	if out != nil {
		r.json(t, out)
	}
	return r
}

type careAppointment struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`
	Status  string   `json:"status"`
	Version int64    `json:"version"`
	CaseIDs []string `json:"case_ids"`
	Reviews []struct {
		CaseID  string `json:"case_id"`
		Actions []struct {
			ID string `json:"id"`
		} `json:"actions"`
	} `json:"reviews"`
}

type careMeasures struct {
	Overdue  bool `json:"overdue"`
	Measures []struct {
		Code   string    `json:"code"`
		Status string    `json:"status"`
		DueAt  time.Time `json:"due_at"`
		Hours  *float64  `json:"hours"`
	} `json:"measures"`
}

func (m careMeasures) status(code string) string {
	for _, x := range m.Measures {
		if x.Code == code {
			return x.Status
		}
	}
	return "(none)"
}

const (
	stdInterview = "forensic_interview_within_14_days"
	stdMedical   = "acute_medical_examination_within_72_hours"
)

// The play-through for services, appointments, time standards, case review meetings, flags
// and statistics: six children's cases first contacted an hour ago; a forensic interview scheduled
// within the standard, and the acute child's medical examination going overdue once the clock moves
// 73 hours on (flagged on the case and in the supervisor's worklist); services and their outcomes
// recorded; a case review meeting assigns an action that shows as due; flags shown and filtered; the
// period report equals the hand-computed figures with small counts suppressed; another organisation
// gets 404 for all of it.
func TestCareAcrossTheCase(t *testing.T) {
	t.Parallel()
	w := newCareWorld(t)
	sup, wk := w.supervisor.AccessToken, w.worker.AccessToken
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	// six cases: five 6-to-11-year-old girls and a boy under 6, all grooming
	cases := make([]string, 6)
	for i := range cases {
		cases[i] = newID()
		c := newCase(cases[i], "Child "+string(rune('A'+i)))
		child := c["child"].(map[string]any)
		child["age_band"], child["gender"] = "6_to_11", "female"
		if i == 5 {
			child["age_band"], child["gender"] = "under_6", "male"
		}
		c["opened_at"] = rfc(t0)
		w.call(t, http.MethodPost, "/v1/cases", wk, c, http.StatusCreated, nil)
	}
	c1 := cases[0]

	// flags: the first child is acute (the medical standard applies), the second has media attention
	acute, media := newID(), newID()
	w.call(t, http.MethodPost, "/v1/cases/"+c1+"/flags", wk, map[string]any{"id": acute, "kind": "acute", "reason": "Abuse disclosed yesterday"}, http.StatusCreated, nil)
	w.call(t, http.MethodPost, "/v1/cases/"+c1+"/flags", wk, map[string]any{"id": acute, "kind": "acute", "reason": "Abuse disclosed yesterday"}, http.StatusOK, nil)
	var mediaFlag struct {
		Version   int64  `json:"version"`
		KindLabel string `json:"kind_label"`
	}
	w.call(t, http.MethodPost, "/v1/cases/"+cases[1]+"/flags?lang=fr", sup, map[string]any{"id": media, "kind": "media_attention", "reason": "Local press asked"}, http.StatusCreated, &mediaFlag)
	if mediaFlag.KindLabel != "attention médiatique" {
		t.Errorf("kind label in French = %q", mediaFlag.KindLabel)
	}
	listIDs := func(query string) []string {
		t.Helper()
		var page struct {
			Items []struct {
				ID    string   `json:"id"`
				Flags []string `json:"flags"`
			} `json:"items"`
		}
		w.call(t, http.MethodGet, "/v1/cases?"+query, sup, nil, http.StatusOK, &page)
		var ids []string
		for _, c := range page.Items {
			ids = append(ids, c.ID)
			if c.ID == c1 && !slices.Equal(c.Flags, []string{"acute"}) {
				t.Errorf("case list shows the first case's flags as %v", c.Flags)
			}
		}
		return ids
	}
	if got := listIDs("flag=acute"); !slices.Equal(got, []string{c1}) {
		t.Errorf("?flag=acute lists %v, want the first case only", got)
	}
	if got := listIDs("flag=media_attention"); !slices.Equal(got, []string{cases[1]}) {
		t.Errorf("?flag=media_attention lists %v", got)
	}
	w.call(t, http.MethodPost, "/v1/cases/"+cases[1]+"/flags/"+media+"/resolve", sup, map[string]any{"version": 1, "reason": "Press lost interest"}, http.StatusOK, nil)
	if got := listIDs("flag=media_attention"); len(got) != 0 {
		t.Errorf("a resolved flag still filters: %v", got)
	}
	if p := w.call(t, http.MethodPost, "/v1/cases/"+cases[1]+"/flags/"+media+"/resolve", sup, map[string]any{"version": 2, "reason": "Again"}, http.StatusConflict, nil).problem(t); p.Code != "flag_resolved" {
		t.Errorf("resolving twice: %s", p.Code)
	}
	var flags struct {
		Items []struct {
			Active           bool    `json:"active"`
			ResolutionReason *string `json:"resolution_reason"`
		} `json:"items"`
	}
	w.call(t, http.MethodGet, "/v1/cases/"+cases[1]+"/flags", wk, nil, http.StatusOK, &flags)
	if len(flags.Items) != 1 || flags.Items[0].Active || flags.Items[0].ResolutionReason == nil || *flags.Items[0].ResolutionReason != "Press lost interest" {
		t.Errorf("the resolved flag reads %+v", flags.Items)
	}

	// appointments: the first child's forensic interview within the standard; the others' interviews
	// done 24, 72, 96 and 120 hours after first contact; the second child's (not acute) medical
	// examination done after 10 hours; the sixth child has no interview
	var fi careAppointment
	w.call(t, http.MethodPost, "/v1/cases/"+c1+"/appointments", wk, map[string]any{"id": newID(), "kind": "forensic_interview",
		"starts_at": rfc(t0.Add(48 * time.Hour)), "duration_minutes": 60, "place": "Barnahus interview room 2",
		"participants": []map[string]any{{"user_id": w.worker.User.ID, "role": "interviewer"}, {"name": "Dr. Outside Observer", "role": "observer"}}},
		http.StatusCreated, &fi)
	for i, h := range map[int]int{1: 24, 2: 72, 3: 96, 4: 120} {
		w.call(t, http.MethodPost, "/v1/cases/"+cases[i]+"/appointments", wk, map[string]any{"id": newID(), "kind": "forensic_interview",
			"starts_at": rfc(t0.Add(time.Duration(h) * time.Hour)), "status": "done"}, http.StatusCreated, nil)
	}
	w.call(t, http.MethodPost, "/v1/cases/"+cases[1]+"/appointments", wk, map[string]any{"id": newID(), "kind": "medical_examination",
		"starts_at": rfc(t0.Add(10 * time.Hour)), "status": "done"}, http.StatusCreated, nil)
	var m careMeasures
	w.call(t, http.MethodGet, "/v1/cases/"+c1+"/time-standards", wk, nil, http.StatusOK, &m)
	if m.Overdue || m.status(stdInterview) != "scheduled" || m.status(stdMedical) != "pending" {
		t.Fatalf("before the deadline: %+v", m)
	}
	w.call(t, http.MethodGet, "/v1/cases/"+cases[5]+"/time-standards", wk, nil, http.StatusOK, &m)
	if m.status(stdMedical) != "(none)" || m.status(stdInterview) != "pending" {
		t.Errorf("a case not flagged acute: %+v", m)
	}

	// 73 hours on: the acute child's medical examination is overdue, on the case and in the worklist
	w.clock.advance(73 * time.Hour)
	w.call(t, http.MethodGet, "/v1/cases/"+c1+"/time-standards", wk, nil, http.StatusOK, &m)
	if !m.Overdue || m.status(stdMedical) != "overdue" || m.status(stdInterview) != "scheduled" {
		t.Fatalf("after the deadline: %+v", m)
	}
	var wl struct {
		TimeStandards []struct {
			CaseID string `json:"case_id"`
			Code   string `json:"code"`
		} `json:"overdue_time_standards"`
		DueActions []struct {
			ActionID     string `json:"action_id"`
			AssigneeName string `json:"assignee_name"`
		} `json:"due_actions"`
	}
	w.call(t, http.MethodGet, "/v1/worklist", sup, nil, http.StatusOK, &wl)
	if len(wl.TimeStandards) != 1 || wl.TimeStandards[0].CaseID != c1 || wl.TimeStandards[0].Code != stdMedical {
		t.Errorf("worklist's overdue standards: %+v", wl.TimeStandards)
	}
	// the interview took place as planned: the standard is met; a stale write is refused with the current one
	w.call(t, http.MethodPatch, "/v1/appointments/"+fi.ID, wk, map[string]any{"version": 1, "status": "done"}, http.StatusOK, &fi)
	var cur struct {
		Current careAppointment `json:"current"`
	}
	w.call(t, http.MethodPatch, "/v1/appointments/"+fi.ID, wk, map[string]any{"version": 1, "status": "missed"}, http.StatusConflict, &cur)
	if cur.Current.Version != 2 || cur.Current.Status != "done" {
		t.Errorf("the conflict's current appointment: %+v", cur.Current)
	}
	w.call(t, http.MethodGet, "/v1/cases/"+c1+"/time-standards", wk, nil, http.StatusOK, &m)
	if m.status(stdInterview) != "met" || m.Measures[0].Hours == nil || *m.Measures[0].Hours != 48 {
		t.Errorf("after the interview: %+v", m)
	}

	// services and outcomes
	svc := "/v1/cases/" + c1 + "/services"
	therapy := newID()
	var rec struct {
		Version         int64  `json:"version"`
		DisciplineLabel string `json:"discipline_label"`
		Notes           string `json:"notes"`
		Outcome         struct {
			Sessions         *int    `json:"sessions"`
			DispositionLabel *string `json:"disposition_label"`
		} `json:"outcome"`
	}
	w.call(t, http.MethodPost, svc+"?lang=fr", wk, map[string]any{"id": therapy, "discipline": "therapy", "status": "in_progress",
		"provider": "Trauma therapy unit", "notes": "Child prefers afternoon sessions", "outcome": map[string]any{"sessions": 3}}, http.StatusCreated, &rec)
	if rec.DisciplineLabel != "thérapie" || rec.Outcome.Sessions == nil || *rec.Outcome.Sessions != 3 {
		t.Errorf("therapy record: %+v", rec)
	}
	w.call(t, http.MethodPost, svc, wk, map[string]any{"id": newID(), "discipline": "medical_examination", "status": "completed",
		"outcome": map[string]any{"examination_done": true, "follow_up_needed": true}}, http.StatusCreated, nil)
	w.call(t, http.MethodPost, svc, sup, map[string]any{"id": newID(), "discipline": "child_protection", "status": "completed",
		"outcome": map[string]any{"assessment_outcome": "child_at_risk", "safety_plan": true}}, http.StatusCreated, nil)
	w.call(t, http.MethodPost, svc, sup, map[string]any{"id": newID(), "discipline": "legal", "status": "in_progress",
		"outcome": map[string]any{"charges_filed": true, "court_dates": []string{rfc(t0.Add(60 * 24 * time.Hour))}, "disposition": "pending"}}, http.StatusCreated, &rec)
	if rec.Outcome.DispositionLabel == nil || *rec.Outcome.DispositionLabel != "pending" {
		t.Errorf("legal record: %+v", rec)
	}
	w.call(t, http.MethodPatch, svc+"/"+therapy, wk, map[string]any{"version": 1, "outcome": map[string]any{"sessions": 4}}, http.StatusOK, &rec)
	if rec.Version != 2 || *rec.Outcome.Sessions != 4 || rec.Notes != "Child prefers afternoon sessions" {
		t.Errorf("therapy after the update: %+v", rec)
	}
	w.call(t, http.MethodPatch, svc+"/"+therapy, wk, map[string]any{"version": 1, "status": "completed"}, http.StatusConflict, nil)
	var services struct {
		Items []struct{ Discipline string } `json:"items"`
	}
	w.call(t, http.MethodGet, svc, wk, nil, http.StatusOK, &services)
	if len(services.Items) != 4 {
		t.Errorf("services of the case: %+v", services.Items)
	}
	raw, err := bson.MarshalExtJSON(findRaw(t, w.srv, "case_services", therapy), false, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "afternoon") || strings.Contains(string(raw), "Trauma") {
		t.Errorf("service notes stored in the clear: %s", raw)
	}

	// a case review meeting of the first two cases, with a police officer from the other organisation,
	// assigns an action to the caseworker: due in the worklist and for the caseworker
	meeting, action := newID(), newID()
	review := map[string]any{"id": meeting, "kind": "case_review", "case_ids": []string{c1, cases[1]}, "starts_at": rfc(t0.Add(74 * time.Hour)),
		"participants": []map[string]any{{"user_id": w.worker.User.ID, "role": "caseworker"}, {"user_id": w.other.User.ID, "role": "police"}},
		"reviews": []map[string]any{{"case_id": c1, "decisions": "Therapy continues; prosecutor informed",
			"actions": []map[string]any{{"id": action, "assignee_id": w.worker.User.ID, "what": "Book the follow-up examination", "due": rfc(t0.Add(96 * time.Hour))}}}}}
	if p := w.call(t, http.MethodPost, "/v1/appointments", wk, review, http.StatusForbidden, nil).problem(t); p.Code == "" {
		t.Error("a caseworker made a case review meeting")
	}
	w.call(t, http.MethodPost, "/v1/appointments", sup, review, http.StatusCreated, nil)
	w.call(t, http.MethodGet, "/v1/worklist", sup, nil, http.StatusOK, &wl)
	if len(wl.DueActions) != 1 || wl.DueActions[0].ActionID != action || wl.DueActions[0].AssigneeName != "Test care-worker" {
		t.Errorf("worklist's due actions: %+v", wl.DueActions)
	}
	var due struct {
		Items []struct {
			ActionID string `json:"action_id"`
			CaseID   string `json:"case_id"`
			What     string `json:"what"`
		} `json:"items"`
	}
	w.call(t, http.MethodGet, "/v1/actions", wk, nil, http.StatusOK, &due)
	if len(due.Items) != 1 || due.Items[0].ActionID != action || due.Items[0].CaseID != c1 || due.Items[0].What != "Book the follow-up examination" {
		t.Errorf("the caseworker's due actions: %+v", due.Items)
	}
	var cal struct {
		Items []careAppointment `json:"items"`
	}
	w.call(t, http.MethodGet, "/v1/appointments?from="+rfc(t0)+"&to="+rfc(t0.Add(30*24*time.Hour)), wk, nil, http.StatusOK, &cal)
	if len(cal.Items) != 7 || !slices.ContainsFunc(cal.Items, func(a careAppointment) bool { return a.ID == meeting }) {
		t.Errorf("the caseworker's calendar holds %d appointments: %+v", len(cal.Items), cal.Items)
	}

	// the period report, against hand-computed figures
	day := t0.Format(time.DateOnly)
	var rep struct {
		Children   string                        `json:"children"`
		ByAgeBand  []struct{ Key, Count string } `json:"by_age_band"`
		ByGender   []struct{ Key, Count string } `json:"by_gender"`
		ByCaseType []struct{ Key, Count string } `json:"by_case_type"`
		TimeTo     []struct {
			Kind   string          `json:"kind"`
			Median json.RawMessage `json:"median_hours"`
			P90    json.RawMessage `json:"p90_hours"`
		} `json:"time_to"`
		Standards []struct {
			Code       string          `json:"code"`
			Considered string          `json:"considered"`
			Within     string          `json:"within"`
			Overdue    string          `json:"overdue"`
			Share      json.RawMessage `json:"share_within"`
		} `json:"time_standards"`
		Interviews         string          `json:"interviews"`
		InterviewsPerChild json.RawMessage `json:"interviews_per_child"`
		EvidenceItems      string          `json:"evidence_items"`
		Referrals          json.RawMessage `json:"referrals"`
	}
	path := "/v1/reports/period?from=" + day + "&to=" + day
	w.call(t, http.MethodGet, path, sup, nil, http.StatusOK, &rep)
	if rep.Children != "6" || rep.Interviews != "<5" || rep.EvidenceItems != "<5" || string(rep.Referrals) != "[]" ||
		string(rep.InterviewsPerChild) != `{"n":"<5","value":null}` {
		t.Errorf("report: %+v", rep)
	}
	wantCounts := map[string][]struct{ Key, Count string }{
		"age band": {{"6_to_11", "5"}, {"under_6", "<5"}}, "gender": {{"female", "5"}, {"male", "<5"}}, "case type": {{"grooming", "6"}}}
	for name, got := range map[string][]struct{ Key, Count string }{"age band": rep.ByAgeBand, "gender": rep.ByGender, "case type": rep.ByCaseType} {
		if !slices.Equal(got, wantCounts[name]) {
			t.Errorf("children by %s: %+v, want %+v", name, got, wantCounts[name])
		}
	}
	// interviews after 48, 24, 72, 96, 120 hours: median 72, 90th percentile (rank 5 of 5) 120; one
	// medical examination only: suppressed
	if len(rep.TimeTo) != 2 || string(rep.TimeTo[0].Median) != `{"n":"5","value":72}` || string(rep.TimeTo[0].P90) != `{"n":"5","value":120}` ||
		string(rep.TimeTo[1].Median) != `{"n":"<5","value":null}` {
		t.Errorf("times: %+v", rep.TimeTo)
	}
	if len(rep.Standards) != 2 || rep.Standards[0].Considered != "5" || rep.Standards[0].Within != "5" || rep.Standards[0].Overdue != "<5" ||
		string(rep.Standards[0].Share) != `{"n":"5","value":1}` || rep.Standards[1].Considered != "<5" || string(rep.Standards[1].Share) != `{"n":"<5","value":null}` {
		t.Errorf("standards: %+v", rep.Standards)
	}
	w.call(t, http.MethodGet, path, w.auditor.AccessToken, nil, http.StatusOK, nil)
	w.call(t, http.MethodGet, path, wk, nil, http.StatusForbidden, nil)
	csv := w.call(t, http.MethodGet, path+"&format=csv", sup, nil, http.StatusOK, nil)
	if !strings.Contains(string(csv.body), "children,,count,6\n") || !strings.Contains(string(csv.body), "age_band,under_6,count,<5\n") {
		t.Errorf("CSV report:\n%s", csv.body)
	}

	// the other organisation sees none of it
	other := w.other.AccessToken
	for _, p := range []string{"/v1/cases/" + c1 + "/flags", "/v1/cases/" + c1 + "/services", "/v1/cases/" + c1 + "/services/" + therapy,
		"/v1/cases/" + c1 + "/appointments", "/v1/cases/" + c1 + "/time-standards", "/v1/appointments/" + meeting, "/v1/appointments/" + fi.ID} {
		w.call(t, http.MethodGet, p, other, nil, http.StatusNotFound, nil)
	}
	w.call(t, http.MethodPatch, "/v1/appointments/"+meeting, other, map[string]any{"version": 1, "status": "cancelled"}, http.StatusNotFound, nil)
	w.call(t, http.MethodPost, "/v1/cases/"+c1+"/flags", other, map[string]any{"id": newID(), "kind": "other", "reason": "x"}, http.StatusNotFound, nil)
	w.call(t, http.MethodGet, "/v1/appointments?from="+rfc(t0)+"&to="+rfc(t0.Add(30*24*time.Hour)), other, nil, http.StatusOK, &cal)
	w.call(t, http.MethodGet, "/v1/actions", other, nil, http.StatusOK, &due)
	if len(cal.Items) != 0 || len(due.Items) != 0 {
		t.Errorf("the other organisation's calendar %+v, actions %+v", cal.Items, due.Items)
	}
	w.call(t, http.MethodGet, path, other, nil, http.StatusOK, &rep)
	if rep.Children != "<5" {
		t.Errorf("the other organisation's report counts %s children", rep.Children)
	}

	// every step is in the audit log
	for _, a := range []string{"case_flag.raise", "case_flag.resolve", "case_flag.list", "appointment.create", "appointment.update",
		"case.time_standards", "case_service.create", "case_service.update", "appointment.actions", "appointment.calendar", "report.period"} {
		var audit struct {
			Items []struct{ Action string } `json:"items"`
		}
		w.call(t, http.MethodGet, "/v1/audit?limit=1&action="+a, w.auditor.AccessToken, nil, http.StatusOK, &audit)
		if len(audit.Items) != 1 {
			t.Errorf("no %s in the audit log", a)
		}
	}
}

// findRaw reads one stored document of srv's database as it is, bypassing the service.
func findRaw(t *testing.T, srv *testServer, coll, id string) bson.M {
	t.Helper()
	var doc bson.M
	if err := rawDatabase(t, srv).Collection(coll).FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		t.Fatalf("reading %s %s: %v", coll, id, err)
	}
	return doc
}
