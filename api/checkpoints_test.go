package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

type checkpointBody struct {
	N        int64  `json:"n"`
	Seq      int64  `json:"seq"`
	Hash     string `json:"hash"`
	KeyID    string `json:"key_id"`
	Token    string `json:"token"`
	Stored   bool   `json:"stored"`
	SignedAt string `json:"signed_at"`
}

type auditReport struct {
	Entries      int   `json:"entries"`
	OK           bool  `json:"ok"`
	Full         bool  `json:"full"`
	FromSeq      int64 `json:"from_seq"`
	LastSeq      int64 `json:"last_seq"`
	FirstProblem *struct {
		Seq  int64  `json:"seq"`
		Kind string `json:"kind"`
	} `json:"first_problem"`
	Checkpoint *checkpointBody `json:"checkpoint"`
	After      int64           `json:"entries_after_checkpoint"`
}

type verifyJobBody struct {
	ID     string       `json:"id"`
	State  string       `json:"state"`
	Read   int64        `json:"entries_read"`
	Total  int64        `json:"entries_total"`
	Report *auditReport `json:"report"`
}

// checkSignature checks a checkpoint's token with the key /v1/keys publishes under its key id alone,
// and that it signs the fields shown.
func checkSignature(t *testing.T, base string, cp checkpointBody) {
	t.Helper()
	var keys struct {
		Keys []struct{ Kid, X string }
	}
	get(t, base, "/v1/keys").json(t, &keys)
	var pub []byte
	for _, k := range keys.Keys {
		if k.Kid == cp.KeyID {
			pub, _ = base64.RawURLEncoding.DecodeString(k.X)
		}
	}
	parts := strings.Split(cp.Token, ".")
	if len(pub) != ed25519.PublicKeySize || len(parts) != 3 {
		t.Fatalf("key %s not published, or token %q malformed", cp.KeyID, cp.Token)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		t.Fatal("the checkpoint's signature does not verify with the published key")
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var p struct {
		Log  string `json:"log"`
		N    int64  `json:"n"`
		Seq  int64  `json:"seq"`
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(payload, &p); err != nil || p.N != cp.N || p.Seq != cp.Seq || p.Hash != cp.Hash || !strings.HasPrefix(p.Log, "audit:") && !strings.HasPrefix(p.Log, "custody:") {
		t.Errorf("payload %s does not match %+v", payload, cp)
	}
}

// waitForJob reads a verification job until it is no longer running (each read is a request: no
// sleeping), for at most a minute.
func waitForJob(t *testing.T, base, token, path string) verifyJobBody {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var job verifyJobBody
		r := get(t, base, path, "Authorization: Bearer "+token)
		if r.status != http.StatusOK {
			t.Fatalf("job: %d %s", r.status, r.body)
		}
		r.json(t, &job)
		if job.State != "running" || time.Now().After(deadline) {
			return job
		}
	}
}

// An auditor makes a checkpoint, lists the checkpoints, checks one with the published key alone,
// verifies from it, and runs a full verification in the background.
func TestAuditCheckpointsThroughTheAPI(t *testing.T) {
	t.Parallel()
	base := server(t).base
	org := newOrg(t)
	_, _, auditor := org.newUser(t, "auditor")
	_, _, worker := org.newUser(t, "caseworker")
	auth := "Authorization: Bearer " + auditor.AccessToken
	if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(newID(), "Child C.")); r.status != http.StatusCreated {
		t.Fatalf("case: %d %s", r.status, r.body)
	}

	r := post(t, base, http.MethodPost, "/v1/audit/checkpoints", auditor.AccessToken, nil)
	if r.status != http.StatusCreated {
		t.Fatalf("checkpoint: %d %s", r.status, r.body)
	}
	var made struct {
		Checkpoint   checkpointBody `json:"checkpoint"`
		Verification auditReport    `json:"verification"`
	}
	r.json(t, &made)
	if !made.Verification.OK || made.Checkpoint.Seq != made.Verification.LastSeq || !made.Checkpoint.Stored {
		t.Fatalf("made %+v", made)
	}
	checkSignature(t, base, made.Checkpoint)

	var list struct {
		Items      []checkpointBody `json:"items"`
		NextCursor *string          `json:"next_cursor"`
	}
	get(t, base, "/v1/audit/checkpoints", auth).json(t, &list)
	if len(list.Items) == 0 || list.Items[0].N < made.Checkpoint.N {
		t.Fatalf("list %+v", list)
	}
	if list.Items[len(list.Items)-1].N != 1 {
		t.Errorf("the oldest listed is %d, want 1 (no cursor expected)", list.Items[len(list.Items)-1].N)
	}
	get(t, base, "/v1/audit/checkpoints?limit=1", auth).json(t, &list)
	if len(list.Items) != 1 || (list.Items[0].N > 1) != (list.NextCursor != nil) {
		t.Errorf("first page of one %+v", list)
	}

	var rep auditReport
	get(t, base, "/v1/audit/verify", auth).json(t, &rep)
	if !rep.OK || rep.Full || rep.Checkpoint == nil || rep.Checkpoint.N < made.Checkpoint.N || rep.FromSeq != rep.Checkpoint.Seq ||
		rep.After != rep.LastSeq-rep.Checkpoint.Seq || rep.Entries != int(rep.After)+1 {
		t.Errorf("verify %+v %+v", rep, rep.Checkpoint)
	}

	r = post(t, base, http.MethodPost, "/v1/audit/verify-jobs", auditor.AccessToken, nil)
	if r.status != http.StatusAccepted && r.status != http.StatusOK {
		t.Fatalf("start job: %d %s", r.status, r.body)
	}
	var job verifyJobBody
	r.json(t, &job)
	if loc := r.header.Get("Location"); loc != "/v1/audit/verify-jobs/"+job.ID {
		t.Errorf("Location %q", loc)
	}
	done := waitForJob(t, base, auditor.AccessToken, "/v1/audit/verify-jobs/"+job.ID)
	if done.State != "done" || done.Report == nil || !done.Report.OK || !done.Report.Full || done.Report.Entries < int(rep.LastSeq) || done.Read != int64(done.Report.Entries) {
		t.Errorf("job %+v report %+v", done, done.Report)
	}

	_, _, stranger := newOrg(t).newUser(t, "auditor")
	tests := []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"another organisation's job", "/v1/audit/verify-jobs/" + job.ID, stranger.AccessToken, http.StatusNotFound, "verify_job_not_found"},
		{"unknown job", "/v1/audit/verify-jobs/" + uuid.Must(uuid.NewV7()).String(), auditor.AccessToken, http.StatusNotFound, "verify_job_not_found"},
		{"not an id", "/v1/audit/verify-jobs/not-a-job", auditor.AccessToken, http.StatusNotFound, "verify_job_not_found"},
		{"the deployment log, not its auditor", "/v1/audit/checkpoints?log=deployment", auditor.AccessToken, http.StatusForbidden, "forbidden"},
		{"bad cursor", "/v1/audit/checkpoints?cursor=zz", auditor.AccessToken, http.StatusBadRequest, "validation_failed"},
		{"unknown log", "/v1/audit/checkpoints?log=all", auditor.AccessToken, http.StatusBadRequest, "validation_failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, base, tt.path+sep(tt.path)+"lang=ru", "Authorization: Bearer "+tt.token)
			if r.status != tt.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if p := r.problem(t); p.Code != tt.code || r.header.Get("Content-Language") != "ru" {
				t.Errorf("problem %+v", p)
			}
		})
	}
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

// Tampering with the stored audit log, its head and a custody chain is found by a server that did not
// write them (a restart, so nothing is remembered), through the signed checkpoints: the newest
// entries deleted together with the head, the log truncated, an entry edited after and before the
// checkpoint, and an item's newest custody event deleted with its head cleared.
func TestTamperingFoundThroughCheckpointsAfterARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := testEnv(dir, nil)
	getenv := func(k string) string { return env[k] }
	first := startServer(t, env, nil)
	base := first.base

	orgs := map[string]string{} // tamper case -> organisation id
	cases := []string{"newest deleted with the head", "truncated", "edited after the checkpoint", "edited before the checkpoint", "custody"}
	auditors := map[string]string{} // org -> the auditor's access token (tokens outlive the restart)
	workers := map[string]string{}  // org -> the caseworker's access token
	items := map[string][2]string{}
	for i, name := range cases {
		org := fmt.Sprintf("tamper-%d-%s", i, strings.ReplaceAll(uuid.NewString()[:8], "-", ""))
		orgs[name] = org
		password := "restart tamper passphrase " + org
		if err := usersCommand(context.Background(), []string{"create", "-org", org, "-username", "a-" + org, "-roles", "admin", "-display-name", "Admin"},
			getenv, strings.NewReader(password+"\n"), io.Discard, io.Discard, testPasswords); err != nil {
			t.Fatal(err)
		}
		admin := login(t, base, "a-"+org, password, "console")
		for _, role := range []string{"auditor", "caseworker"} {
			if r := post(t, base, http.MethodPost, "/v1/users", admin.AccessToken, map[string]any{"username": role[:3] + "-" + org,
				"display_name": "T", "roles": []string{role}, "password": password}); r.status != http.StatusCreated {
				t.Fatalf("user: %d %s", r.status, r.body)
			}
		}
		worker := login(t, base, "cas-"+org, password, "phone")
		workers[org] = worker.AccessToken
		auditors[org] = login(t, base, "aud-"+org, password, "console").AccessToken
		caseID := newID()
		if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(caseID, "Child R.")); r.status != http.StatusCreated {
			t.Fatalf("case: %d %s", r.status, r.body)
		}
		for range 3 {
			get(t, base, "/v1/cases/"+caseID, "Authorization: Bearer "+worker.AccessToken)
		}
		if name == "custody" {
			itemID := uuid.Must(uuid.NewV7()).String()
			path := "/v1/cases/" + caseID + "/evidence"
			if r := post(t, base, http.MethodPost, path, worker.AccessToken, newPhone(itemID)); r.status != http.StatusCreated {
				t.Fatalf("item: %d %s", r.status, r.body)
			}
			for _, e := range []map[string]any{event("sealed", map[string]any{"seal_number": "S-2", "seal_intact": true}), event("stored", nil)} {
				if r := post(t, base, http.MethodPost, path+"/"+itemID+"/events", worker.AccessToken, e); r.status != http.StatusCreated {
					t.Fatalf("append: %d %s", r.status, r.body)
				}
			}
			items[org] = [2]string{caseID, itemID}
		}
	}
	if err := first.stop(); err != nil { // its Flush checkpoints the newest entry of every log it wrote
		t.Fatal(err)
	}

	second := startServer(t, env, nil)
	second.dataDir = dir
	defer second.stop()
	base = second.base
	db := rawDatabase(t, second)
	ctx := context.Background()
	entries := db.Collection("audit_log")
	newest := func(org string) int64 {
		t.Helper()
		var e struct{ Seq int64 }
		if err := entries.FindOne(ctx, bson.D{{Key: "org_id", Value: org}}, options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}})).Decode(&e); err != nil {
			t.Fatal(err)
		}
		return e.Seq
	}
	deleteFrom := func(org string, from int64) {
		t.Helper()
		if _, err := entries.DeleteMany(ctx, bson.D{{Key: "org_id", Value: org}, {Key: "seq", Value: bson.D{{Key: "$gte", Value: from}}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Collection("audit_heads").DeleteOne(ctx, bson.D{{Key: "_id", Value: org}}); err != nil {
			t.Fatal(err)
		}
	}
	edit := func(org string, seq int64) {
		t.Helper()
		if _, err := entries.UpdateOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("%s:%012d", org, seq)}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "resource_id", Value: "someone-else"}}}}); err != nil {
			t.Fatal(err)
		}
	}
	verify := func(org string) auditReport {
		t.Helper()
		var rep auditReport
		r := get(t, base, "/v1/audit/verify", "Authorization: Bearer "+auditors[org])
		if r.status != http.StatusOK {
			t.Fatalf("verify: %d %s", r.status, r.body)
		}
		r.json(t, &rep)
		return rep
	}

	t.Run("newest entries deleted with the head", func(t *testing.T) {
		org := orgs["newest deleted with the head"]
		end := newest(org)
		deleteFrom(org, end-3)
		rep := verify(org)
		if rep.OK || rep.Checkpoint == nil || rep.Checkpoint.Seq != end || rep.FirstProblem.Kind != "gap" && rep.FirstProblem.Kind != "broken_link" {
			t.Errorf("verify %+v %+v %+v", rep, rep.FirstProblem, rep.Checkpoint)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		org := orgs["truncated"]
		end := newest(org)
		deleteFrom(org, 1)
		rep := verify(org)
		if rep.OK || rep.Checkpoint == nil || rep.Checkpoint.Seq != end || rep.FirstProblem.Kind != "gap" || rep.FirstProblem.Seq != end {
			t.Errorf("verify %+v %+v %+v", rep, rep.FirstProblem, rep.Checkpoint)
		}
	})
	t.Run("edited after the checkpoint", func(t *testing.T) {
		org := orgs["edited after the checkpoint"]
		for range 3 { // entries of this process: its first idle moment checkpoints, the rest wait
			get(t, base, "/v1/me", "Authorization: Bearer "+workers[org])
			get(t, base, "/v1/cases", "Authorization: Bearer "+workers[org])
		}
		end := newest(org)
		edit(org, end)
		rep := verify(org)
		if rep.OK || rep.FirstProblem.Kind != "hash_mismatch" || rep.FirstProblem.Seq != end {
			t.Errorf("verify %+v %+v %+v", rep, rep.FirstProblem, rep.Checkpoint)
		}
	})
	t.Run("edited before the checkpoint", func(t *testing.T) {
		org := orgs["edited before the checkpoint"]
		edit(org, 2)
		rep := verify(org)
		if !rep.OK || rep.Checkpoint == nil || rep.FromSeq <= 2 {
			t.Errorf("routine verify (from the checkpoint on) %+v %+v", rep, rep.FirstProblem)
		}
		r := post(t, base, http.MethodPost, "/v1/audit/verify-jobs", auditors[org], nil)
		var job verifyJobBody
		r.json(t, &job)
		done := waitForJob(t, base, auditors[org], "/v1/audit/verify-jobs/"+job.ID)
		if done.Report == nil || done.Report.OK || done.Report.FirstProblem.Kind != "hash_mismatch" || done.Report.FirstProblem.Seq != 2 {
			t.Errorf("full verification %+v %+v", done, done.Report)
		}
		if r := post(t, base, http.MethodPost, "/v1/audit/checkpoints", auditors[org], nil); r.status != http.StatusCreated {
			t.Errorf("a checkpoint of a log intact since its checkpoint: %d %s", r.status, r.body)
		}
	})
	t.Run("custody event deleted and head cleared", func(t *testing.T) {
		org := orgs["custody"]
		caseID, itemID := items[org][0], items[org][1]
		if _, err := db.Collection("evidence_events").DeleteOne(ctx, bson.D{{Key: "_id", Value: itemID + ":000000000003"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Collection("evidence_items").UpdateOne(ctx, bson.D{{Key: "_id", Value: itemID}}, bson.D{{Key: "$set", Value: bson.D{
			{Key: "head_seq", Value: 0}, {Key: "head", Value: bson.D{{Key: "hash", Value: ""}, {Key: "receipt", Value: ""}}}}}}); err != nil {
			t.Fatal(err)
		}
		var rep struct {
			chainReport
			Checkpoint *checkpointBody `json:"checkpoint"`
		}
		get(t, base, "/v1/cases/"+caseID+"/evidence/"+itemID+"/verify", "Authorization: Bearer "+workers[org]).json(t, &rep)
		if rep.OK || rep.FirstProblem == nil || rep.FirstProblem.Kind != "missing_event" || rep.FirstProblem.Seq != 3 || rep.Checkpoint == nil || rep.Checkpoint.Seq != 3 {
			t.Errorf("item verify %+v %+v", rep.chainReport, rep.Checkpoint)
		}
		if rep.Checkpoint != nil {
			checkSignature(t, base, *rep.Checkpoint)
		}
		var caseRep struct{ OK bool }
		get(t, base, "/v1/cases/"+caseID+"/evidence-verification", "Authorization: Bearer "+workers[org]).json(t, &caseRep)
		if caseRep.OK {
			t.Error("the case's evidence verifies")
		}
	})
}
