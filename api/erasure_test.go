package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

type erasureBody struct {
	ID       string  `json:"id"`
	CaseID   string  `json:"case_id"`
	Status   string  `json:"status"`
	ErasedAt *string `json:"erased_at"`
	Chains   []struct {
		ItemID   string `json:"item_id"`
		LastHash string `json:"last_hash"`
		OK       bool   `json:"ok"`
	} `json:"chains"`
}

// postKey posts body with a bearer token and an Idempotency-Key.
func postKey(t *testing.T, base, path, token, key string, body any) *response {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, base, http.MethodPost, path, bytes.NewReader(b), "Content-Type: application/json", "Authorization: Bearer "+token, "Idempotency-Key: "+key)
}

// A case erased by two people: a supervisor requests, another administrator confirms. Refusals on
// the way (open case, legal hold, same person, wrong roles, another organisation), then the case reads
// as erased, its stored values no longer decrypt even with the key ring, and the custody chain and
// the audit log still verify and show the erasure.
func TestErasureTwoPersonFlow(t *testing.T) {
	t.Parallel()
	s := server(t)
	base := s.base
	org := newOrg(t)
	_, _, worker := org.newUser(t, "caseworker")
	_, _, supervisor := org.newUser(t, "supervisor")
	_, _, admin2 := org.newUser(t, "admin")
	_, _, both := org.newUser(t, "supervisor", "admin")
	_, _, auditor := org.newUser(t, "auditor")
	auth := func(tk tokens) string { return "Authorization: Bearer " + tk.AccessToken }

	caseID := newID()
	pseudonym, note, descr := "Ottoline-Brisk-4471", "Disclosed-at-the-library-9921", "Tablet-with-the-owl-sticker-3310"
	if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(caseID, pseudonym)); r.status != http.StatusCreated {
		t.Fatalf("create case: %d %s", r.status, r.body)
	}
	itemID := newID()
	items := "/v1/cases/" + caseID + "/evidence"
	phone := newPhone(itemID)
	phone["description"] = descr
	if r := post(t, base, http.MethodPost, items, worker.AccessToken, phone); r.status != http.StatusCreated {
		t.Fatalf("create item: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, items+"/"+itemID+"/events", worker.AccessToken, event("note", map[string]any{"note": note})); r.status != http.StatusCreated {
		t.Fatalf("note event: %d %s", r.status, r.body)
	}
	runID := newID()
	if r := post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/runs", worker.AccessToken, map[string]string{"id": runID, "protocol_id": "first-contact-safety"}); r.status != http.StatusCreated {
		t.Fatalf("start run: %d %s", r.status, r.body)
	}
	var run struct {
		Steps []struct {
			StepID string `json:"step_id"`
		}
	}
	get(t, base, "/v1/cases/"+caseID+"/runs/"+runID, auth(worker)).json(t, &run)
	stepNote := "Step-note-Heronsgate-5512"
	if r := post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/runs/"+runID+"/steps", worker.AccessToken, map[string]any{
		"client_id": "n1", "step_id": run.Steps[0].StepID, "status": "done", "note": stepNote, "recorded_at": rfc(time.Now())}); r.status != http.StatusOK {
		t.Fatalf("record step: %d %s", r.status, r.body)
	}
	interviewID := newID()
	if r := post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/interviews", worker.AccessToken, map[string]any{"id": interviewID, "plan": interviewPlan()}); r.status != http.StatusCreated {
		t.Fatalf("create interview: %d %s", r.status, r.body)
	}
	words := "Tell me about Quillon-Marsh-7781"
	sessionCall(t, base, http.MethodPost, "/v1/cases/"+caseID+"/interviews/"+interviewID+"/log", worker.AccessToken, map[string]any{
		"prompts": []map[string]any{{"client_id": "p1", "type": "invitation", "words": words, "recorded_at": rfc(time.Now().Add(-time.Minute))}}}, 200)
	request := "/v1/cases/" + caseID + "/erasure-requests"
	reason := map[string]string{"reason": "Retention period over, no proceedings pending"}

	if r := post(t, base, http.MethodPost, request, supervisor.AccessToken, reason); r.status != http.StatusConflict || r.problem(t).Code != "erasure_case_open" {
		t.Fatalf("erasing an open case: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/close", worker.AccessToken, map[string]any{"version": 1, "reason": "Support ended"}); r.status != http.StatusOK {
		t.Fatalf("close: %d %s", r.status, r.body)
	}
	hold := event("legal_hold", map[string]any{"legal_hold": true, "purpose": "Court order"})
	if r := post(t, base, http.MethodPost, items+"/"+itemID+"/events", supervisor.AccessToken, hold); r.status != http.StatusCreated {
		t.Fatalf("hold: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, request, supervisor.AccessToken, reason); r.status != http.StatusConflict || r.problem(t).Code != "erasure_legal_hold" {
		t.Fatalf("erasing a case under legal hold: %d %s", r.status, r.body)
	}
	release := event("legal_hold", map[string]any{"legal_hold": false, "purpose": "Order lifted"})
	if r := post(t, base, http.MethodPost, items+"/"+itemID+"/events", supervisor.AccessToken, release); r.status != http.StatusCreated {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	var due struct {
		Items []struct {
			CaseID string `json:"case_id"`
		} `json:"items"`
	}
	get(t, base, "/v1/retention/due?limit=200", auth(supervisor)).json(t, &due)
	if !strings.Contains(string(get(t, base, "/v1/retention/due?limit=200", auth(admin2)).body), caseID) {
		t.Errorf("the closed case without hold is not in the due list: %+v", due)
	}

	t.Run("roles that may not request", func(t *testing.T) {
		for name, tk := range map[string]tokens{"caseworker": worker, "admin": admin2, "auditor": auditor} {
			if r := post(t, base, http.MethodPost, request, tk.AccessToken, reason); r.status != http.StatusForbidden {
				t.Errorf("%s requesting: %d, want 403", name, r.status)
			}
		}
	})
	t.Run("another organisation", func(t *testing.T) {
		other := newOrg(t)
		_, _, sup := other.newUser(t, "supervisor")
		if r := post(t, base, http.MethodPost, request, sup.AccessToken, reason); r.status != http.StatusNotFound {
			t.Errorf("a supervisor of another organisation: %d, want 404", r.status)
		}
	})
	if r := post(t, base, http.MethodPost, request, supervisor.AccessToken, map[string]string{"reason": " "}); r.status != http.StatusBadRequest {
		t.Errorf("blank reason: %d %s", r.status, r.body)
	}

	// A person with both roles cannot request and confirm alone; their request is rejected by another.
	var first erasureBody
	r := post(t, base, http.MethodPost, request, both.AccessToken, reason)
	if r.status != http.StatusCreated {
		t.Fatalf("request: %d %s", r.status, r.body)
	}
	r.json(t, &first)
	if r := post(t, base, http.MethodPost, request, supervisor.AccessToken, reason); r.status != http.StatusConflict || r.problem(t).Code != "erasure_request_pending" {
		t.Errorf("a second request while one waits: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/erasure-requests/"+first.ID+"/confirm", both.AccessToken, reason); r.status != http.StatusConflict || r.problem(t).Code != "erasure_same_person" {
		t.Errorf("the requester confirming: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/erasure-requests/"+first.ID+"/reject", admin2.AccessToken, map[string]string{"reason": "Ask the unit first"}); r.status != http.StatusOK {
		t.Fatalf("reject: %d %s", r.status, r.body)
	}

	var req erasureBody
	r = postKey(t, base, request, supervisor.AccessToken, "erase-"+caseID, reason)
	if r.status != http.StatusCreated {
		t.Fatalf("request: %d %s", r.status, r.body)
	}
	r.json(t, &req)
	if again := postKey(t, base, request, supervisor.AccessToken, "erase-"+caseID, reason); again.status != http.StatusCreated || again.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.body, r.body) {
		t.Errorf("a retried request: %d replayed=%q", again.status, again.header.Get("Idempotent-Replayed"))
	}
	var pendingDue struct {
		Items []struct {
			CaseID         string  `json:"case_id"`
			PendingRequest *string `json:"pending_request"`
		} `json:"items"`
	}
	get(t, base, "/v1/retention/due?limit=200", auth(admin2)).json(t, &pendingDue)
	foundPending := false
	for _, d := range pendingDue.Items {
		foundPending = foundPending || d.CaseID == caseID && d.PendingRequest != nil && *d.PendingRequest == req.ID
	}
	if !foundPending {
		t.Errorf("the due list does not show the pending request: %+v", pendingDue.Items)
	}
	confirm := "/v1/erasure-requests/" + req.ID + "/confirm"
	for name, tk := range map[string]tokens{"supervisor": supervisor, "caseworker": worker, "auditor": auditor} {
		if r := post(t, base, http.MethodPost, confirm, tk.AccessToken, reason); r.status != http.StatusForbidden {
			t.Errorf("%s confirming: %d, want 403", name, r.status)
		}
	}
	db := rawDatabase(t, s)
	ctx := context.Background()
	ring, err := fieldcrypt.LoadOrCreate(s.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := decryptStored(ctx, db, ring, caseID); err != nil || plain != pseudonym {
		t.Fatalf("before the erasure, the key ring and the wrapped case key give %q, %v", plain, err)
	}
	if r := post(t, base, http.MethodPost, confirm, org.admin, map[string]string{"reason": "Checked against the schedule"}); r.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	} else {
		r.json(t, &req)
	}
	if req.Status != "confirmed" || req.ErasedAt == nil || len(req.Chains) != 1 || !req.Chains[0].OK || req.Chains[0].ItemID != itemID {
		t.Fatalf("confirmed request: %+v", req)
	}
	if r := post(t, base, http.MethodPost, confirm, admin2.AccessToken, reason); r.status != http.StatusConflict || r.problem(t).Code != "erasure_request_decided" {
		t.Errorf("confirming twice: %d %s", r.status, r.body)
	}

	// Reads show the record as erased.
	var c struct {
		Erased bool `json:"erased"`
		Child  struct {
			Pseudonym string `json:"pseudonym"`
			BirthYear *int   `json:"birth_year"`
		} `json:"child"`
		ReferenceNumber string `json:"reference_number"`
	}
	if r := get(t, base, "/v1/cases/"+caseID, auth(worker)); r.status != http.StatusOK {
		t.Fatalf("reading the erased case: %d %s", r.status, r.body)
	} else {
		r.json(t, &c)
	}
	if !c.Erased || c.Child.Pseudonym != "" || c.ReferenceNumber != "" {
		t.Errorf("the erased case reads %+v", c)
	}
	if r := get(t, base, "/v1/cases/"+caseID+"/runs/"+runID, auth(worker)); r.status != http.StatusOK || strings.Contains(string(r.body), stepNote) {
		t.Errorf("reading the erased run: %d %s", r.status, r.body)
	}
	if r := get(t, base, "/v1/cases/"+caseID+"/interviews/"+interviewID, auth(worker)); r.status != http.StatusOK || strings.Contains(string(r.body), "Quillon-Marsh") {
		t.Errorf("reading the erased interview: %d %s", r.status, r.body)
	}
	if r := get(t, base, items+"/"+itemID, auth(worker)); r.status != http.StatusOK || strings.Contains(string(r.body), descr) {
		t.Errorf("reading the erased item: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, items+"/"+itemID+"/events", worker.AccessToken, event("note", map[string]any{"note": "after"})); r.status != http.StatusConflict {
		t.Errorf("writing into the erased case: %d %s", r.status, r.body)
	}

	// The stored values do not decrypt, even with the key ring.
	if plain, err := decryptStored(ctx, db, ring, caseID); err == nil {
		t.Errorf("after the erasure, the stored pseudonym still decrypts: %q", plain)
	}
	var key struct {
		Wrapped     string `bson:"wrapped"`
		DestroyedAt any    `bson:"destroyed_at"`
	}
	if err := db.Collection("case_keys").FindOne(ctx, bson.D{{Key: "_id", Value: caseID}}).Decode(&key); err != nil || key.Wrapped != "" || key.DestroyedAt == nil {
		t.Fatalf("the case key: %+v, %v", key, err)
	}
	var stored struct {
		Child struct {
			Pseudonym string `bson:"pseudonym"`
		} `bson:"child"`
	}
	if err := db.Collection("cases").FindOne(ctx, bson.D{{Key: "_id", Value: caseID}}).Decode(&stored); err != nil || !fieldcrypt.IsDataKeyToken(stored.Child.Pseudonym) {
		t.Fatalf("the stored pseudonym: %q, %v", stored.Child.Pseudonym, err)
	}
	if plain, err := ring.Decrypt(stored.Child.Pseudonym, "case:"+caseID+":child.pseudonym"); err == nil {
		t.Errorf("the key ring decrypted the erased pseudonym: %q", plain)
	}
	for _, coll := range []string{"cases", "runs", "interview_sessions", "interview_logs", "evidence_items", "evidence_events", "case_keys"} {
		cur, err := db.Collection(coll).Find(ctx, bson.D{{Key: "case_id", Value: caseID}})
		if coll == "cases" || coll == "case_keys" {
			cur, err = db.Collection(coll).Find(ctx, bson.D{{Key: "_id", Value: caseID}})
		}
		if err != nil {
			t.Fatal(err)
		}
		for cur.Next(ctx) {
			for _, secret := range []string{pseudonym, note, descr, stepNote, "Quillon-Marsh"} {
				if bytes.Contains(cur.Current, []byte(secret)) {
					t.Errorf("%s holds %q in plain text", coll, secret)
				}
			}
			for _, v := range tokensIn(cur.Current) {
				if fieldcrypt.IsRingToken(v) {
					t.Errorf("%s still holds a value under the key ring: %q", coll, v)
				}
			}
		}
	}

	// The custody chain and the audit log still verify, and show the erasure.
	var rep struct {
		OK    bool `json:"ok"`
		Items []struct {
			OK            bool   `json:"ok"`
			ContentErased bool   `json:"content_erased"`
			LastHash      string `json:"last_hash"`
		} `json:"items"`
	}
	get(t, base, "/v1/cases/"+caseID+"/evidence-verification", auth(supervisor)).json(t, &rep)
	if !rep.OK || len(rep.Items) != 1 || !rep.Items[0].ContentErased || rep.Items[0].LastHash != req.Chains[0].LastHash {
		t.Errorf("the custody chain after erasure: %+v (sealed %+v)", rep, req.Chains)
	}
	var v struct {
		OK bool `json:"ok"`
	}
	get(t, base, "/v1/audit/verify", auth(auditor)).json(t, &v)
	if !v.OK {
		t.Error("the audit log does not verify after the erasure")
	}
	var log struct {
		Items []struct {
			Action  string `json:"action"`
			ActorID string `json:"actor_id"`
		} `json:"items"`
	}
	get(t, base, "/v1/audit?resource_id="+caseID+"&limit=200", auth(auditor)).json(t, &log)
	seen := map[string]string{}
	for _, e := range log.Items {
		seen[e.Action] = e.ActorID
	}
	if seen["case.erasure_request"] != supervisor.User.ID || seen["case.erase"] == "" || seen["case.erasure_confirm"] == "" || seen["case.erasure_reject"] != admin2.User.ID {
		t.Errorf("audit entries of the erasure: %v", seen)
	}
	if r := get(t, base, "/v1/retention/due?limit=200", auth(admin2)); strings.Contains(string(r.body), caseID) {
		t.Error("the erased case is still due for erasure")
	}
	var list struct {
		Items []erasureBody `json:"items"`
	}
	get(t, base, "/v1/erasure-requests?status=confirmed", auth(admin2)).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != req.ID {
		t.Errorf("confirmed requests: %+v", list.Items)
	}
	other := newOrg(t)
	if r := get(t, base, "/v1/erasure-requests/"+req.ID, "Authorization: Bearer "+other.admin); r.status != http.StatusNotFound {
		t.Errorf("an administrator of another organisation reading a request: %d, want 404", r.status)
	}
	if r := post(t, base, http.MethodPost, "/v1/erasure-requests/"+first.ID+"/confirm", other.admin, reason); r.status != http.StatusNotFound {
		t.Errorf("an administrator of another organisation confirming: %d, want 404", r.status)
	}
	var otherList struct {
		Items []erasureBody `json:"items"`
	}
	get(t, base, "/v1/erasure-requests", "Authorization: Bearer "+other.admin).json(t, &otherList)
	if len(otherList.Items) != 0 {
		t.Errorf("another organisation lists %d requests", len(otherList.Items))
	}
	if r := get(t, base, "/v1/erasure-requests/"+req.ID, auth(worker)); r.status != http.StatusForbidden {
		t.Errorf("a caseworker reading a request: %d", r.status)
	}
}

// decryptStored reads the stored pseudonym of a case and decrypts it as the service would, with the
// key ring and the case's wrapped data key read from the database.
func decryptStored(ctx context.Context, db *mongo.Database, ring *fieldcrypt.KeyRing, caseID string) (string, error) {
	var c struct {
		Child struct {
			Pseudonym string `bson:"pseudonym"`
		} `bson:"child"`
	}
	if err := db.Collection("cases").FindOne(ctx, bson.D{{Key: "_id", Value: caseID}}).Decode(&c); err != nil {
		return "", err
	}
	var k struct {
		Wrapped string `bson:"wrapped"`
	}
	if err := db.Collection("case_keys").FindOne(ctx, bson.D{{Key: "_id", Value: caseID}}).Decode(&k); err != nil {
		return "", err
	}
	key, err := ring.UnwrapDataKey(k.Wrapped, "case_key:"+caseID)
	if err != nil {
		return "", err
	}
	return key.Decrypt(c.Child.Pseudonym, "case:"+caseID+":child.pseudonym")
}

// tokensIn returns every string value of a BSON document that looks like an encrypted value.
func tokensIn(raw bson.Raw) []string {
	var out []string
	var walk func(v bson.RawValue)
	walk = func(v bson.RawValue) {
		switch v.Type {
		case bson.TypeString:
			if s := v.StringValue(); fieldcrypt.IsToken(s) {
				out = append(out, s)
			}
		case bson.TypeEmbeddedDocument, bson.TypeArray:
			vals, _ := bson.Raw(v.Value).Values()
			for _, x := range vals {
				walk(x)
			}
		}
	}
	vals, _ := raw.Values()
	for _, v := range vals {
		walk(v)
	}
	return out
}

// On a server with the default retention period (5 years), a case closed today may not be erased
// and is not due.
func TestErasureWaitsForTheRetentionPeriod(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, testEnv(dir, nil), nil)
	t.Cleanup(func() { srv.stop() })
	base := srv.base
	admin := login(t, base, "admin", adminPassword, "console")
	mk := func(role string) tokens {
		name := "u-" + role
		pw := "long enough passphrase for " + role
		if r := post(t, base, http.MethodPost, "/v1/users", admin.AccessToken, map[string]any{"username": name, "display_name": name, "roles": []string{role}, "password": pw}); r.status != http.StatusCreated {
			t.Fatalf("user: %d %s", r.status, r.body)
		}
		return login(t, base, name, pw, "d-"+role)
	}
	worker, supervisor := mk("caseworker"), mk("supervisor")
	id := newID()
	post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(id, "Child R."))
	if r := post(t, base, http.MethodPost, "/v1/cases/"+id+"/close", worker.AccessToken, map[string]any{"version": 1, "reason": "Done"}); r.status != http.StatusOK {
		t.Fatalf("close: %d %s", r.status, r.body)
	}
	r := post(t, base, http.MethodPost, "/v1/cases/"+id+"/erasure-requests", supervisor.AccessToken, map[string]string{"reason": "Asked by the family"})
	if r.status != http.StatusConflict || r.problem(t).Code != "erasure_retention_running" {
		t.Fatalf("erasing before the retention period ended: %d %s", r.status, r.body)
	}
	until := time.Now().UTC().AddDate(0, 0, 5*365).Format(time.DateOnly)
	fr := do(t, base, http.MethodPost, "/v1/cases/"+id+"/erasure-requests", strings.NewReader(`{"reason":"Demande de la famille"}`),
		"Content-Type: application/json", "Authorization: Bearer "+supervisor.AccessToken, "Accept-Language: fr")
	if p := fr.problem(t); fr.status != http.StatusConflict || !strings.Contains(p.Detail, "conservation") || !strings.Contains(p.Detail, until) {
		t.Errorf("the refusal in French: %d %+v (want the date %s)", fr.status, p, until)
	}
	var due struct {
		Days  float64 `json:"retain_after_close_days"`
		Items []any   `json:"items"`
	}
	get(t, base, "/v1/retention/due", "Authorization: Bearer "+supervisor.AccessToken).json(t, &due)
	if due.Days != 5*365 || len(due.Items) != 0 {
		t.Errorf("due: %+v", due)
	}
}
