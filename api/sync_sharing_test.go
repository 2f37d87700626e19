package main

import (
	"encoding/json"
	"net/http"
	"testing"
)

// Consents and received referrals reach devices: the sender's caseworker pulls the case's consent
// (and its withdrawal), the receiver's supervisor pulls the referral as soon as it is sent, the
// receiving caseworker once the accepted case is assigned to them and not before; the sender's
// devices never get the referral as received; a push of either type is refused.
func TestSyncConsentsAndReferrals(t *testing.T) {
	t.Parallel()
	base := server(t).base
	p := newSharingParties(t)
	_, _, receivingWorker := p.to.newUser(t, "caseworker")
	consentID := p.consent(t, "profile", "case_types")
	ref := p.refer(t, "referral", "profile")

	sender := newDevice(p.worker.AccessToken)
	sender.sync(t, 50)
	if !sender.has("consent", consentID) {
		t.Fatalf("the sender's device lacks the consent: %v", sender.records)
	}
	if sender.has("referral_received", ref.ID) {
		t.Error("the sender's device got the referral as received")
	}
	inbox := newDevice(p.receiver.AccessToken)
	inbox.sync(t, 50)
	if !inbox.has("referral_received", ref.ID) || inbox.has("consent", consentID) {
		t.Fatalf("the receiver's supervisor device: %v", inbox.records)
	}
	worker := newDevice(receivingWorker.AccessToken)
	worker.sync(t, 50)
	if worker.has("referral_received", ref.ID) {
		t.Error("a receiving caseworker got a referral before its case was assigned to them")
	}

	if r := post(t, base, http.MethodPost, "/v1/referrals/"+ref.ID+"/accept", p.receiver.AccessToken, map[string]any{"version": 1,
		"case_types": []string{"grooming"}, "caseworker_ids": []string{receivingWorker.User.ID}}); r.status != http.StatusOK {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/cases/"+p.caseID+"/consents/"+consentID+"/withdrawal", p.worker.AccessToken, map[string]any{"version": 1}); r.status != http.StatusOK {
		t.Fatalf("withdraw: %d %s", r.status, r.body)
	}
	worker.sync(t, 50)
	inbox.sync(t, 50)
	sender.sync(t, 50)
	if !worker.has("referral_received", ref.ID) {
		t.Errorf("the receiving caseworker's device lacks the accepted referral: %v", worker.records)
	}
	var got struct{ Status struct{ Code string } }
	if err := json.Unmarshal(inbox.records["referral_received/"+ref.ID].Data, &got); err != nil || got.Status.Code != "accepted" {
		t.Errorf("the inbox device's referral: %s", inbox.records["referral_received/"+ref.ID].Data)
	}
	var c struct{ Status string }
	if err := json.Unmarshal(sender.records["consent/"+consentID].Data, &c); err != nil || c.Status != "withdrawn" {
		t.Errorf("the sender's device's consent after the withdrawal: %s", sender.records["consent/"+consentID].Data)
	}

	results := push(t, p.worker.AccessToken, map[string]any{"op_id": newID(), "type": "consent", "action": "create", "case_id": p.caseID, "id": newID(), "data": map[string]any{}})
	if results[0].Status != "rejected" {
		t.Errorf("a pushed consent: %+v", results[0])
	}
}
