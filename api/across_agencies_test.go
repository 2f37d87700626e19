package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// orgUser creates a user with role in organisation org of the world's server (through an admin of
// that organisation made with the users command) and signs them in.
func (w careWorld) orgUser(t *testing.T, org, name, role string) tokens {
	t.Helper()
	admin, pw := org+"-admin-"+name, "organisation admin passphrase long"
	args := []string{"create", "-org", org, "-username", admin, "-roles", "admin", "-display-name", "Admin " + org}
	if err := usersCommand(context.Background(), args, func(k string) string { return w.env[k] }, strings.NewReader(pw+"\n"), io.Discard, io.Discard, testPasswords); err != nil {
		t.Fatalf("admin of %s: %v", org, err)
	}
	adminTokens := login(t, w.base, admin, pw, "d-"+admin)
	userPw := "long enough passphrase for this person"
	w.call(t, http.MethodPost, "/v1/users", adminTokens.AccessToken, map[string]any{"username": name, "display_name": "Test " + name,
		"roles": []string{role}, "password": userPw}, http.StatusCreated, nil)
	return login(t, w.base, name, userPw, "d-"+name)
}

// orgOf returns the organisation of the signed-in user.
func (w careWorld) orgOf(t *testing.T, tk tokens) string {
	t.Helper()
	var me struct {
		User struct {
			OrgID string `json:"org_id"`
		} `json:"user"`
	}
	w.call(t, http.MethodGet, "/v1/me", tk.AccessToken, nil, http.StatusOK, &me)
	return me.User.OrgID
}

// The "Done when", through the API: a police unit refers a 9-year-old to a Barnahus with
// the caregiver's consent to share the child's profile and case types; a referral sharing more is
// refused; the Barnahus accepts, schedules a forensic interview within the standard and a medical
// examination that goes overdue and is flagged; records services and their outcomes; completes the
// referral with an outcome the police unit reads; the caregiver withdraws consent and a new sharing
// referral is refused; a case review meeting assigns an action that shows as due; the period
// report equals hand-computed figures with small counts suppressed; a third organisation sees none
// of it (404).
func TestAcrossAgenciesDoneWhen(t *testing.T) {
	t.Parallel()
	w := newCareWorld(t) // the Barnahus is the default organisation: w.supervisor, w.worker, w.auditor
	coordinator, therapist := w.supervisor, w.worker
	officer := w.orgUser(t, "police-unit", "officer", "caseworker")
	policeSup := w.other
	stranger := w.orgUser(t, "family-clinic", "clinic-sup", "supervisor")
	barnahus := w.orgOf(t, coordinator)
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)

	// The police case of a 9-year-old girl.
	policeCase := newID()
	w.call(t, http.MethodPost, "/v1/cases", officer.AccessToken, map[string]any{"id": policeCase, "reference_number": "POL-2026-77",
		"child": map[string]any{"pseudonym": "M.N.", "age_band": "6_to_11", "birth_year": time.Now().Year() - 9, "gender": "female",
			"needs": map[string]any{"disability": true, "disability_notes": "uses a wheelchair"}},
		"case_types": []string{"grooming", "abuse_material"}}, http.StatusCreated, nil)
	pc := "/v1/cases/" + policeCase

	// The caregiver's consent to share the profile and the case types with the Barnahus.
	consentID := newID()
	w.call(t, http.MethodPost, pc+"/consents", officer.AccessToken, map[string]any{"id": consentID, "given_by": "caregiver",
		"purposes": []string{"information_sharing", "services"}, "organisation_ids": []string{barnahus}, "parts": []string{"profile", "case_types"}},
		http.StatusCreated, nil)
	refer := func(parts []string, want int) referralBody {
		t.Helper()
		var ref referralBody
		r := w.call(t, http.MethodPost, pc+"/referrals", officer.AccessToken, map[string]any{"id": newID(), "to_org_id": barnahus,
			"service": "medical_examination", "urgency": "urgent", "parts": parts}, want, nil)
		if want == http.StatusCreated {
			r.json(t, &ref)
		} else if p := r.problem(t); p.Code != "consent_required" || len(p.Errors) != 1 || p.Errors[0].Field != "parts" {
			t.Errorf("refusal of a referral sharing %v: %s", parts, r.body)
		}
		return ref
	}
	refer([]string{"profile", "case_types", "needs"}, http.StatusUnprocessableEntity)
	sent := refer([]string{"profile", "case_types"}, http.StatusCreated)

	// The Barnahus accepts: its own case holds the profile and case types, not the needs.
	var accepted struct {
		Referral referralBody `json:"referral"`
		Case     struct {
			ID       string    `json:"id"`
			OpenedAt time.Time `json:"opened_at"`
			Child    struct {
				AgeBand string `json:"age_band"`
				Needs   struct {
					DisabilityNotes string `json:"disability_notes"`
				} `json:"needs"`
			} `json:"child"`
		} `json:"case"`
	}
	w.call(t, http.MethodPost, "/v1/referrals/"+sent.ID+"/accept", coordinator.AccessToken, map[string]any{"version": sent.Version,
		"reference_number": "BH-9", "caseworker_ids": []string{therapist.User.ID}}, http.StatusOK, &accepted)
	bh := accepted.Case.ID
	if accepted.Case.Child.AgeBand != "6_to_11" || accepted.Case.Child.Needs.DisabilityNotes != "" {
		t.Errorf("the Barnahus case: %+v", accepted.Case)
	}
	opened := accepted.Case.OpenedAt

	// Five more children the Barnahus serves, each interviewed 24 to 120 hours after first contact.
	others := make([]string, 5)
	for i := range others {
		others[i] = newID()
		c := newCase(others[i], "Child "+string(rune('P'+i)))
		c["child"].(map[string]any)["age_band"] = "6_to_11"
		c["opened_at"] = rfc(t0)
		w.call(t, http.MethodPost, "/v1/cases", therapist.AccessToken, c, http.StatusCreated, nil)
		w.call(t, http.MethodPost, "/v1/cases/"+others[i]+"/appointments", therapist.AccessToken, map[string]any{"id": newID(), "kind": "forensic_interview",
			"starts_at": rfc(t0.Add(time.Duration(24*(i+1)) * time.Hour)), "status": "done"}, http.StatusCreated, nil)
	}

	// The referred child is acute: a forensic interview within the standard (48 hours after first
	// contact) and a medical examination that goes overdue once 73 hours pass.
	bc := "/v1/cases/" + bh
	w.call(t, http.MethodPost, bc+"/flags", therapist.AccessToken, map[string]any{"id": newID(), "kind": "acute", "reason": "Disclosure yesterday"}, http.StatusCreated, nil)
	var fi careAppointment
	w.call(t, http.MethodPost, bc+"/appointments", therapist.AccessToken, map[string]any{"id": newID(), "kind": "forensic_interview",
		"starts_at": rfc(opened.Add(48 * time.Hour)), "place": "Interview room 1"}, http.StatusCreated, &fi)
	w.call(t, http.MethodPost, bc+"/appointments", therapist.AccessToken, map[string]any{"id": newID(), "kind": "medical_examination",
		"starts_at": rfc(opened.Add(96 * time.Hour))}, http.StatusCreated, nil)
	var m careMeasures
	w.call(t, http.MethodGet, bc+"/time-standards", therapist.AccessToken, nil, http.StatusOK, &m)
	if m.Overdue || m.status(stdInterview) != "scheduled" {
		t.Fatalf("before the deadline: %+v", m)
	}
	w.clock.advance(73 * time.Hour)
	w.call(t, http.MethodGet, bc+"/time-standards", therapist.AccessToken, nil, http.StatusOK, &m)
	if !m.Overdue || m.status(stdMedical) != "overdue" || m.status(stdInterview) != "scheduled" {
		t.Fatalf("after 73 hours: %+v", m)
	}
	var cases struct {
		Items []struct {
			ID      string `json:"id"`
			Overdue bool   `json:"overdue"`
		} `json:"items"`
	}
	w.call(t, http.MethodGet, "/v1/cases?flag=acute", coordinator.AccessToken, nil, http.StatusOK, &cases)
	if len(cases.Items) != 1 || cases.Items[0].ID != bh {
		t.Errorf("acute cases: %+v", cases.Items)
	}
	w.call(t, http.MethodPatch, "/v1/appointments/"+fi.ID, therapist.AccessToken, map[string]any{"version": fi.Version, "status": "done"}, http.StatusOK, nil)

	// Services and their outcomes.
	svc := bc + "/services"
	w.call(t, http.MethodPost, svc, therapist.AccessToken, map[string]any{"id": newID(), "discipline": "therapy", "status": "in_progress",
		"outcome": map[string]any{"sessions": 2}}, http.StatusCreated, nil)
	w.call(t, http.MethodPost, svc, therapist.AccessToken, map[string]any{"id": newID(), "discipline": "victim_advocacy", "status": "completed"}, http.StatusCreated, nil)
	var services struct {
		Items []struct {
			Discipline string `json:"discipline"`
			Status     string `json:"status"`
		} `json:"items"`
	}
	w.call(t, http.MethodGet, svc, coordinator.AccessToken, nil, http.StatusOK, &services)
	if len(services.Items) != 2 {
		t.Errorf("services: %+v", services.Items)
	}

	// The Barnahus completes the referral; the police read the outcome.
	var step referralBody
	received := "/v1/referrals/" + sent.ID
	w.call(t, http.MethodPost, received+"/start", therapist.AccessToken, map[string]any{"version": accepted.Referral.Version}, http.StatusOK, &step)
	w.call(t, http.MethodPost, received+"/complete", therapist.AccessToken, map[string]any{"version": step.Version,
		"outcome": "Examined; therapy started", "note": "Internal: mother anxious"}, http.StatusOK, &step)
	var seen referralBody
	r := w.call(t, http.MethodGet, pc+"/referrals/"+sent.ID, officer.AccessToken, nil, http.StatusOK, &seen)
	if seen.Status.Code != "completed" || seen.Outcome != "Examined; therapy started" || strings.Contains(string(r.body), "Internal:") {
		t.Errorf("the police's view of the completed referral: %s", r.body)
	}

	// The caregiver withdraws consent: the Barnahus sees it; a new sharing referral is refused.
	w.call(t, http.MethodPost, pc+"/consents/"+consentID+"/withdrawal", policeSup.AccessToken, map[string]any{"version": 1}, http.StatusOK, nil)
	w.call(t, http.MethodGet, received, coordinator.AccessToken, nil, http.StatusOK, &seen)
	if seen.ConsentStatus == nil || *seen.ConsentStatus != "withdrawn" {
		t.Errorf("the Barnahus's view after the withdrawal: %+v", seen)
	}
	refer([]string{"profile"}, http.StatusUnprocessableEntity)

	// A case review meeting assigns the therapist an action: due for them and in the worklist.
	action := newID()
	w.call(t, http.MethodPost, "/v1/appointments", coordinator.AccessToken, map[string]any{"id": newID(), "kind": "case_review", "case_ids": []string{bh},
		"starts_at": rfc(opened.Add(74 * time.Hour)), "participants": []map[string]any{{"user_id": therapist.User.ID, "role": "therapist"}, {"name": "Police liaison", "role": "police"}},
		"reviews": []map[string]any{{"case_id": bh, "decisions": "Book the medical examination this week",
			"actions": []map[string]any{{"id": action, "assignee_id": therapist.User.ID, "what": "Book the examination", "due": rfc(opened.Add(80 * time.Hour))}}}}},
		http.StatusCreated, nil)
	var due struct {
		Items []struct {
			ActionID string `json:"action_id"`
			CaseID   string `json:"case_id"`
		} `json:"items"`
	}
	w.call(t, http.MethodGet, "/v1/actions", therapist.AccessToken, nil, http.StatusOK, &due)
	if len(due.Items) != 1 || due.Items[0].ActionID != action || due.Items[0].CaseID != bh {
		t.Errorf("the therapist's due actions: %+v", due.Items)
	}
	var wl struct {
		DueActions []struct {
			ActionID string `json:"action_id"`
		} `json:"due_actions"`
		TimeStandards []struct {
			CaseID string `json:"case_id"`
			Code   string `json:"code"`
		} `json:"overdue_time_standards"`
	}
	w.call(t, http.MethodGet, "/v1/worklist", coordinator.AccessToken, nil, http.StatusOK, &wl)
	if len(wl.DueActions) != 1 || wl.DueActions[0].ActionID != action || len(wl.TimeStandards) != 1 || wl.TimeStandards[0].CaseID != bh {
		t.Errorf("the coordinator's worklist: %+v", wl)
	}

	// The Barnahus's period report, by hand: six children aged 6 to 11 (five girls from newCase, the
	// referred girl), all grooming, one also abuse material; forensic interviews after 24, 48, 48, 72,
	// 96 and 120 hours: median (48+72)/2 = 60, 90th percentile (rank ceil(5.4) = 6) 120, all six
	// within 14 days; one medical examination standard considered (overdue): suppressed; one
	// referral received (medical examination, completed): <5.
	from, to := t0.AddDate(0, 0, -1).Format(time.DateOnly), time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
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
		Referrals []struct{ Direction, Service, Outcome, Count string } `json:"referrals"`
	}
	path := "/v1/reports/period?from=" + from + "&to=" + to
	w.call(t, http.MethodGet, path, coordinator.AccessToken, nil, http.StatusOK, &rep)
	if rep.Children != "6" {
		t.Errorf("children: %s", rep.Children)
	}
	want := map[string][]struct{ Key, Count string }{"age band": {{"6_to_11", "6"}}, "gender": {{"female", "6"}},
		"case type": {{"abuse_material", "<5"}, {"grooming", "6"}}}
	for name, got := range map[string][]struct{ Key, Count string }{"age band": rep.ByAgeBand, "gender": rep.ByGender, "case type": rep.ByCaseType} {
		if !slices.Equal(got, want[name]) {
			t.Errorf("children by %s: %+v, want %+v", name, got, want[name])
		}
	}
	if len(rep.TimeTo) != 2 || string(rep.TimeTo[0].Median) != `{"n":"6","value":60}` || string(rep.TimeTo[0].P90) != `{"n":"6","value":120}` ||
		string(rep.TimeTo[1].Median) != `{"n":"<5","value":null}` {
		t.Errorf("times to: %+v", rep.TimeTo)
	}
	if len(rep.Standards) != 2 || rep.Standards[0].Considered != "6" || rep.Standards[0].Within != "6" || string(rep.Standards[0].Share) != `{"n":"6","value":1}` ||
		rep.Standards[1].Considered != "<5" || rep.Standards[1].Overdue != "<5" || string(rep.Standards[1].Share) != `{"n":"<5","value":null}` {
		t.Errorf("standards: %+v", rep.Standards)
	}
	if len(rep.Referrals) != 1 || rep.Referrals[0] != (struct{ Direction, Service, Outcome, Count string }{"received", "medical_examination", "completed", "<5"}) {
		t.Errorf("referrals: %+v", rep.Referrals)
	}
	var policeRep struct {
		Referrals []struct{ Direction, Service, Outcome, Count string } `json:"referrals"`
	}
	w.call(t, http.MethodGet, path, policeSup.AccessToken, nil, http.StatusOK, &policeRep)
	if len(policeRep.Referrals) != 1 || policeRep.Referrals[0].Direction != "sent" {
		t.Errorf("the police's referrals: %+v", policeRep.Referrals)
	}

	// A third organisation sees none of it.
	for _, p := range []string{pc, pc + "/consents", pc + "/referrals", pc + "/referrals/" + sent.ID, received, bc, bc + "/flags", svc,
		bc + "/appointments", bc + "/time-standards", "/v1/appointments/" + fi.ID} {
		w.call(t, http.MethodGet, p, stranger.AccessToken, nil, http.StatusNotFound, nil)
	}
	w.call(t, http.MethodPost, received+"/decline", stranger.AccessToken, map[string]any{"version": step.Version, "reason": "x"}, http.StatusNotFound, nil)
	var inbox struct {
		Items []referralBody `json:"items"`
	}
	w.call(t, http.MethodGet, "/v1/referrals", stranger.AccessToken, nil, http.StatusOK, &inbox)
	w.call(t, http.MethodGet, "/v1/actions", stranger.AccessToken, nil, http.StatusOK, &due)
	if len(inbox.Items) != 0 || len(due.Items) != 0 {
		t.Errorf("the third organisation's inbox %+v, actions %+v", inbox.Items, due.Items)
	}
}
