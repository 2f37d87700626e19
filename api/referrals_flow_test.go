package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// sharingParties is a sending organisation with a caseworker and a case, and a receiving one with a
// supervisor.
type sharingParties struct {
	from, to           testOrg
	worker, supervisor tokens // of from
	receiver           tokens // a supervisor of to
	caseID             string
}

func newSharingParties(t *testing.T) sharingParties {
	t.Helper()
	base := server(t).base
	p := sharingParties{from: newOrg(t), to: newOrg(t), caseID: newUUID()}
	_, _, p.worker = p.from.newUser(t, "caseworker")
	_, _, p.supervisor = p.from.newUser(t, "supervisor")
	_, _, p.receiver = p.to.newUser(t, "supervisor")
	if r := post(t, base, http.MethodPost, "/v1/cases", p.worker.AccessToken, newCase(p.caseID, "Child T.")); r.status != http.StatusCreated {
		t.Fatalf("create case: %d %s", r.status, r.body)
	}
	return p
}

// consent records a consent of the case to share parts with the receiving organisation.
func (p sharingParties) consent(t *testing.T, parts ...string) string {
	t.Helper()
	id := newUUID()
	r := post(t, server(t).base, http.MethodPost, "/v1/cases/"+p.caseID+"/consents", p.worker.AccessToken, map[string]any{"id": id,
		"legal_basis": "statutory_duty", "purposes": []string{"information_sharing", "services"}, "organisation_ids": []string{p.to.id}, "parts": parts,
		"valid_until": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)})
	if r.status != http.StatusCreated {
		t.Fatalf("consent: %d %s", r.status, r.body)
	}
	return id
}

// refer sends a referral of kind with parts and returns it.
func (p sharingParties) refer(t *testing.T, kind string, parts ...string) referralBody {
	t.Helper()
	r := post(t, server(t).base, http.MethodPost, "/v1/cases/"+p.caseID+"/referrals", p.worker.AccessToken, map[string]any{"id": newUUID(),
		"kind": kind, "to_org_id": p.to.id, "service": "child_protection_assessment", "parts": parts})
	if r.status != http.StatusCreated {
		t.Fatalf("referral: %d %s", r.status, r.body)
	}
	var ref referralBody
	r.json(t, &ref)
	return ref
}

// A transfer moves the whole case: on acceptance the receiver's case holds every sharable part, the
// sender's case is closed for good (no change, no reopening), and the open referral keeps it from
// being erased.
func TestReferralTransfer(t *testing.T) {
	t.Parallel()
	base := server(t).base
	p := newSharingParties(t)
	p.consent(t, "profile", "case_types", "needs", "interviews")
	ref := p.refer(t, "transfer")
	r := post(t, base, http.MethodPost, "/v1/referrals/"+ref.ID+"/accept", p.receiver.AccessToken, map[string]any{"version": ref.Version})
	if r.status != http.StatusOK {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	var accepted struct {
		Case struct {
			Child struct {
				Needs struct {
					DisabilityNotes string `json:"disability_notes"`
				}
			}
		}
	}
	r.json(t, &accepted)
	if accepted.Case.Child.Needs.DisabilityNotes != "uses picture cards for Child T." {
		t.Errorf("the transferred case lacks the needs: %s", r.body)
	}
	var sender struct {
		Status       string
		StatusReason string `json:"status_reason"`
		Version      int64
	}
	get(t, base, "/v1/cases/"+p.caseID, bearer(p.supervisor)).json(t, &sender)
	if sender.Status != "closed" || sender.StatusReason != "transferred" {
		t.Fatalf("the sender's case after the transfer: %+v", sender)
	}
	if r := post(t, base, http.MethodPost, "/v1/cases/"+p.caseID+"/reopen", p.supervisor.AccessToken, map[string]any{"version": sender.Version, "reason": "more work"}); r.status != http.StatusBadRequest || r.problem(t).Code != "case_transferred" {
		t.Errorf("reopening a transferred case: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/cases/"+p.caseID+"/erasure-requests", p.supervisor.AccessToken, map[string]any{"reason": "retention over"}); r.status != http.StatusConflict || r.problem(t).Code != "erasure_referral_open" {
		t.Errorf("erasing a case with an open referral: %d %s", r.status, r.body)
	}
}

// Decline, cancel and withdraw: the sender reads the receiver's reason; steps the status does not
// allow are refused (409 referral_status); stale versions get 409 with the current referral.
func TestReferralDeclineCancelWithdraw(t *testing.T) {
	t.Parallel()
	base := server(t).base
	p := newSharingParties(t)
	refs := "/v1/cases/" + p.caseID + "/referrals/"

	declined := p.refer(t, "referral")
	r := post(t, base, http.MethodPost, "/v1/referrals/"+declined.ID+"/decline", p.receiver.AccessToken, map[string]any{"version": 1, "reason": "No capacity this month"})
	if r.status != http.StatusOK {
		t.Fatalf("decline: %d %s", r.status, r.body)
	}
	var seen referralBody
	get(t, base, refs+declined.ID, bearer(p.worker)).json(t, &seen)
	if seen.Status.Code != "declined" || seen.Reason != "No capacity this month" {
		t.Errorf("the sender's view of the decline: %+v", seen)
	}

	cancelled := p.refer(t, "referral")
	if r := post(t, base, http.MethodPost, refs+cancelled.ID+"/cancel", p.worker.AccessToken, map[string]any{"version": 1, "reason": "Sent by mistake"}); r.status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/referrals/"+cancelled.ID+"/accept", p.receiver.AccessToken, map[string]any{"version": 2}); r.status != http.StatusConflict || r.problem(t).Code != "referral_status" {
		t.Errorf("accepting a cancelled referral: %d %s", r.status, r.body)
	}

	withdrawn := p.refer(t, "referral")
	r = post(t, base, http.MethodPost, "/v1/referrals/"+withdrawn.ID+"/accept", p.receiver.AccessToken, map[string]any{"version": 1,
		"child": map[string]any{"pseudonym": "R.", "age_band": "12_to_17"}, "case_types": []string{"cyberbullying"}})
	if r.status != http.StatusOK {
		t.Fatalf("accept a referral sharing nothing (the receiver's own details): %d %s", r.status, r.body)
	}
	r = post(t, base, http.MethodPost, refs+withdrawn.ID+"/withdraw", p.worker.AccessToken, map[string]any{"version": 1, "reason": "Family moved"})
	var stale struct {
		Code    string
		Current referralBody
	}
	r.json(t, &stale)
	if r.status != http.StatusConflict || stale.Code != "version_conflict" || stale.Current.Version != 2 || stale.Current.ReceiverNote != nil {
		t.Errorf("a stale withdrawal: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, refs+withdrawn.ID+"/withdraw", p.worker.AccessToken, map[string]any{"version": 2, "reason": "Family moved"}); r.status != http.StatusOK {
		t.Fatalf("withdraw: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/referrals/"+withdrawn.ID+"/start", p.receiver.AccessToken, map[string]any{"version": 3}); r.status != http.StatusConflict {
		t.Errorf("starting a withdrawn referral: %d %s", r.status, r.body)
	}
	// A caseworker of the receiving organisation not assigned to its case sees nothing.
	_, _, other := p.to.newUser(t, "caseworker")
	if r := get(t, base, "/v1/referrals/"+withdrawn.ID, bearer(other)); r.status != http.StatusNotFound {
		t.Errorf("an unassigned receiving caseworker: %d", r.status)
	}
}

// Bad input on consents and referrals gets localized field errors (or 404/422), and changes nothing.
func TestSharingBadInput(t *testing.T) {
	t.Parallel()
	base := server(t).base
	p := newSharingParties(t)
	cases := "/v1/cases/" + p.caseID
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	consent := func(change map[string]any) map[string]any {
		c := map[string]any{"id": newUUID(), "given_by": "child", "purposes": []string{"information_sharing"},
			"organisation_ids": []string{p.to.id}, "parts": []string{"profile"}}
		for k, v := range change {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	referral := func(change map[string]any) map[string]any {
		r := map[string]any{"id": newUUID(), "to_org_id": p.to.id, "service": "therapy"}
		for k, v := range change {
			r[k] = v
		}
		return r
	}
	tests := []struct {
		name, path string
		body       map[string]any
		status     int
		code       string
		field      string
	}{
		{"consent without giver or basis", cases + "/consents", consent(map[string]any{"given_by": nil}), 400, "validation_failed", "given_by"},
		{"consent with giver and basis", cases + "/consents", consent(map[string]any{"legal_basis": "court_order"}), 400, "validation_failed", "legal_basis"},
		{"consent by an unknown giver", cases + "/consents", consent(map[string]any{"given_by": "neighbour"}), 400, "validation_failed", "given_by"},
		{"consent for an unknown purpose", cases + "/consents", consent(map[string]any{"purposes": []string{"marketing"}}), 400, "validation_failed", "purposes[0]"},
		{"consent without purposes", cases + "/consents", consent(map[string]any{"purposes": []string{}}), 400, "validation_failed", "purposes"},
		{"consent without parts", cases + "/consents", consent(map[string]any{"parts": nil}), 400, "validation_failed", "parts"},
		{"consent to share with nobody", cases + "/consents", consent(map[string]any{"organisation_ids": nil}), 400, "validation_failed", "organisation_ids"},
		{"consent naming an unknown organisation", cases + "/consents", consent(map[string]any{"organisation_ids": []string{"no-such-org"}}), 400, "validation_failed", "organisation_ids[0]"},
		{"consent ending before it starts", cases + "/consents", consent(map[string]any{"valid_from": future, "valid_until": time.Now().UTC().Format(time.RFC3339)}), 400, "validation_failed", "valid_until"},
		{"consent given in the future", cases + "/consents", consent(map[string]any{"given_at": future}), 400, "validation_failed", "given_at"},
		{"consent with a bad id", cases + "/consents", consent(map[string]any{"id": "not-a-uuid"}), 400, "validation_failed", "id"},
		{"consent with an unknown field", cases + "/consents", consent(map[string]any{"scope": "all"}), 400, "validation_failed", "scope"},
		{"withdrawing an unknown consent", cases + "/consents/" + newUUID() + "/withdrawal", map[string]any{"version": 1}, 404, "consent_not_found", ""},
		{"withdrawal without a version", cases + "/consents/" + newUUID() + "/withdrawal", map[string]any{}, 400, "validation_failed", "version"},
		{"referral to an unknown organisation", cases + "/referrals", referral(map[string]any{"to_org_id": "no-such-org"}), 400, "validation_failed", "to_org_id"},
		{"referral to one's own organisation", cases + "/referrals", referral(map[string]any{"to_org_id": p.from.id}), 400, "validation_failed", "to_org_id"},
		{"referral for an unknown service", cases + "/referrals", referral(map[string]any{"service": "astrology"}), 400, "validation_failed", "service"},
		{"referral with a bad urgency", cases + "/referrals", referral(map[string]any{"urgency": "whenever"}), 400, "validation_failed", "urgency"},
		{"referral sharing evidence", cases + "/referrals", referral(map[string]any{"parts": []string{"evidence"}}), 400, "validation_failed", "parts[0]"},
		{"referral sharing without consent", cases + "/referrals", referral(map[string]any{"parts": []string{"profile"}}), 422, "consent_required", "parts"},
		{"referral of an unknown case", "/v1/cases/" + newUUID() + "/referrals", referral(nil), 404, "case_not_found", ""},
		{"accepting an unknown referral", "/v1/referrals/" + newUUID() + "/accept", map[string]any{"version": 1}, 404, "referral_not_found", ""},
		{"declining without a reason", "/v1/referrals/" + newUUID() + "/decline", map[string]any{"version": 1}, 400, "validation_failed", "reason"},
		{"completing without an outcome", "/v1/referrals/" + newUUID() + "/complete", map[string]any{"version": 1}, 400, "validation_failed", "outcome"},
		{"cancelling an unknown referral", cases + "/referrals/" + newUUID() + "/cancel", map[string]any{"version": 1, "reason": "x"}, 404, "referral_not_found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			token := p.worker.AccessToken
			if strings.HasPrefix(tc.path, "/v1/referrals/") {
				token = p.receiver.AccessToken
			}
			r := do(t, base, http.MethodPost, tc.path+"?lang=ru", jsonBody(t, tc.body), "Content-Type: application/json", "Authorization: Bearer "+token)
			if r.status != tc.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			p := r.problem(t)
			if p.Code != tc.code || p.Detail == "" || r.header.Get("Content-Language") != "ru" {
				t.Errorf("problem: %s", r.body)
			}
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field || p.Errors[0].Message == "") {
				t.Errorf("field errors: %s", r.body)
			}
		})
	}
	for _, path := range []string{"/v1/referrals?status=lost", "/v1/referrals?cursor=nonsense", "/v1/referrals?limit=0", "/v1/cases/" + p.caseID + "/consents?x=1"} {
		token := p.receiver
		if strings.Contains(path, "/consents") {
			token = p.worker
		}
		if r := get(t, base, path, bearer(token)); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	var list struct{ Items []referralBody }
	get(t, base, cases+"/referrals", bearer(p.worker)).json(t, &list)
	var consents struct{ Items []consentBody }
	get(t, base, cases+"/consents", bearer(p.worker)).json(t, &consents)
	if len(list.Items) != 0 || len(consents.Items) != 0 {
		t.Errorf("refused requests left records: %d referrals, %d consents", len(list.Items), len(consents.Items))
	}
}
