package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/i18n"
)

// checkPage fails the test unless r has status want, holds every string of has and none of lacks,
// is never stored, and (for a 200) shows no message id.
func checkPage(t *testing.T, r *consoleResponse, want int, has, lacks []string) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%d %s: %.600s", r.status, r.location(), r.body)
	}
	for _, s := range has {
		if !strings.Contains(r.body, s) {
			t.Errorf("the page lacks %q", s)
		}
	}
	for _, s := range lacks {
		if strings.Contains(r.body, s) {
			t.Errorf("the page holds %q", s)
		}
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	if ids := untranslated.FindAllString(pageText(r.body), 5); want == http.StatusOK && len(ids) > 0 {
		t.Errorf("message ids shown instead of text: %v", ids)
	}
}

// A supervisor of the receiving organisation opens a referral from the inbox, in every language:
// a decline without a reason is sent back with its message; declining with one shows the reason;
// accepting another opens the organisation's new case with the shared profile, whose page shows
// the flags, consents, services and appointments sections. The sender's caseworker and another
// organisation get 404; the page title names no child.
func TestConsoleReferralAcceptDecline(t *testing.T) {
	t.Parallel()
	base := server(t).base
	p := newSharingParties(t)
	p.consent(t, "profile", "case_types")
	shared := p.refer(t, "referral", "profile", "case_types")
	bare := p.refer(t, "referral")
	name, password, _ := p.to.newUser(t, "supervisor")
	sup := consoleSignIn(t, base, name, password)

	checkPage(t, sup.get("/console/referrals"), http.StatusOK, []string{`href="/console/referrals/` + shared.ID + `"`}, nil)
	for _, code := range i18n.Codes() {
		t.Run("the referral in "+code, func(t *testing.T) {
			sup.t = t
			r := sup.get("/console/referrals/" + shared.ID + "?lang=" + code)
			checkPage(t, r, http.StatusOK, []string{`id="accept-form"`, `id="decline-form"`, `lang="` + code + `"`}, []string{`id="pseudonym"`})
			if m := pageTitle.FindStringSubmatch(r.body); m == nil || strings.Contains(m[1], "Child") {
				t.Errorf("the page title %q", m)
			}
		})
	}
	sup.t = t
	// the referral sharing nothing asks for the child's profile and case type
	checkPage(t, sup.get("/console/referrals/"+bare.ID), http.StatusOK, []string{`id="pseudonym"`, `id="age_band"`, `id="case_type"`}, nil)
	r := sup.post("/console/referrals/"+bare.ID+"/decline", url.Values{"version": {"1"}, "reason": {""}})
	checkPage(t, r, http.StatusBadRequest, []string{`id="decline-error"`, `aria-invalid="true"`}, nil)
	r = sup.post("/console/referrals/"+bare.ID+"/decline", url.Values{"version": {"1"}, "reason": {"No capacity this month"}})
	if r.status != http.StatusSeeOther || r.location() != "/console/referrals/"+bare.ID {
		t.Fatalf("decline: %d %s %.300s", r.status, r.location(), r.body)
	}
	checkPage(t, sup.get(r.location()), http.StatusOK, []string{"No capacity this month", `id="referral-status">declined`}, []string{`id="accept-form"`})
	var seen referralBody
	get(t, base, "/v1/cases/"+p.caseID+"/referrals/"+bare.ID, bearer(p.worker)).json(t, &seen)
	if seen.Status.Code != "declined" || seen.Reason != "No capacity this month" {
		t.Errorf("the sender's view of the decline: %+v", seen)
	}

	// accept: the new case opens, with the shared profile and the care sections
	_, _, worker := p.to.newUser(t, "caseworker")
	sup.get("/console/referrals/" + shared.ID)
	r = sup.post("/console/referrals/"+shared.ID+"/accept", url.Values{"version": {"1"}, "reference_number": {"BH-7"}, "caseworker_id": {worker.User.ID}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/cases/") {
		t.Fatalf("accept: %d %s %.600s", r.status, r.location(), r.body)
	}
	caseID := strings.TrimPrefix(r.location(), "/console/cases/")
	checkPage(t, sup.get(r.location()), http.StatusOK, []string{"Child T.", "BH-7", `id="flags-h"`, `id="no-flags"`, `id="consents-h"`, `id="services-h"`, `id="appointments-h"`, `id="time-standards"`}, nil)
	checkPage(t, sup.get("/console/referrals/"+shared.ID), http.StatusOK, []string{`id="referral-case" href="/console/cases/` + caseID + `"`, `id="referral-status">accepted`}, []string{`id="accept-form"`})
	if r := sup.post("/console/referrals/"+shared.ID+"/accept", url.Values{"version": {"1"}}); r.status != http.StatusConflict {
		t.Errorf("accepting twice: %d", r.status)
	}

	// neither the sender nor a third organisation sees the page
	senderName, senderPassword, _ := p.from.newUser(t, "supervisor")
	otherName, otherPassword, _ := newOrg(t).newUser(t, "supervisor")
	for who, cc := range map[string]*consoleClient{"the sender": consoleSignIn(t, base, senderName, senderPassword), "a third organisation": consoleSignIn(t, base, otherName, otherPassword)} {
		if r := cc.get("/console/referrals/" + shared.ID); r.status != http.StatusNotFound {
			t.Errorf("%s reading the referral: %d", who, r.status)
		}
		if r := cc.post("/console/referrals/"+shared.ID+"/decline", url.Values{"version": {"2"}, "reason": {"x"}}); r.status != http.StatusNotFound {
			t.Errorf("%s declining the referral: %d", who, r.status)
		}
	}
	checkReferralAudit(t, base, p.receiver, shared.ID, "referral.read", "referral.accept")
	checkReferralAudit(t, base, p.receiver, bare.ID, "referral.decline")
}

// The case page shows the consents (a withdrawn one marked), the services with their outcomes, the
// appointments with the time standards, and the flags; a supervisor raises a flag (a missing
// reason is sent back at the field) and resolves it. Another organisation's caseworker gets 404.
func TestConsoleCaseCare(t *testing.T) {
	t.Parallel()
	base := server(t).base
	p := newSharingParties(t)
	cases := "/v1/cases/" + p.caseID
	consentID := p.consent(t, "profile")
	if r := post(t, base, http.MethodPost, cases+"/consents/"+consentID+"/withdrawal", p.worker.AccessToken, map[string]any{"version": 1}); r.status != http.StatusOK {
		t.Fatalf("withdrawal: %d %s", r.status, r.body)
	}
	p.consent(t, "profile", "case_types")
	for _, s := range []map[string]any{
		{"id": newUUID(), "discipline": "therapy", "status": "in_progress", "provider": "Trauma unit", "outcome": map[string]any{"sessions": 3}},
		{"id": newUUID(), "discipline": "medical_examination", "status": "completed", "outcome": map[string]any{"examination_done": true, "follow_up_needed": false}},
	} {
		if r := post(t, base, http.MethodPost, cases+"/services", p.worker.AccessToken, s); r.status != http.StatusCreated {
			t.Fatalf("service: %d %s", r.status, r.body)
		}
	}
	when := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)
	if r := post(t, base, http.MethodPost, cases+"/appointments", p.worker.AccessToken, map[string]any{"id": newUUID(), "kind": "forensic_interview",
		"starts_at": when.Format(time.RFC3339), "place": "Interview suite B"}); r.status != http.StatusCreated {
		t.Fatalf("appointment: %d %s", r.status, r.body)
	}
	name, password, _ := p.from.newUser(t, "supervisor")
	worker := consoleSignIn(t, base, name, password)
	page := "/console/cases/" + p.caseID
	checkPage(t, worker.get(page+"?lang=fr"), http.StatusOK, []string{`id="consents"`, "Retiré le", "Valable", "thérapie", "Trauma unit", "Séances : 3",
		"Examen fait : oui", "Suivi nécessaire : non", "Interview suite B", "audition médico-légale", `id="no-flags"`}, nil)

	r := worker.post(page+"/flags", url.Values{"kind": {"risk_to_child"}, "reason": {""}})
	checkPage(t, r, http.StatusBadRequest, []string{`id="flag-reason-error"`}, nil)
	r = worker.post(page+"/flags", url.Values{"kind": {"risk_to_child"}, "reason": {"Contact with the suspect"}})
	if r.status != http.StatusSeeOther || r.location() != page {
		t.Fatalf("raise: %d %s %.300s", r.status, r.location(), r.body)
	}
	var flags struct {
		Items []struct {
			ID      string `json:"id"`
			Active  bool   `json:"active"`
			Version int64  `json:"version"`
		} `json:"items"`
	}
	get(t, base, cases+"/flags", bearer(p.worker)).json(t, &flags)
	if len(flags.Items) != 1 || !flags.Items[0].Active {
		t.Fatalf("flags after the console raised one: %+v", flags.Items)
	}
	flag := flags.Items[0].ID
	checkPage(t, worker.get(page), http.StatusOK, []string{`data-flag="` + flag + `"`, "Contact with the suspect", "/flags/" + flag + "/resolve"}, nil)
	r = worker.post(page+"/flags/"+flag+"/resolve", url.Values{"version": {"1"}, "reason": {"Suspect in custody"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("resolve: %d %.300s", r.status, r.body)
	}
	checkPage(t, worker.get(page), http.StatusOK, []string{"Suspect in custody"}, []string{"/flags/" + flag + "/resolve"})

	otherName, otherPassword, _ := newOrg(t).newUser(t, "caseworker")
	other := consoleSignIn(t, base, otherName, otherPassword)
	if r := other.get(page); r.status != http.StatusNotFound {
		t.Errorf("another organisation's case page: %d", r.status)
	}
	if r := other.post(page+"/flags", url.Values{"kind": {"other"}, "reason": {"x"}}); r.status != http.StatusNotFound {
		t.Errorf("another organisation raising a flag: %d", r.status)
	}
}

// The calendar shows a chosen week's appointments (a supervisor's organisation's, a caseworker's
// own cases'); the reports page shows the period report with bar charts, small counts as <5 and
// no bar for them, and a CSV download; auditors read it too, caseworkers get 403.
func TestConsoleCalendarAndReports(t *testing.T) {
	t.Parallel()
	base := server(t).base
	o := newOrg(t)
	supName, supPassword, _ := o.newUser(t, "supervisor")
	workerName, workerPassword, worker := o.newUser(t, "caseworker")
	idleName, idlePassword, _ := o.newUser(t, "caseworker")
	auditorName, auditorPassword, _ := o.newUser(t, "auditor")
	var caseIDs []string
	for i := range 5 {
		id := newUUID()
		c := newCase(id, "Child "+string(rune('K'+i)))
		child := c["child"].(map[string]any)
		child["age_band"] = "6_to_11"
		if i == 0 {
			child["gender"] = "male"
		}
		if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, c); r.status != http.StatusCreated {
			t.Fatalf("case: %d %s", r.status, r.body)
		}
		caseIDs = append(caseIDs, id)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	monday := today.AddDate(0, 0, 7-(int(today.Weekday())+6)%7) // next week's Monday
	wednesday := monday.AddDate(0, 0, 2).Add(10 * time.Hour)
	appt := newUUID()
	if r := post(t, base, http.MethodPost, "/v1/cases/"+caseIDs[0]+"/appointments", worker.AccessToken, map[string]any{"id": appt, "kind": "forensic_interview",
		"starts_at": wednesday.Format(time.RFC3339), "duration_minutes": 90, "place": "Room 4"}); r.status != http.StatusCreated {
		t.Fatalf("appointment: %d %s", r.status, r.body)
	}
	sup := consoleSignIn(t, base, supName, supPassword)
	if r := sup.get("/console/"); !strings.Contains(r.body, `href="/console/calendar"`) || !strings.Contains(r.body, `href="/console/reports"`) {
		t.Error("the supervisor's navigation lacks the calendar or the reports")
	}
	week := "/console/calendar?week=" + wednesday.Format(time.DateOnly)
	checkPage(t, sup.get(week), http.StatusOK, []string{`data-appointment="` + appt + `"`, "forensic interview", "Room 4", "Wednesday", "90 min",
		`href="/console/cases/` + caseIDs[0] + `"`, `?week=` + monday.AddDate(0, 0, 7).Format(time.DateOnly), `?week=` + monday.AddDate(0, 0, -7).Format(time.DateOnly)}, nil)
	checkPage(t, sup.get("/console/calendar?week="+today.Format(time.DateOnly)), http.StatusOK, []string{`id="no-appointments"`}, nil)
	checkPage(t, sup.get("/console/calendar?week=soon"), http.StatusBadRequest, nil, nil)
	checkPage(t, consoleSignIn(t, base, workerName, workerPassword).get(week), http.StatusOK, []string{`data-appointment="` + appt + `"`}, nil)
	checkPage(t, consoleSignIn(t, base, idleName, idlePassword).get(week), http.StatusOK, []string{`id="no-appointments"`}, []string{appt})

	period := "?from=" + today.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, 1).Format(time.DateOnly)
	r := sup.get("/console/reports" + period)
	checkPage(t, r, http.StatusOK, []string{`id="children">5<`, `id="chart-age-band"`, `id="chart-gender"`, `id="chart-case-type"`, `id="chart-referrals"`,
		"6 to 11 years", "Female", "&lt;5", `href="/console/reports/period.csv` + strings.ReplaceAll(period, "&", "&amp;") + `"`}, []string{"Child K"})
	// bars for the age band and case type (5 each), none for the suppressed genders
	if n := strings.Count(r.body, `<rect class="bar" `); n != 2 {
		t.Errorf("%d bars drawn, want 2", n)
	}
	csv := sup.get("/console/reports/period.csv" + period)
	if csv.status != http.StatusOK || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(csv.header.Get("Content-Disposition"), "attachment") || !strings.Contains(csv.body, "children,,count,5\n") ||
		!strings.Contains(csv.body, "gender,male,count,<5\n") {
		t.Errorf("CSV: %d %v\n%s", csv.status, csv.header, csv.body)
	}
	checkPage(t, sup.get("/console/reports?from=yesterday"), http.StatusBadRequest, nil, nil)
	checkPage(t, sup.get("/console/reports?from=2026-05-02&to=2026-05-01"), http.StatusBadRequest, nil, nil)
	checkPage(t, consoleSignIn(t, base, auditorName, auditorPassword).get("/console/reports"), http.StatusOK, []string{`id="children"`}, nil)
	if r := consoleSignIn(t, base, workerName, workerPassword).get("/console/reports"); r.status != http.StatusForbidden {
		t.Errorf("a caseworker's reports page: %d", r.status)
	}
}
