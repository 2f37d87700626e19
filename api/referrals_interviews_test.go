package main

import (
	"net/http"
	"testing"
	"time"
)

// A referral that shares the interviews part gives the receiver a read-only copy of each approved
// interview (the child is interviewed once): the plan and the log, never the sender's internal
// reviews; interviews not approved yet stay behind; the copy is the receiver's, encrypted under its
// case, recorded in its audit log, and nobody there can change it.
func TestReferralSharesApprovedInterviews(t *testing.T) {
	t.Parallel()
	base := server(t).base
	p := newSharingParties(t)
	approved := conductInterview(t, base, p.worker.AccessToken, p.caseID)
	path := "/v1/cases/" + p.caseID + "/interviews/" + approved.ID
	s := sessionCall(t, base, http.MethodPost, path+"/submit", p.worker.AccessToken, map[string]any{"version": approved.Version}, 200)
	sessionCall(t, base, http.MethodPost, path+"/review", p.supervisor.AccessToken,
		map[string]any{"version": s.Version, "decision": "approve", "comment": "Internal supervision note"}, 200)
	draft := createInterview(t, base, p.worker.AccessToken, p.caseID)

	// The consent must cover the interviews: one without them refuses the sharing.
	p.consent(t, "profile", "case_types")
	refs := "/v1/cases/" + p.caseID + "/referrals"
	sharing := map[string]any{"id": newUUID(), "to_org_id": p.to.id, "service": "prosecution", "parts": []string{"profile", "interviews"}}
	if r := post(t, base, http.MethodPost, refs, p.worker.AccessToken, sharing); r.status != http.StatusUnprocessableEntity || r.problem(t).Code != "consent_required" {
		t.Fatalf("sharing interviews without a consent covering them: %d %s", r.status, r.body)
	}
	p.consent(t, "profile", "case_types", "interviews")
	ref := p.refer(t, "referral", "profile", "interviews")
	r := post(t, base, http.MethodPost, "/v1/referrals/"+ref.ID+"/accept", p.receiver.AccessToken, map[string]any{"version": ref.Version, "case_types": []string{"grooming"}})
	if r.status != http.StatusOK {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	var accepted struct{ Case struct{ ID string } }
	r.json(t, &accepted)
	received := "/v1/cases/" + accepted.Case.ID + "/interviews"

	var list struct {
		Items []struct {
			ID         string `json:"id"`
			Status     string `json:"status"`
			SharedFrom *struct {
				ReferralID string `json:"referral_id"`
				OrgID      string `json:"org_id"`
				SessionID  string `json:"session_id"`
			} `json:"shared_from"`
		} `json:"items"`
	}
	get(t, base, received, bearer(p.receiver)).json(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("the receiver's interviews: want the approved one only, got %+v", list.Items)
	}
	cp := list.Items[0]
	if cp.ID == approved.ID || cp.ID == draft.ID || cp.Status != "approved" || cp.SharedFrom == nil ||
		cp.SharedFrom.ReferralID != ref.ID || cp.SharedFrom.OrgID != p.from.id || cp.SharedFrom.SessionID != approved.ID {
		t.Fatalf("the shared copy: %+v", cp)
	}
	var copied sessionBody
	get(t, base, received+"/"+cp.ID, bearer(p.receiver)).json(t, &copied)
	if copied.Plan.Place != "Child-friendly room 2" || len(copied.Prompts) != 6 || copied.Prompts[5].Type != "suggestive" ||
		len(copied.WellbeingChecks) != 1 || len(copied.Breaks) != 1 || len(copied.Reviews) != 0 || copied.LogOpen || copied.ApprovedAt == nil {
		t.Errorf("the copy's content: %+v", copied)
	}

	// Read-only where it was received; the sender's original is unchanged and still its own.
	add := map[string]any{"id": newUUID(), "text": "A correction", "recorded_at": time.Now().UTC().Format(time.RFC3339)}
	if st, code := problemCode(t, base, http.MethodPost, received+"/"+cp.ID+"/addenda", p.receiver.AccessToken, add); st != http.StatusConflict || code != "interview_shared" {
		t.Errorf("an addendum to the shared copy: %d %s", st, code)
	}
	var original sessionBody
	get(t, base, path, bearer(p.supervisor)).json(t, &original)
	if len(original.Reviews) != 1 || original.Reviews[0].Comment != "Internal supervision note" {
		t.Errorf("the sender's original: %+v", original.Reviews)
	}

	// The sender cannot read the copy; a third organisation sees nothing; the receiver's log has it.
	if r := get(t, base, received+"/"+cp.ID, bearer(p.supervisor)); r.status != http.StatusNotFound {
		t.Errorf("the sender reads the receiver's copy: %d", r.status)
	}
	_, _, stranger := newOrg(t).newUser(t, "supervisor")
	if r := get(t, base, received+"/"+cp.ID, bearer(stranger)); r.status != http.StatusNotFound {
		t.Errorf("a third organisation reads the copy: %d", r.status)
	}
	checkReferralAudit(t, base, p.receiver, cp.ID, "interview.receive")
}
