package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
)

type referralBody struct {
	ID            string  `json:"id"`
	FromOrgID     string  `json:"from_org_id"`
	ToOrgID       string  `json:"to_org_id"`
	ToCaseID      *string `json:"to_case_id"`
	ConsentID     *string `json:"consent_id"`
	ConsentStatus *string `json:"consent_status"`
	Outcome       string  `json:"outcome"`
	Reason        string  `json:"reason"`
	ReceiverNote  *string `json:"receiver_note"`
	Status        struct {
		Code  string `json:"code"`
		Label string `json:"label"`
	} `json:"status"`
	Service struct {
		Code  string `json:"code"`
		Label string `json:"label"`
	} `json:"service"`
	Version int64 `json:"version"`
}

type consentBody struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Version int64  `json:"version"`
}

func bearer(tk tokens) string { return "Authorization: Bearer " + tk.AccessToken }

func newUUID() string { return uuid.Must(uuid.NewV7()).String() }

// A police unit refers a 9-year-old to a Barnahus with the caregiver's consent to share the child's
// profile and case types: a referral sharing more is refused; the Barnahus accepts and gets a case of
// its own holding only that; it completes the referral with an outcome the police unit reads, never
// its own notes; the caregiver withdraws consent, the Barnahus sees it, and a new sharing referral is
// refused; a third organisation sees none of it (404); both audit logs record every step.
func TestReferralWithConsent(t *testing.T) {
	t.Parallel()
	s := server(t)
	base := s.base
	police, barnahus, third := newOrg(t), newOrg(t), newOrg(t)
	_, _, officer := police.newUser(t, "caseworker")
	_, _, policeSupervisor := police.newUser(t, "supervisor")
	_, _, coordinator := barnahus.newUser(t, "supervisor")
	_, _, therapist := barnahus.newUser(t, "caseworker")
	_, _, stranger := third.newUser(t, "supervisor")

	caseID := newUUID()
	birthYear := time.Now().Year() - 9
	newCase := map[string]any{"id": caseID, "reference_number": "POL-2026-0917",
		"child": map[string]any{"pseudonym": "K.L.", "age_band": "6_to_11", "birth_year": birthYear, "gender": "female", "preferred_language": "en",
			"needs": map[string]any{"disability": true, "disability_notes": "hearing aid in the left ear"}},
		"case_types": []string{"grooming", "abuse_material"}}
	if r := post(t, base, http.MethodPost, "/v1/cases", officer.AccessToken, newCase); r.status != http.StatusCreated {
		t.Fatalf("creating the police case: %d %s", r.status, r.body)
	}
	cases := "/v1/cases/" + caseID

	// The caregiver's consent: share the profile and case types with the Barnahus. Sent twice with
	// the same Idempotency-Key: recorded once.
	consentID := newUUID()
	consentReq := map[string]any{"id": consentID, "given_by": "caregiver", "purposes": []string{"information_sharing"},
		"organisation_ids": []string{barnahus.id}, "parts": []string{"profile", "case_types"}, "note": "Mother agreed by phone, witnessed by PC Osei"}
	key := newUUID()
	for i := range 2 {
		r := postKey(t, base, cases+"/consents", officer.AccessToken, key, consentReq)
		if r.status != http.StatusCreated {
			t.Fatalf("consent (try %d): %d %s", i+1, r.status, r.body)
		}
	}
	var consents struct{ Items []consentBody }
	get(t, base, cases+"/consents", bearer(officer)).json(t, &consents)
	if len(consents.Items) != 1 || consents.Items[0].Status != "active" {
		t.Fatalf("consents after a retried create: %+v", consents.Items)
	}

	refer := func(t *testing.T, parts []string) *response {
		t.Helper()
		return post(t, base, http.MethodPost, cases+"/referrals", officer.AccessToken, map[string]any{"id": newUUID(), "to_org_id": barnahus.id,
			"service": "medical_examination", "urgency": "urgent", "parts": parts, "note": "Disclosure on 3 December; please examine within 72 hours"})
	}
	// Sharing the needs too: no consent covers it.
	r := refer(t, []string{"profile", "case_types", "needs"})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("a referral sharing more than the consent: %d %s", r.status, r.body)
	}
	if p := r.problem(t); p.Code != "consent_required" || len(p.Errors) != 1 || p.Errors[0].Field != "parts" {
		t.Errorf("refusal: %s", r.body)
	}

	r = refer(t, []string{"profile", "case_types"})
	if r.status != http.StatusCreated {
		t.Fatalf("referral: %d %s", r.status, r.body)
	}
	var sent referralBody
	r.json(t, &sent)
	if sent.Status.Code != "sent" || sent.ConsentID == nil || *sent.ConsentID != consentID || sent.Service.Label == "" {
		t.Errorf("sent referral: %s", r.body)
	}
	received := "/v1/referrals/" + sent.ID

	// Sent again with the same id: the same referral; with the same id and another urgency: a conflict.
	resend := map[string]any{"id": sent.ID, "to_org_id": barnahus.id, "service": "medical_examination", "urgency": "urgent",
		"parts": []string{"profile", "case_types"}, "note": "Disclosure on 3 December; please examine within 72 hours"}
	if r := post(t, base, http.MethodPost, cases+"/referrals", officer.AccessToken, resend); r.status != http.StatusOK {
		t.Errorf("the same referral sent again: %d %s", r.status, r.body)
	}
	resend["urgency"] = "routine"
	if r := post(t, base, http.MethodPost, cases+"/referrals", officer.AccessToken, resend); r.status != http.StatusConflict || r.problem(t).Code != "referral_id_conflict" {
		t.Errorf("the id reused for another referral: %d %s", r.status, r.body)
	}

	// The Barnahus inbox holds it; the third organisation sees nothing.
	var inbox struct{ Items []referralBody }
	get(t, base, "/v1/referrals?status=sent", bearer(coordinator)).json(t, &inbox)
	if len(inbox.Items) != 1 || inbox.Items[0].ID != sent.ID || inbox.Items[0].ConsentStatus == nil || *inbox.Items[0].ConsentStatus != "active" {
		t.Fatalf("Barnahus inbox: %+v", inbox.Items)
	}
	checkThirdOrganisation(t, base, stranger, caseID, sent.ID)

	// Accept: the Barnahus gets its own case with the profile and case types, not the needs.
	r = post(t, base, http.MethodPost, received+"/accept", coordinator.AccessToken, map[string]any{"version": sent.Version,
		"reference_number": "BH-118", "caseworker_ids": []string{therapist.User.ID}})
	if r.status != http.StatusOK {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	var accepted struct {
		Referral referralBody
		Case     struct {
			ID, OrgID string
			Child     struct {
				Pseudonym string
				AgeBand   string `json:"age_band"`
				BirthYear *int   `json:"birth_year"`
				Needs     struct {
					Disability      bool
					DisabilityNotes string `json:"disability_notes"`
				}
			}
			CaseTypes []string `json:"case_types"`
		}
	}
	r.json(t, &accepted)
	bhCase := accepted.Case
	if accepted.Referral.Status.Code != "accepted" || accepted.Referral.ToCaseID == nil || *accepted.Referral.ToCaseID != bhCase.ID || bhCase.ID == caseID {
		t.Fatalf("accepted: %s", r.body)
	}
	if bhCase.Child.Pseudonym != "K.L." || bhCase.Child.AgeBand != "6_to_11" || bhCase.Child.BirthYear == nil || *bhCase.Child.BirthYear != birthYear ||
		strings.Join(bhCase.CaseTypes, ",") != "abuse_material,grooming" {
		t.Errorf("the Barnahus case lacks the shared parts: %s", r.body)
	}
	if bhCase.Child.Needs.Disability || bhCase.Child.Needs.DisabilityNotes != "" {
		t.Errorf("the Barnahus case holds the needs, which were not shared: %s", r.body)
	}
	// A retried acceptance creates nothing twice; the police cannot read the Barnahus case.
	if r := post(t, base, http.MethodPost, received+"/accept", coordinator.AccessToken, map[string]any{"version": sent.Version}); r.status != http.StatusConflict {
		t.Errorf("accepting again: %d %s", r.status, r.body)
	}
	if r := get(t, base, "/v1/cases/"+bhCase.ID, bearer(officer)); r.status != http.StatusNotFound {
		t.Errorf("the police reading the Barnahus case: %d", r.status)
	}
	if r := get(t, base, "/v1/cases/"+bhCase.ID, bearer(therapist)); r.status != http.StatusOK {
		t.Errorf("the assigned Barnahus caseworker reading their case: %d %s", r.status, r.body)
	}

	// In progress, then completed with an outcome, by the assigned therapist; notes of their own.
	var step referralBody
	r = post(t, base, http.MethodPost, received+"/start", therapist.AccessToken, map[string]any{"version": accepted.Referral.Version, "note": "Internal: child anxious about the examination room"})
	if r.status != http.StatusOK {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	r.json(t, &step)
	r = post(t, base, http.MethodPost, received+"/complete", therapist.AccessToken, map[string]any{"version": step.Version,
		"outcome": "Medical examination done; no follow-up needed", "note": "Internal: therapy offered to the family"})
	if r.status != http.StatusOK {
		t.Fatalf("complete: %d %s", r.status, r.body)
	}
	r.json(t, &step)
	if step.ReceiverNote == nil || !strings.Contains(*step.ReceiverNote, "therapy offered") {
		t.Errorf("the receiver does not read its own note: %s", r.body)
	}

	// The police read the status and outcome, never the Barnahus's notes.
	r = get(t, base, cases+"/referrals/"+sent.ID, bearer(officer))
	var seen referralBody
	r.json(t, &seen)
	if seen.Status.Code != "completed" || seen.Outcome != "Medical examination done; no follow-up needed" {
		t.Errorf("the police's view: %s", r.body)
	}
	if strings.Contains(string(r.body), "Internal:") || seen.ReceiverNote != nil {
		t.Errorf("the police read the Barnahus's own notes: %s", r.body)
	}

	// The caregiver withdraws consent: the Barnahus sees it, a new sharing referral is refused, one
	// sharing nothing is not.
	r = post(t, base, http.MethodPost, cases+"/consents/"+consentID+"/withdrawal", policeSupervisor.AccessToken,
		map[string]any{"version": 1, "withdrawn_at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), "note": "Mother called the unit"})
	if r.status != http.StatusOK {
		t.Fatalf("withdrawal: %d %s", r.status, r.body)
	}
	var withdrawn consentBody
	r.json(t, &withdrawn)
	if withdrawn.Status != "withdrawn" || withdrawn.Version != 2 {
		t.Errorf("withdrawn consent: %s", r.body)
	}
	if r := post(t, base, http.MethodPost, cases+"/consents/"+consentID+"/withdrawal", policeSupervisor.AccessToken, map[string]any{"version": 1}); r.status != http.StatusConflict {
		t.Errorf("withdrawing twice: %d %s", r.status, r.body)
	}
	get(t, base, received, bearer(coordinator)).json(t, &seen)
	if seen.ConsentStatus == nil || *seen.ConsentStatus != "withdrawn" {
		t.Errorf("the Barnahus does not see the withdrawal: %+v", seen)
	}
	if r := refer(t, []string{"profile"}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("a sharing referral after the withdrawal: %d %s", r.status, r.body)
	}
	if r := refer(t, nil); r.status != http.StatusCreated {
		t.Errorf("a referral sharing nothing after the withdrawal: %d %s", r.status, r.body)
	}
	get(t, base, cases+"/consents", bearer(officer)).json(t, &consents)
	if len(consents.Items) != 1 || consents.Items[0].Status != "withdrawn" {
		t.Errorf("the history after the withdrawal: %+v", consents.Items)
	}

	checkThirdOrganisation(t, base, stranger, caseID, sent.ID)
	checkReferralAudit(t, base, policeSupervisor, sent.ID, "referral.create", "referral.accept", "referral.start", "referral.complete")
	checkReferralAudit(t, base, coordinator, sent.ID, "referral.receive", "referral.accept", "referral.start", "referral.complete")

	// At rest: the notes and the outcome are encrypted.
	raw := rawDatabase(t, s)
	for _, coll := range []string{"referrals", "consents"} {
		cur, err := raw.Collection(coll).Find(context.Background(), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{sent.ID, consentID}}}}})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.Raw
		if err := cur.All(context.Background(), &docs); err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			for _, plain := range []string{"72 hours", "no follow-up", "therapy offered", "PC Osei", "Mother called"} {
				if strings.Contains(d.String(), plain) {
					t.Errorf("%s holds %q in clear", coll, plain)
				}
			}
		}
	}
}

// checkThirdOrganisation checks that a supervisor of an organisation not party to a referral sees
// neither the case, its consents and referrals, nor the referral (404), and not in its inbox.
func checkThirdOrganisation(t *testing.T, base string, stranger tokens, caseID, referralID string) {
	t.Helper()
	for _, path := range []string{"/v1/cases/" + caseID + "/consents", "/v1/cases/" + caseID + "/referrals",
		"/v1/cases/" + caseID + "/referrals/" + referralID, "/v1/referrals/" + referralID} {
		if r := get(t, base, path, bearer(stranger)); r.status != http.StatusNotFound {
			t.Errorf("a third organisation reading %s: %d %s", path, r.status, r.body)
		}
	}
	for path, body := range map[string]map[string]any{"/v1/referrals/" + referralID + "/accept": {"version": 1},
		"/v1/referrals/" + referralID + "/decline": {"version": 1, "reason": "not ours"}} {
		if r := post(t, base, http.MethodPost, path, stranger.AccessToken, body); r.status != http.StatusNotFound {
			t.Errorf("a third organisation posting %s: %d %s", path, r.status, r.body)
		}
	}
	if r := get(t, base, "/v1/referrals", bearer(stranger)); strings.Contains(string(r.body), referralID) {
		t.Errorf("the referral is in a third organisation's inbox")
	}
}

// checkReferralAudit checks that the audit log of supervisor's organisation records actions on
// the referral.
func checkReferralAudit(t *testing.T, base string, supervisor tokens, referralID string, actions ...string) {
	t.Helper()
	var log struct {
		Items []struct {
			Action  string `json:"action"`
			Outcome string `json:"outcome"`
		} `json:"items"`
	}
	get(t, base, "/v1/audit?resource_id="+referralID+"&limit=200", bearer(supervisor)).json(t, &log)
	seen := map[string]bool{}
	for _, e := range log.Items {
		if e.Outcome == "success" {
			seen[e.Action] = true
		}
	}
	for _, a := range actions {
		if !seen[a] {
			t.Errorf("the audit log lacks %s (has %v)", a, seen)
		}
	}
}
