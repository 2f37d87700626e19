package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
)

type syncRecord struct {
	Type      string
	ID        string
	CaseID    string `json:"case_id"`
	ChangeSeq int64  `json:"change_seq"`
	Version   *int64
	Data      json.RawMessage
}

type syncPage struct {
	Records  []syncRecord
	Removals []struct{ Type, ID, Reason string }
	Library  []struct {
		ProtocolID string `json:"protocol_id"`
		Version    int
	}
	Reset      bool
	NextCursor string `json:"next_cursor"`
	HasMore    bool   `json:"has_more"`
	Watermark  *int64
}

type pushResult struct {
	OpID              string `json:"op_id"`
	Status            string
	Type, ID          string
	Record            *syncRecord
	Current           *syncRecord
	MergedFields      []string `json:"merged_fields"`
	ConflictingFields []string `json:"conflicting_fields"`
	Problem           *problemBody
	First             json.RawMessage
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// pull asks for one page of changes and fails the test unless it is a 200.
func pull(t *testing.T, token, cursor string, limit int) syncPage {
	t.Helper()
	return pullFrom(t, server(t).base, token, cursor, limit)
}

// pullFrom is pull from the server at base.
func pullFrom(t *testing.T, base, token, cursor string, limit int) syncPage {
	t.Helper()
	path := fmt.Sprintf("/v1/sync/changes?limit=%d", limit)
	if cursor != "" {
		path += "&cursor=" + cursor
	}
	r := get(t, base, path, "Authorization: Bearer "+token)
	if r.status != http.StatusOK {
		t.Fatalf("pull: %d %s", r.status, r.body)
	}
	var p syncPage
	r.json(t, &p)
	return p
}

// device is what a phone holds: records by type/id, the last cursor.
type device struct {
	token   string
	cursor  string
	records map[string]syncRecord
	pages   int
}

func newDevice(token string) *device { return &device{token: token, records: map[string]syncRecord{}} }

// sync pulls until the device is complete.
func (d *device) sync(t *testing.T, limit int) {
	t.Helper()
	for {
		p := pull(t, d.token, d.cursor, limit)
		d.apply(p)
		if !p.HasMore {
			return
		}
	}
}

func (d *device) apply(p syncPage) {
	d.pages++
	if p.Reset {
		d.records = map[string]syncRecord{}
	}
	for _, r := range p.Records {
		if old, ok := d.records[r.Type+"/"+r.ID]; !ok || old.ChangeSeq <= r.ChangeSeq {
			d.records[r.Type+"/"+r.ID] = r
		}
	}
	for _, r := range p.Removals {
		for k, rec := range d.records {
			if rec.CaseID == r.ID {
				delete(d.records, k)
			}
		}
	}
	d.cursor = p.NextCursor
}

func (d *device) has(typ, id string) bool { _, ok := d.records[typ+"/"+id]; return ok }

func push(t *testing.T, token string, ops ...map[string]any) []pushResult {
	t.Helper()
	r := post(t, server(t).base, http.MethodPost, "/v1/sync/push", token, map[string]any{"operations": ops})
	if r.status != http.StatusOK {
		t.Fatalf("push: %d %s", r.status, r.body)
	}
	var out struct{ Results []pushResult }
	r.json(t, &out)
	if len(out.Results) != len(ops) {
		t.Fatalf("%d results for %d operations", len(out.Results), len(ops))
	}
	return out.Results
}

func createOp(caseID, pseudonym string) map[string]any {
	body := newCase(caseID, pseudonym)
	delete(body, "id")
	return map[string]any{"op_id": newID(), "type": "case", "action": "create", "id": caseID, "data": body}
}

func caseVersion(t *testing.T, token, id string) caseBody {
	t.Helper()
	var c caseBody
	r := get(t, server(t).base, "/v1/cases/"+id, "Authorization: Bearer "+token)
	if r.status != http.StatusOK {
		t.Fatalf("reading case %s: %d %s", id, r.status, r.body)
	}
	r.json(t, &c)
	return c
}

// A first pull is a snapshot of what the caseworker may see, in pages; a later pull brings only
// what changed; a page pulled twice (a lost response) gives the same records.
func TestSyncSnapshotAndPages(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	_, _, worker := org.newUser(t, "caseworker")
	_, _, other := org.newUser(t, "caseworker")
	var mine []string
	for i := range 3 {
		id := newID()
		mine = append(mine, id)
		if r := post(t, server(t).base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(id, fmt.Sprintf("Child %d", i))); r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
	}
	notMine := newID()
	post(t, server(t).base, http.MethodPost, "/v1/cases", other.AccessToken, newCase(notMine, "Child X"))
	runID := newID()
	if r := post(t, server(t).base, http.MethodPost, "/v1/cases/"+mine[0]+"/runs", worker.AccessToken, map[string]string{"id": runID, "protocol_id": "first-contact-safety"}); r.status != http.StatusCreated {
		t.Fatalf("run: %d %s", r.status, r.body)
	}

	first := pull(t, worker.AccessToken, "", 2)
	if !first.Reset || len(first.Library) == 0 || !first.HasMore || len(first.Records) != 2 {
		t.Fatalf("first page: reset %v, library %d, has_more %v, records %d", first.Reset, len(first.Library), first.HasMore, len(first.Records))
	}
	again := pull(t, worker.AccessToken, "", 2) // the same first pull again: the same page
	if len(again.Records) != 2 || again.Records[0].ID != first.Records[0].ID || again.Records[1].ID != first.Records[1].ID {
		t.Errorf("a repeated first pull gave other records")
	}
	second := pull(t, worker.AccessToken, first.NextCursor, 2)
	retried := pull(t, worker.AccessToken, first.NextCursor, 2) // the response was lost: pulled again
	if len(second.Records) != len(retried.Records) || second.NextCursor != retried.NextCursor {
		t.Errorf("the same cursor gave different pages: %+v / %+v", second, retried)
	}
	d := newDevice(worker.AccessToken)
	d.apply(first)
	d.apply(retried)
	if retried.HasMore {
		d.sync(t, 2)
	}
	for _, id := range mine {
		if !d.has("case", id) {
			t.Errorf("case %s missing from the snapshot", id)
		}
	}
	if !d.has("run", runID) || d.has("case", notMine) {
		t.Errorf("run in snapshot %v; another caseworker's case in snapshot %v", d.has("run", runID), d.has("case", notMine))
	}
	var c struct {
		Child struct{ Pseudonym string }
	}
	json.Unmarshal(d.records["case/"+mine[1]].Data, &c)
	if c.Child.Pseudonym != "Child 1" {
		t.Errorf("case data = %s", d.records["case/"+mine[1]].Data)
	}

	// Nothing changed: an empty page with no library; then one change comes alone.
	idle := pull(t, worker.AccessToken, d.cursor, 50)
	if len(idle.Records) != 0 || idle.Library != nil || idle.HasMore || idle.Reset {
		t.Errorf("idle pull: %+v", idle)
	}
	post(t, server(t).base, http.MethodPatch, "/v1/cases/"+mine[2], worker.AccessToken, map[string]any{"version": 1, "reference_number": "REF-NEW"})
	next := pull(t, worker.AccessToken, idle.NextCursor, 50)
	if len(next.Records) != 1 || next.Records[0].ID != mine[2] || *next.Records[0].Version != 2 {
		t.Errorf("after one change: %+v", next.Records)
	}
}

// Paging through while others write misses nothing: at the end the device holds every case at its
// latest version.
func TestSyncPullUnderConcurrentWrites(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	_, _, worker := org.newUser(t, "caseworker")
	base := server(t).base
	d := newDevice(worker.AccessToken)
	const writers, each = 4, 6
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids []string
	)
	stop := make(chan struct{})
	pulled := make(chan struct{})
	go func() { // the device keeps pulling one record per page while the writers work
		defer close(pulled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			p := pull(t, d.token, d.cursor, 1)
			d.apply(p)
		}
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := newID()
				if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(id, fmt.Sprintf("W%d-%d", w, i))); r.status != http.StatusCreated {
					t.Errorf("create: %d", r.status)
					return
				}
				if r := post(t, base, http.MethodPatch, "/v1/cases/"+id, worker.AccessToken, map[string]any{"version": 1, "reference_number": "changed"}); r.status != http.StatusOK {
					t.Errorf("update: %d", r.status)
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-pulled
	d.sync(t, 5)
	if len(ids) != writers*each {
		t.Fatalf("%d cases written", len(ids))
	}
	for _, id := range ids {
		rec, ok := d.records["case/"+id]
		if !ok {
			t.Errorf("case %s never reached the device", id)
			continue
		}
		if *rec.Version != 2 {
			t.Errorf("case %s is at version %d on the device, 2 on the server", id, *rec.Version)
		}
	}
	if d.pages < 3 {
		t.Errorf("only %d pages: the test did not page", d.pages)
	}
}

// Two phones edit the same case offline: changes of different fields merge, changes of the same
// field conflict and the server copy comes back.
func TestSyncTwoPhonesEditTheSameCase(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	username, password, phone1 := org.newUser(t, "caseworker")
	phone2 := login(t, server(t).base, username, password, "tablet-"+username)
	id := newID()
	if res := push(t, phone1.AccessToken, createOp(id, "Child A.")); res[0].Status != "applied" {
		t.Fatalf("create: %+v", res[0])
	}
	oldRef := "REF-" + id[:8]

	res := push(t, phone1.AccessToken, map[string]any{"op_id": newID(), "type": "case", "action": "update", "id": id, "base_version": 1,
		"changes": map[string]any{"reference_number": "REF-PHONE-1"}, "base": map[string]any{"reference_number": oldRef}})
	if res[0].Status != "applied" || *res[0].Record.Version != 2 {
		t.Fatalf("phone 1: %+v", res[0])
	}
	res = push(t, phone2.AccessToken, map[string]any{"op_id": newID(), "type": "case", "action": "update", "id": id, "base_version": 1,
		"changes": map[string]any{"child": map[string]any{"pseudonym": "Child B."}}, "base": map[string]any{"child": map[string]any{"pseudonym": "Child A."}}})
	if res[0].Status != "merged" || !slices.Equal(res[0].MergedFields, []string{"child.pseudonym"}) || *res[0].Record.Version != 3 {
		t.Fatalf("disjoint fields: %+v", res[0])
	}
	var merged struct {
		ReferenceNumber string `json:"reference_number"`
		Child           struct{ Pseudonym string }
	}
	json.Unmarshal(res[0].Record.Data, &merged)
	if merged.ReferenceNumber != "REF-PHONE-1" || merged.Child.Pseudonym != "Child B." {
		t.Errorf("merged case: %+v", merged)
	}
	res = push(t, phone2.AccessToken, map[string]any{"op_id": newID(), "type": "case", "action": "update", "id": id, "base_version": 1,
		"changes": map[string]any{"reference_number": "REF-PHONE-2"}, "base": map[string]any{"reference_number": oldRef}})
	if res[0].Status != "conflict" || !slices.Equal(res[0].ConflictingFields, []string{"reference_number"}) || res[0].Current == nil || *res[0].Current.Version != 3 {
		t.Fatalf("same field: %+v", res[0])
	}
	if c := caseVersion(t, phone1.AccessToken, id); c.ReferenceNumber != "REF-PHONE-1" || c.Version != 3 {
		t.Errorf("the conflict changed the case: %+v", c)
	}
}

// A push whose response is lost is sent again: nothing is applied twice, every result is the first.
func TestSyncPushRetriedAfterLostResponse(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	_, _, worker := org.newUser(t, "caseworker")
	caseID, runID := newID(), newID()
	ops := []map[string]any{
		createOp(caseID, "Child R."),
		{"op_id": newID(), "type": "run", "action": "create", "id": runID, "case_id": caseID, "data": map[string]any{"protocol_id": "first-contact-safety"}},
	}
	first := push(t, worker.AccessToken, ops...)
	var run struct {
		Steps []struct {
			StepID string `json:"step_id"`
		}
	}
	get(t, server(t).base, "/v1/cases/"+caseID+"/runs/"+runID, "Authorization: Bearer "+worker.AccessToken).json(t, &run)
	appendOp := map[string]any{"op_id": newID(), "type": "run", "action": "append", "id": runID, "case_id": caseID,
		"data": map[string]any{"client_id": "rec-1", "step_id": run.Steps[0].StepID, "status": "done", "recorded_at": time.Now().UTC().Format(time.RFC3339)}}
	ops = append(ops, appendOp)
	all := push(t, worker.AccessToken, ops...) // the first two again, plus the append
	for i, r := range all[:2] {
		if r.Status != "already_applied" || len(r.First) == 0 {
			t.Errorf("retried operation %d: %+v", i, r)
		}
		var f pushResult
		json.Unmarshal(r.First, &f)
		if f.Status != first[i].Status || f.ID != first[i].ID {
			t.Errorf("first result of %d = %+v, was %+v", i, f, first[i])
		}
	}
	if all[2].Status != "applied" {
		t.Fatalf("append: %+v", all[2])
	}
	again := push(t, worker.AccessToken, ops...)
	if again[2].Status != "already_applied" {
		t.Errorf("retried append: %+v", again[2])
	}
	var detail struct{ Records []any }
	get(t, server(t).base, "/v1/cases/"+caseID+"/runs/"+runID, "Authorization: Bearer "+worker.AccessToken).json(t, &detail)
	var runs struct{ Items []any }
	get(t, server(t).base, "/v1/cases/"+caseID+"/runs", "Authorization: Bearer "+worker.AccessToken).json(t, &runs)
	if len(detail.Records) != 1 || len(runs.Items) != 1 {
		t.Errorf("after retries: %d records, %d runs", len(detail.Records), len(runs.Items))
	}
}

// A caseworker unassigned while the phone is offline: the case is removed on the next pull; assigned
// again, the case comes back with its runs.
func TestSyncAssignmentRemovedWhileOffline(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	_, _, supervisor := org.newUser(t, "supervisor")
	_, _, worker := org.newUser(t, "caseworker")
	_, _, colleague := org.newUser(t, "caseworker")
	id, runID := assignedCase(t, server(t).base, supervisor.AccessToken, worker.User.ID, "Child U."), newID()
	post(t, server(t).base, http.MethodPost, "/v1/cases/"+id+"/runs", worker.AccessToken, map[string]string{"id": runID, "protocol_id": "first-contact-safety"})
	d := newDevice(worker.AccessToken)
	d.sync(t, 50)
	if !d.has("case", id) || !d.has("run", runID) {
		t.Fatal("the assigned case is not on the phone")
	}
	r := post(t, server(t).base, http.MethodPatch, "/v1/cases/"+id, supervisor.AccessToken, map[string]any{"version": 1, "caseworker_ids": []string{colleague.User.ID}})
	if r.status != http.StatusOK {
		t.Fatalf("unassign: %d %s", r.status, r.body)
	}
	p := pull(t, worker.AccessToken, d.cursor, 50)
	if len(p.Removals) != 1 || p.Removals[0].ID != id || p.Removals[0].Reason != "unassigned" || len(p.Records) != 0 {
		t.Fatalf("after unassignment: %+v", p)
	}
	d.apply(p)
	if d.has("case", id) || d.has("run", runID) {
		t.Error("the case or its run stayed on the phone")
	}
	if p := pull(t, colleague.AccessToken, "", 50); !slices.ContainsFunc(p.Records, func(r syncRecord) bool { return r.ID == runID }) {
		t.Error("the newly assigned colleague's snapshot lacks the run")
	}
	post(t, server(t).base, http.MethodPatch, "/v1/cases/"+id, supervisor.AccessToken, map[string]any{"version": 2, "caseworker_ids": []string{colleague.User.ID, worker.User.ID}})
	d.sync(t, 50)
	if !d.has("case", id) || !d.has("run", runID) {
		t.Errorf("assigned again: case %v, run %v", d.has("case", id), d.has("run", runID))
	}
}

// A device revoked while offline: its push is refused, nothing is applied, and it is told to wipe.
func TestSyncDeviceRevokedWhileOffline(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	username, password, phone := org.newUser(t, "caseworker")
	d := newDevice(phone.AccessToken)
	d.sync(t, 50)
	laptop := login(t, server(t).base, username, password, "laptop-"+username)
	if r := do(t, server(t).base, http.MethodDelete, "/v1/devices/phone-"+username, nil, "Authorization: Bearer "+laptop.AccessToken); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	id := newID()
	r := post(t, server(t).base, http.MethodPost, "/v1/sync/push", phone.AccessToken, map[string]any{"operations": []any{createOp(id, "Child V.")}})
	var p struct {
		Code          string
		WipeLocalData bool `json:"wipe_local_data"`
	}
	r.json(t, &p)
	if r.status != http.StatusUnauthorized || p.Code != "device_revoked" || !p.WipeLocalData {
		t.Fatalf("push from a revoked device: %d %s", r.status, r.body)
	}
	if r := get(t, server(t).base, "/v1/sync/changes", "Authorization: Bearer "+phone.AccessToken); r.status != http.StatusUnauthorized {
		t.Errorf("pull from a revoked device: %d", r.status)
	}
	if r := get(t, server(t).base, "/v1/cases/"+id, "Authorization: Bearer "+laptop.AccessToken); r.status != http.StatusNotFound {
		t.Errorf("the revoked device's case exists: %d", r.status)
	}
}

// All-or-nothing: a case and its first run created offline in one group; when the run cannot be
// started, the case is not created either. Outside a group, a bad operation does not block others.
func TestSyncGroups(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	_, _, worker := org.newUser(t, "caseworker")
	caseID, runID := newID(), newID()
	res := push(t, worker.AccessToken,
		map[string]any{"op_id": newID(), "type": "case", "action": "create", "id": caseID, "group": "g1", "data": newCase(caseID, "Child G.")},
		map[string]any{"op_id": newID(), "type": "run", "action": "create", "id": runID, "case_id": caseID, "group": "g1", "data": map[string]any{"protocol_id": "no-such-protocol"}},
	)
	if res[0].Status != "not_applied" || res[1].Status != "rejected" || res[0].Problem.Code != "sync_group_failed" || res[1].Problem == nil {
		t.Fatalf("failed group: %+v / %+v", res[0], res[1])
	}
	if r := get(t, server(t).base, "/v1/cases/"+caseID, "Authorization: Bearer "+worker.AccessToken); r.status != http.StatusNotFound {
		t.Errorf("the case of a failed group exists: %d", r.status)
	}
	res = push(t, worker.AccessToken,
		map[string]any{"op_id": newID(), "type": "case", "action": "create", "id": caseID, "group": "g2", "data": newCase(caseID, "Child G.")},
		map[string]any{"op_id": newID(), "type": "run", "action": "create", "id": runID, "case_id": caseID, "group": "g2", "data": map[string]any{"protocol_id": "first-contact-safety"}},
	)
	if res[0].Status != "applied" || res[1].Status != "applied" {
		t.Fatalf("good group: %+v / %+v", res[0], res[1])
	}
	// An operation refused for its body fails its group too.
	caseID3 := newID()
	res = push(t, worker.AccessToken,
		map[string]any{"op_id": newID(), "type": "case", "action": "create", "id": caseID3, "group": "g3", "data": newCase(caseID3, "Child J.")},
		map[string]any{"op_id": newID(), "type": "run", "action": "create", "id": newID(), "case_id": caseID3, "group": "g3", "data": map[string]any{"protocol": "x"}},
	)
	if res[0].Status != "not_applied" || res[1].Status != "rejected" || res[1].Type != "run" || res[1].Problem == nil ||
		!slices.ContainsFunc(res[1].Problem.Errors, func(e struct{ Field, Code, Message string }) bool { return e.Field == "protocol" }) {
		t.Fatalf("group with a malformed operation: %+v / %+v", res[0], res[1])
	}
	if r := get(t, server(t).base, "/v1/cases/"+caseID3, "Authorization: Bearer "+worker.AccessToken); r.status != http.StatusNotFound {
		t.Errorf("the case of a group with a malformed operation exists: %d", r.status)
	}
	bad := createOp(newID(), "Child H.")
	bad["data"].(map[string]any)["case_types"] = []string{"phishing"}
	good := createOp(newID(), "Child I.")
	res = push(t, worker.AccessToken+"", bad, good)
	if res[0].Status != "rejected" || res[1].Status != "applied" {
		t.Fatalf("independent operations: %+v / %+v", res[0], res[1])
	}
	if !slices.ContainsFunc(res[0].Problem.Errors, func(e struct{ Field, Code, Message string }) bool { return e.Field == "case_types[0]" }) {
		t.Errorf("rejection without the field: %+v", res[0].Problem)
	}
}

// Idempotency-Key on a POST: the retry gets the stored response; the same key with another body is
// refused; nothing is created twice.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	base := server(t).base
	_, _, worker := org.newUser(t, "caseworker")
	key := newID()
	id := newID()
	send := func(body any, lang string) *response {
		b, _ := json.Marshal(body)
		return do(t, base, http.MethodPost, "/v1/cases"+lang, bytes.NewReader(b), "Content-Type: application/json",
			"Authorization: Bearer "+worker.AccessToken, "Idempotency-Key: "+key)
	}
	first := send(newCase(id, "Child K."), "")
	second := send(newCase(id, "Child K."), "")
	if first.status != http.StatusCreated || second.status != http.StatusCreated || string(first.body) != string(second.body) {
		t.Fatalf("retry: %d / %d", first.status, second.status)
	}
	if second.header.Get("Idempotent-Replayed") != "true" || first.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("Idempotent-Replayed: %q then %q", first.header.Get("Idempotent-Replayed"), second.header.Get("Idempotent-Replayed"))
	}
	if replay := send(newCase(id, "Child K."), "?lang=es"); replay.header.Get("Content-Language") != first.header.Get("Content-Language") {
		t.Errorf("the replay says %q, the first answer was in %q", replay.header.Get("Content-Language"), first.header.Get("Content-Language"))
	}
	reused := send(newCase(newID(), "Someone else"), "?lang=fr")
	if reused.status != http.StatusUnprocessableEntity || reused.problem(t).Code != "idempotency_key_reused" || reused.header.Get("Content-Language") != "fr" {
		t.Errorf("same key, other body: %d %s", reused.status, reused.body)
	}
	badKey := do(t, base, http.MethodPost, "/v1/cases", bytes.NewReader([]byte("{}")), "Content-Type: application/json",
		"Authorization: Bearer "+worker.AccessToken, "Idempotency-Key: has space")
	if badKey.status != http.StatusBadRequest {
		t.Errorf("a key with a space: %d", badKey.status)
	}
	// A refusal is an answer too: the retry gets it again.
	badKeyed := func() *response {
		return do(t, base, http.MethodPost, "/v1/cases", bytes.NewReader([]byte(`{"id":"x"}`)), "Content-Type: application/json",
			"Authorization: Bearer "+worker.AccessToken, "Idempotency-Key: bad-"+key)
	}
	if r1, r2 := badKeyed(), badKeyed(); r1.status != 400 || r2.status != 400 || r2.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("a refused request retried: %d / %d %q", r1.status, r2.status, r2.header.Get("Idempotent-Replayed"))
	}
	// Sign-in answers credentials: never kept, a retry signs in again.
	username, password, _ := org.newUser(t, "caseworker")
	signIn := func() *response {
		b, _ := json.Marshal(map[string]string{"username": username, "password": password, "device_id": "kiosk-" + username})
		return do(t, base, http.MethodPost, "/v1/auth/login", bytes.NewReader(b), "Content-Type: application/json", "Idempotency-Key: login-"+key)
	}
	if l1, l2 := signIn(), signIn(); l1.status != 200 || l2.status != 200 || l2.header.Get("Idempotent-Replayed") != "" || string(l1.body) == string(l2.body) {
		t.Errorf("sign-in with a key: %d / %d, replayed %q", l1.status, l2.status, l2.header.Get("Idempotent-Replayed"))
	}
	// A sync push with a key: the retry replays it.
	pushBody := map[string]any{"operations": []any{createOp(newID(), "Child P.")}}
	b, _ := json.Marshal(pushBody)
	p1 := do(t, base, http.MethodPost, "/v1/sync/push", bytes.NewReader(b), "Content-Type: application/json", "Authorization: Bearer "+worker.AccessToken, "Idempotency-Key: push-"+key)
	p2 := do(t, base, http.MethodPost, "/v1/sync/push", bytes.NewReader(b), "Content-Type: application/json", "Authorization: Bearer "+worker.AccessToken, "Idempotency-Key: push-"+key)
	if p1.status != 200 || string(p1.body) != string(p2.body) || p2.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("push with a key: %d %s / %s", p1.status, p1.body, p2.body)
	}
}

// The devices' sync state: each device sees its own; supervisors and admins see every device's last
// contact; others may not.
func TestSyncStatus(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	wname, _, worker := org.newUser(t, "caseworker")
	_, _, supervisor := org.newUser(t, "supervisor")
	_, _, auditor := org.newUser(t, "auditor")
	push(t, worker.AccessToken, createOp(newID(), "Child S."))
	pull(t, worker.AccessToken, "", 10)
	type deviceState struct {
		DeviceID      string     `json:"device_id"`
		LastPullAt    *time.Time `json:"last_pull_at"`
		LastPushAt    *time.Time `json:"last_push_at"`
		LastContactAt *time.Time `json:"last_contact_at"`
		Watermark     int64
	}
	var st struct{ Items []deviceState }
	get(t, server(t).base, "/v1/sync/status", "Authorization: Bearer "+worker.AccessToken).json(t, &st)
	if len(st.Items) != 1 || st.Items[0].DeviceID != "phone-"+wname || st.Items[0].LastPullAt == nil || st.Items[0].LastPushAt == nil || st.Items[0].Watermark == 0 {
		t.Fatalf("own status: %+v", st)
	}
	for _, tc := range []struct {
		name  string
		token string
		want  int
	}{{"supervisor", supervisor.AccessToken, 200}, {"admin", org.admin, 200}, {"caseworker", worker.AccessToken, 403}, {"auditor", auditor.AccessToken, 403}} {
		r := get(t, server(t).base, "/v1/sync/status?all=true", "Authorization: Bearer "+tc.token)
		if r.status != tc.want {
			t.Errorf("%s asks for all devices: %d", tc.name, r.status)
			continue
		}
		if tc.want == 200 {
			var all struct{ Items []deviceState }
			r.json(t, &all)
			i := slices.IndexFunc(all.Items, func(x deviceState) bool { return x.DeviceID == "phone-"+wname })
			if i < 0 || all.Items[i].LastContactAt == nil || all.Items[i].LastPushAt == nil {
				t.Errorf("%s: the caseworker's phone and its last contact are not in %+v", tc.name, all.Items)
			}
		}
	}
	if r := get(t, server(t).base, "/v1/sync/status?all=maybe", "Authorization: Bearer "+supervisor.AccessToken); r.status != 400 {
		t.Errorf("all=maybe: %d", r.status)
	}
}

// Bad input: a localized problem, and nothing changes in the database.
func TestSyncBadInput(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	base := server(t).base
	_, _, worker := org.newUser(t, "caseworker")
	id := newID()
	valid := createOp(id, "Child Z.")
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"malformed JSON", `{"operations": [`, "body"},
		{"unknown field", map[string]any{"operations": []any{valid}, "force": true}, "force"},
		{"wrong type", map[string]any{"operations": "all of them"}, "operations"},
		{"no operations", map[string]any{"operations": []any{}}, "operations"},
		{"invalid op id", map[string]any{"operations": []any{map[string]any{"op_id": "1", "type": "case", "action": "create", "id": id, "data": valid["data"]}}}, "operations[0].op_id"},
		{"invalid action", map[string]any{"operations": []any{map[string]any{"op_id": newID(), "type": "case", "action": "delete", "id": id}}}, "operations[0].action"},
		{"operator injection", map[string]any{"operations": []any{map[string]any{"op_id": newID(), "type": "case", "action": "create", "id": id,
			"data": map[string]any{"child": map[string]any{"pseudonym": map[string]any{"$ne": ""}}}}}}, "operations[0].data.child.pseudonym.$ne"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, base, http.MethodPost, "/v1/sync/push?lang=ru", worker.AccessToken, tt.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			p := r.problem(t)
			if !slices.ContainsFunc(p.Errors, func(e struct{ Field, Code, Message string }) bool { return e.Field == tt.field }) {
				t.Errorf("no error for %s in %+v", tt.field, p.Errors)
			}
		})
	}
	// Operations that are well-formed as a body but wrong in themselves: rejected one by one.
	ops := []map[string]any{
		{"op_id": newID(), "type": "evidence_item", "action": "create", "id": newID(), "data": map[string]any{}},
		{"op_id": newID(), "type": "case", "action": "append", "id": newID(), "data": map[string]any{}},
		{"op_id": newID(), "type": "case", "action": "create", "id": id, "data": map[string]any{"child": map[string]any{"age_band": "teen"}, "wrong": 1}},
		{"op_id": newID(), "type": "case", "action": "update", "id": id, "changes": map[string]any{"reference_number": "x"}},
		{"op_id": newID(), "type": "run", "action": "create", "id": newID(), "data": map[string]any{"protocol_id": "first-contact-safety"}},
	}
	for i, r := range push(t, worker.AccessToken, ops...) {
		if r.Status != "rejected" || r.Problem == nil || r.Problem.Status != 400 {
			t.Errorf("operation %d: %+v", i, r)
		}
	}
	if r := get(t, base, "/v1/cases/"+id, "Authorization: Bearer "+worker.AccessToken); r.status != http.StatusNotFound {
		t.Errorf("a refused case exists: %d", r.status)
	}
	for _, q := range []string{"?cursor=nope", "?cursor=", "?limit=0", "?limit=500", "?limit=x", "?since=1"} {
		if r := get(t, base, "/v1/sync/changes"+q, "Authorization: Bearer "+worker.AccessToken); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d", q, r.status)
		}
	}
	// Another user's cursor is refused.
	_, _, other := org.newUser(t, "caseworker")
	theirs := pull(t, other.AccessToken, "", 10)
	if r := get(t, base, "/v1/sync/changes?cursor="+theirs.NextCursor, "Authorization: Bearer "+worker.AccessToken); r.status != http.StatusBadRequest {
		t.Errorf("another user's cursor: %d", r.status)
	}
}

// What sync keeps (the results of pushed operations, the responses of Idempotency-Key requests)
// holds case data, so it is stored encrypted: the raw database holds none of it.
func TestSyncStoredResultsAreEncrypted(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	s := server(t)
	_, _, worker := org.newUser(t, "caseworker")
	pseudonym := "Wombat-Pseudo-8842"
	body, _ := json.Marshal(map[string]any{"operations": []any{createOp(newID(), pseudonym)}})
	r := do(t, s.base, http.MethodPost, "/v1/sync/push", bytes.NewReader(body), "Content-Type: application/json",
		"Authorization: Bearer "+worker.AccessToken, "Idempotency-Key: "+newID())
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(pseudonym)) {
		t.Fatalf("push: %d %s", r.status, r.body)
	}
	db := rawDatabase(t, s)
	for _, coll := range []string{"sync_results", "idempotency_keys"} {
		cur, err := db.Collection(coll).Find(context.Background(), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for cur.Next(context.Background()) {
			n++
			if bytes.Contains(cur.Current, []byte(pseudonym)) || bytes.Contains(cur.Current, []byte("Wombat")) {
				t.Errorf("%s holds the pseudonym in plain text", coll)
			}
		}
		if n == 0 {
			t.Errorf("no documents in %s: the test looks at the wrong place", coll)
		}
	}
}

// A phone offline records an interview (the session and its prompts) and evidence (an item and
// custody events) and pushes them; a retried push duplicates nothing; another device of a
// supervisor pulls them; the caseworker, unassigned, loses them with the case.
func TestSyncInterviewAndEvidenceOffline(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	base := server(t).base
	supName, supPass, supervisor := org.newUser(t, "supervisor")
	_, _, worker := org.newUser(t, "caseworker")
	_, _, colleague := org.newUser(t, "caseworker")
	caseID := assignedCase(t, base, supervisor.AccessToken, worker.User.ID, "Child O.")
	phone := newDevice(worker.AccessToken)
	phone.sync(t, 200)
	tablet := newDevice(login(t, base, supName, supPass, "tablet-"+supName).AccessToken)
	tablet.sync(t, 200)

	// Offline: an interview with two prompts, an item sealed and stored.
	sessionID, itemID := newID(), newID()
	sealed, stored := event("sealed", map[string]any{"seal_number": "S-501"}), event("stored", map[string]any{"place": "Evidence locker 3"})
	now := time.Now().UTC().Format(time.RFC3339)
	item := newPhone(itemID)
	delete(item, "id")
	withItem := func(e map[string]any) map[string]any {
		d := map[string]any{"item_id": itemID}
		for k, v := range e {
			if k != "id" {
				d[k] = v
			}
		}
		return d
	}
	ops := []map[string]any{
		{"op_id": newID(), "type": "interview_session", "action": "create", "id": sessionID, "case_id": caseID, "group": "interview",
			"data": map[string]any{"plan": interviewPlan()}},
		{"op_id": newID(), "type": "interview_session", "action": "append", "id": sessionID, "case_id": caseID, "group": "interview",
			"data": map[string]any{"prompts": []map[string]any{
				{"client_id": "p-1", "type": "invitation", "words": "Tell me everything about the phone.", "recorded_at": now},
				{"client_id": "p-2", "type": "cued_invitation", "words": "You said he wrote to you; tell me more.", "recorded_at": now}}}},
		{"op_id": newID(), "type": "evidence_item", "action": "create", "id": itemID, "case_id": caseID, "group": "evidence", "data": item},
		{"op_id": newID(), "type": "custody_event", "action": "append", "id": sealed["id"], "case_id": caseID, "group": "evidence", "data": withItem(sealed)},
		{"op_id": newID(), "type": "custody_event", "action": "append", "id": stored["id"], "case_id": caseID, "group": "evidence", "data": withItem(stored)},
	}
	first := push(t, worker.AccessToken, ops...)
	for i, r := range first {
		if r.Status != "applied" || r.Record == nil || r.Record.Type != ops[i]["type"] {
			t.Fatalf("operation %d: %+v", i, r)
		}
	}
	var pushed struct{ Prompts []any }
	json.Unmarshal(first[1].Record.Data, &pushed)
	if len(pushed.Prompts) != 2 {
		t.Errorf("the appended session holds %d prompts", len(pushed.Prompts))
	}

	// The response was lost: the same push again, and the same entries and events under new op ids.
	for i, r := range push(t, worker.AccessToken, ops...) {
		if r.Status != "already_applied" {
			t.Errorf("retried operation %d: %+v", i, r)
		}
	}
	again := []map[string]any{ops[1], ops[3], ops[4]}
	for i := range again {
		again[i] = maps.Clone(again[i])
		again[i]["op_id"], again[i]["group"] = newID(), ""
	}
	for i, r := range push(t, worker.AccessToken, again...) {
		if r.Status != "applied" {
			t.Errorf("re-sent entries %d: %+v", i, r)
		}
	}
	var sess struct{ Prompts []any }
	get(t, base, "/v1/cases/"+caseID+"/interviews/"+sessionID, "Authorization: Bearer "+worker.AccessToken).json(t, &sess)
	var events struct{ Items []custodyEvent }
	get(t, base, "/v1/cases/"+caseID+"/evidence/"+itemID+"/events", "Authorization: Bearer "+worker.AccessToken).json(t, &events)
	var items struct{ Items []any }
	get(t, base, "/v1/cases/"+caseID+"/evidence", "Authorization: Bearer "+worker.AccessToken).json(t, &items)
	if len(sess.Prompts) != 2 || len(events.Items) != 3 || len(items.Items) != 1 {
		t.Fatalf("after retries: %d prompts, %d custody events, %d items; want 2, 3, 1", len(sess.Prompts), len(events.Items), len(items.Items))
	}

	// The supervisor's tablet and the phone pull them.
	for name, d := range map[string]*device{"tablet": tablet, "phone": phone} {
		d.sync(t, 200)
		for _, key := range []string{"interview_session/" + sessionID, "evidence_item/" + itemID, "custody_event/" + itemID,
			"custody_event/" + sealed["id"].(string), "custody_event/" + stored["id"].(string)} {
			rec, ok := d.records[key]
			if !ok {
				t.Errorf("%s: %s not pulled", name, key)
				continue
			}
			if rec.CaseID != caseID {
				t.Errorf("%s: %s has case %s", name, key, rec.CaseID)
			}
		}
		var s struct {
			Prompts []struct{ Words string }
			Version int64
		}
		json.Unmarshal(d.records["interview_session/"+sessionID].Data, &s)
		if len(s.Prompts) != 2 || s.Prompts[0].Words != "Tell me everything about the phone." || s.Version != 1 {
			t.Errorf("%s: the session as pulled: %s", name, d.records["interview_session/"+sessionID].Data)
		}
		var it struct {
			State struct{ Status string }
			Head  struct{ Seq int64 }
		}
		json.Unmarshal(d.records["evidence_item/"+itemID].Data, &it)
		if it.State.Status != "in_storage" || it.Head.Seq != 3 {
			t.Errorf("%s: the item as pulled: %s", name, d.records["evidence_item/"+itemID].Data)
		}
	}

	// Unassigned, the caseworker's phone drops the case with its interview and evidence, and gets
	// nothing of it afterwards.
	if r := post(t, base, http.MethodPatch, "/v1/cases/"+caseID, supervisor.AccessToken, map[string]any{"version": 1, "caseworker_ids": []string{colleague.User.ID}}); r.status != http.StatusOK {
		t.Fatalf("unassign: %d %s", r.status, r.body)
	}
	note := event("note", map[string]any{"note": "Checked by the supervisor"})
	if r := post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/evidence/"+itemID+"/events", supervisor.AccessToken, note); r.status != http.StatusCreated {
		t.Fatalf("note: %d %s", r.status, r.body)
	}
	p := pull(t, worker.AccessToken, phone.cursor, 200)
	if len(p.Removals) != 1 || p.Removals[0].ID != caseID || p.Removals[0].Reason != "unassigned" {
		t.Fatalf("after unassignment: %+v", p.Removals)
	}
	for _, r := range p.Records {
		if r.CaseID == caseID {
			t.Errorf("the unassigned caseworker got %s %s", r.Type, r.ID)
		}
	}
	phone.apply(p)
	for key, rec := range phone.records {
		if rec.CaseID == caseID {
			t.Errorf("%s stayed on the phone", key)
		}
	}
	if p := pull(t, colleague.AccessToken, "", 200); !slices.ContainsFunc(p.Records, func(r syncRecord) bool { return r.Type == "custody_event" && r.ID == note["id"] }) ||
		!slices.ContainsFunc(p.Records, func(r syncRecord) bool { return r.Type == "interview_session" && r.ID == sessionID }) {
		t.Error("the newly assigned colleague's snapshot lacks the interview or the new custody event")
	}
	// Assigned again, the case comes back with its interview and all its evidence, however old.
	if r := post(t, base, http.MethodPatch, "/v1/cases/"+caseID, supervisor.AccessToken, map[string]any{"version": 2, "caseworker_ids": []string{colleague.User.ID, worker.User.ID}}); r.status != http.StatusOK {
		t.Fatalf("assign again: %d %s", r.status, r.body)
	}
	phone.sync(t, 200)
	for _, key := range []string{"case/" + caseID, "interview_session/" + sessionID, "evidence_item/" + itemID, "custody_event/" + itemID,
		"custody_event/" + sealed["id"].(string), "custody_event/" + note["id"].(string)} {
		if _, ok := phone.records[key]; !ok {
			t.Errorf("assigned again: %s did not come back", key)
		}
	}
}

// Interview and evidence operations are checked like their own routes: bad bodies, a missing item,
// another's interview are rejected one by one, and change nothing.
func TestSyncInterviewAndEvidenceRejected(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	base := server(t).base
	_, _, worker := org.newUser(t, "caseworker")
	_, _, other := org.newUser(t, "caseworker")
	caseID := newID()
	if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(caseID, "Child Q.")); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	sessionID, itemID := newID(), newID()
	ops := []map[string]any{
		{"op_id": newID(), "type": "interview_session", "action": "create", "id": sessionID, "data": map[string]any{"plan": interviewPlan()}},
		{"op_id": newID(), "type": "interview_session", "action": "create", "id": sessionID, "case_id": caseID, "data": map[string]any{"plan": interviewPlan(), "mood": "ok"}},
		{"op_id": newID(), "type": "interview_session", "action": "update", "id": sessionID, "case_id": caseID, "data": map[string]any{}},
		{"op_id": newID(), "type": "evidence_item", "action": "create", "id": itemID, "case_id": caseID, "data": map[string]any{"kind": "spaceship"}},
		{"op_id": newID(), "type": "custody_event", "action": "append", "id": newID(), "case_id": caseID,
			"data": map[string]any{"type": "note", "note": "x", "recorded_at": time.Now().UTC().Format(time.RFC3339)}},
		{"op_id": newID(), "type": "custody_event", "action": "append", "id": newID(), "case_id": caseID,
			"data": map[string]any{"item_id": newID(), "type": "note", "note": "x", "recorded_at": time.Now().UTC().Format(time.RFC3339)}},
	}
	for i, r := range push(t, worker.AccessToken, ops...) {
		if r.Status != "rejected" || r.Problem == nil {
			t.Errorf("operation %d: %+v", i, r)
		}
	}
	// Another caseworker may not record an interview or evidence on a case not assigned to them.
	res := push(t, other.AccessToken,
		map[string]any{"op_id": newID(), "type": "interview_session", "action": "create", "id": sessionID, "case_id": caseID, "data": map[string]any{"plan": interviewPlan()}},
		map[string]any{"op_id": newID(), "type": "evidence_item", "action": "create", "id": itemID, "case_id": caseID, "data": newPhone(itemID)})
	for i, r := range res {
		if r.Status != "rejected" || r.Problem == nil || r.Problem.Status != http.StatusNotFound {
			t.Errorf("another's case, operation %d: %+v", i, r)
		}
	}
	if r := get(t, base, "/v1/cases/"+caseID+"/interviews/"+sessionID, "Authorization: Bearer "+worker.AccessToken); r.status != http.StatusNotFound {
		t.Errorf("a refused session exists: %d", r.status)
	}
	if r := get(t, base, "/v1/cases/"+caseID+"/evidence/"+itemID, "Authorization: Bearer "+worker.AccessToken); r.status != http.StatusNotFound {
		t.Errorf("a refused item exists: %d", r.status)
	}
}

// Two tablets of one interviewer edit the same interview plan offline: changes of different fields
// merge, a change of the same field conflicts with the server copy, a change sent without its base
// at a stale version conflicts, retries change nothing, and another device pulls the merged plan.
func TestSyncTwoTabletsEditTheSameInterviewPlan(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	base := server(t).base
	username, password, tablet1 := org.newUser(t, "caseworker")
	tablet2 := login(t, base, username, password, "tablet-"+username)
	caseID, sessionID := newID(), newID()
	res := push(t, tablet1.AccessToken, createOp(caseID, "Child P."),
		map[string]any{"op_id": newID(), "type": "interview_session", "action": "create", "id": sessionID, "case_id": caseID,
			"data": map[string]any{"plan": interviewPlan()}})
	if res[0].Status != "applied" || res[1].Status != "applied" {
		t.Fatalf("create: %+v", res)
	}
	plan := interviewPlan()
	update := func(token string, baseVersion int, changes, was map[string]any) map[string]any {
		op := map[string]any{"op_id": newID(), "type": "interview_session", "action": "update", "id": sessionID, "case_id": caseID,
			"base_version": baseVersion, "changes": map[string]any{"plan": changes}}
		if was != nil {
			op["base"] = map[string]any{"plan": was}
		}
		return op
	}
	first := update(tablet1.AccessToken, 1, map[string]any{"place": "Room 3"}, map[string]any{"place": plan["place"]})
	if res := push(t, tablet1.AccessToken, first); res[0].Status != "applied" || *res[0].Record.Version != 2 {
		t.Fatalf("tablet 1: %+v", res[0])
	}
	consent := maps.Clone(plan["consent"].(map[string]any))
	consent["notes"] = "Explained again with the caregiver"
	res = push(t, tablet2.AccessToken, update(tablet2.AccessToken, 1,
		map[string]any{"child_friendly_room": false, "consent": consent},
		map[string]any{"child_friendly_room": true, "consent": plan["consent"]}))
	if res[0].Status != "merged" || !slices.Equal(res[0].MergedFields, []string{"plan.child_friendly_room", "plan.consent"}) || *res[0].Record.Version != 3 {
		t.Fatalf("disjoint fields: %+v", res[0])
	}
	type planOf struct {
		Version int64
		Plan    struct {
			Place             string
			ChildFriendlyRoom bool `json:"child_friendly_room"`
			Consent           struct{ Notes string }
		}
	}
	var merged planOf
	json.Unmarshal(res[0].Record.Data, &merged)
	if merged.Plan.Place != "Room 3" || merged.Plan.ChildFriendlyRoom || merged.Plan.Consent.Notes != "Explained again with the caregiver" {
		t.Errorf("merged plan: %+v", merged)
	}

	for name, op := range map[string]map[string]any{
		"the same field":     update(tablet2.AccessToken, 1, map[string]any{"place": "Room 4"}, map[string]any{"place": plan["place"]}),
		"no base, stale":     update(tablet2.AccessToken, 1, map[string]any{"place": "Room 4"}, nil),
		"base of a new edit": update(tablet2.AccessToken, 2, map[string]any{"child_friendly_room": true}, map[string]any{"child_friendly_room": true}),
	} {
		res := push(t, tablet2.AccessToken, op)
		if res[0].Status != "conflict" || len(res[0].ConflictingFields) != 1 || res[0].Current == nil || *res[0].Current.Version != 3 {
			t.Errorf("%s: %+v", name, res[0])
		}
	}
	// The response to tablet 1's push was lost: sent again, it is the first result and changes nothing.
	if res := push(t, tablet1.AccessToken, first); res[0].Status != "already_applied" {
		t.Errorf("retried update: %+v", res[0])
	}
	s := sessionCall(t, base, http.MethodGet, "/v1/cases/"+caseID+"/interviews/"+sessionID, tablet1.AccessToken, nil, http.StatusOK)
	if s.Version != 3 || s.Plan.Place != "Room 3" {
		t.Errorf("after the conflicts and the retry: version %d, place %q", s.Version, s.Plan.Place)
	}
	phone := newDevice(login(t, base, username, password, "phone-"+username).AccessToken)
	phone.sync(t, 200)
	var pulled planOf
	json.Unmarshal(phone.records["interview_session/"+sessionID].Data, &pulled)
	if pulled.Version != 3 || pulled.Plan.Place != "Room 3" || pulled.Plan.ChildFriendlyRoom {
		t.Errorf("pulled session: %+v", pulled)
	}
}

// An interviewer's offline edit of a session approved meanwhile is rejected with the localized
// problem, and changes nothing; another caseworker's edit is rejected as the route would.
func TestSyncEditOfApprovedInterviewRejected(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	base := server(t).base
	_, _, supervisor := org.newUser(t, "supervisor")
	_, _, worker := org.newUser(t, "caseworker")
	caseID := assignedCase(t, base, supervisor.AccessToken, worker.User.ID, "Child V.")
	s := createInterview(t, base, worker.AccessToken, caseID)
	path := "/v1/cases/" + caseID + "/interviews/" + s.ID
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	sessionCall(t, base, http.MethodPatch, path, worker.AccessToken, map[string]any{"version": 1, "started_at": rfc(t0), "ended_at": rfc(t0.Add(20 * time.Minute))}, 200)
	sessionCall(t, base, http.MethodPost, path+"/submit", worker.AccessToken, map[string]any{"version": 2}, 200)
	sessionCall(t, base, http.MethodPost, path+"/review", supervisor.AccessToken, map[string]any{"version": 3, "decision": "approve"}, 200)

	op := map[string]any{"op_id": newID(), "type": "interview_session", "action": "update", "id": s.ID, "case_id": caseID,
		"base_version": 1, "changes": map[string]any{"plan": map[string]any{"place": "Room 9"}}, "base": map[string]any{"plan": map[string]any{"place": interviewPlan()["place"]}}}
	r := post(t, base, http.MethodPost, "/v1/sync/push?lang=fr", worker.AccessToken, map[string]any{"operations": []any{op}})
	var out struct{ Results []pushResult }
	r.json(t, &out)
	if r.status != http.StatusOK || len(out.Results) != 1 {
		t.Fatalf("push: %d %s", r.status, r.body)
	}
	res := out.Results[0]
	if res.Status != "rejected" || res.Problem == nil || res.Problem.Code != "interview_locked" || res.Problem.Detail == "" || res.Problem.Detail == "ErrInterviewApproved" {
		t.Fatalf("edit of an approved session: %+v %+v", res, res.Problem)
	}
	en := push(t, worker.AccessToken, map[string]any{"op_id": newID(), "type": "interview_session", "action": "update", "id": s.ID, "case_id": caseID,
		"base_version": 4, "changes": map[string]any{"started_at": rfc(t0.Add(time.Minute))}})
	if en[0].Status != "rejected" || en[0].Problem == nil || en[0].Problem.Detail == res.Problem.Detail {
		t.Errorf("the problem is not localized: %+v / %+v", en[0].Problem, res.Problem)
	}
	_, _, other := org.newUser(t, "caseworker")
	if res := push(t, other.AccessToken, op); res[0].Status != "rejected" || res[0].Problem.Status != http.StatusNotFound {
		t.Errorf("another caseworker's edit: %+v", res[0])
	}
	if got := sessionCall(t, base, http.MethodGet, path, worker.AccessToken, nil, 200); got.Version != 4 || got.Plan.Place != interviewPlan()["place"] {
		t.Errorf("the approved session changed: version %d, place %q", got.Version, got.Plan.Place)
	}
}

// A case closed offline and pushed is closed once however often the push is retried; another
// phone's close at the old version conflicts with the server copy; reopen works the same way; a
// case created and closed in one group offline is both.
func TestSyncCaseClosedOffline(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	username, password, phone1 := org.newUser(t, "caseworker")
	phone2 := login(t, server(t).base, username, password, "tablet-"+username)
	id := newID()
	if res := push(t, phone1.AccessToken, createOp(id, "Child C.")); res[0].Status != "applied" {
		t.Fatalf("create: %+v", res[0])
	}
	status := func(action string, baseVersion int, reason string) map[string]any {
		op := map[string]any{"op_id": newID(), "type": "case", "action": action, "id": id, "base_version": baseVersion, "data": map[string]any{}}
		if reason != "" {
			op["data"] = map[string]any{"reason": reason}
		}
		return op
	}
	closeOp := status("close", 1, "Referred to the police child protection unit")
	res := push(t, phone1.AccessToken, closeOp)
	var c caseBody
	if res[0].Status != "applied" || res[0].Record == nil || *res[0].Record.Version != 2 {
		t.Fatalf("close: %+v", res[0])
	}
	json.Unmarshal(res[0].Record.Data, &c)
	if c.Status != "closed" {
		t.Errorf("closed case: %+v", c)
	}
	for range 2 { // the response was lost
		if res := push(t, phone1.AccessToken, closeOp); res[0].Status != "already_applied" {
			t.Errorf("retried close: %+v", res[0])
		}
	}
	res = push(t, phone2.AccessToken, status("close", 1, "Closed on the second phone"), status("reopen", 1, "New disclosure"))
	for i, r := range res {
		if r.Status != "conflict" || r.Current == nil || *r.Current.Version != 2 || !slices.Equal(r.ConflictingFields, []string{"status"}) {
			t.Errorf("stale operation %d: %+v", i, r)
		}
	}
	res = push(t, phone2.AccessToken, status("reopen", 2, ""), status("close", 2, "Already closed"))
	if res[0].Status != "rejected" || res[0].Problem == nil || len(res[0].Problem.Errors) != 1 || res[0].Problem.Errors[0].Field != "reason" {
		t.Errorf("reopen without a reason: %+v", res[0])
	}
	if res[1].Status != "rejected" || res[1].Problem == nil || res[1].Problem.Code != "case_closed" {
		t.Errorf("closing a closed case: %+v %+v", res[1], res[1].Problem)
	}
	if res := push(t, phone2.AccessToken, status("reopen", 2, "New disclosure")); res[0].Status != "applied" || *res[0].Record.Version != 3 {
		t.Errorf("reopen: %+v", res[0])
	}
	if c := caseVersion(t, phone1.AccessToken, id); c.Status != "open" || c.Version != 3 {
		t.Errorf("after close, retries, conflicts and reopen: %+v", c)
	}

	// Created and closed offline, in one all-or-nothing group.
	id2 := newID()
	create := createOp(id2, "Child D.")
	create["group"] = "closed-at-once"
	closing := map[string]any{"op_id": newID(), "type": "case", "action": "close", "id": id2, "base_version": 1, "group": "closed-at-once",
		"data": map[string]any{"reason": "Duplicate of another case"}}
	for i, r := range push(t, phone1.AccessToken, create, closing) {
		if r.Status != "applied" {
			t.Errorf("group operation %d: %+v", i, r)
		}
	}
	if c := caseVersion(t, phone1.AccessToken, id2); c.Status != "closed" || c.Version != 2 {
		t.Errorf("created and closed offline: %+v", c)
	}
}

// Interview updates and case status changes that are wrong in themselves are rejected one by one
// with a problem, and change nothing.
func TestSyncUpdateAndCloseBadInput(t *testing.T) {
	t.Parallel()
	org := newOrg(t) // an organisation of its own: its change sequence is the test's alone
	base := server(t).base
	_, _, worker := org.newUser(t, "caseworker")
	caseID := newID()
	if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(caseID, "Child B.")); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	s := createInterview(t, base, worker.AccessToken, caseID)
	update := func(extra map[string]any) map[string]any {
		op := map[string]any{"op_id": newID(), "type": "interview_session", "action": "update", "id": s.ID, "case_id": caseID, "base_version": 1}
		maps.Copy(op, extra)
		return op
	}
	status := func(action string, extra map[string]any) map[string]any {
		op := map[string]any{"op_id": newID(), "type": "case", "action": action, "id": caseID, "base_version": 1}
		maps.Copy(op, extra)
		return op
	}
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	tests := []struct {
		name  string
		op    map[string]any
		field string // the field error expected, "" when the problem has none
	}{
		{"no base version", update(map[string]any{"base_version": 0, "changes": map[string]any{"plan": map[string]any{"place": "x"}}}), "base_version"},
		{"data instead of changes", update(map[string]any{"data": map[string]any{"plan": map[string]any{"place": "x"}}}), "data"},
		{"no changes", update(nil), "changes"},
		{"nothing changed", update(map[string]any{"changes": map[string]any{}}), "changes"},
		{"unknown field", update(map[string]any{"changes": map[string]any{"plan": map[string]any{"mood": "calm"}}}), ""},
		{"wrong type", update(map[string]any{"changes": map[string]any{"plan": map[string]any{"place": 5}}}), ""},
		{"changes not an object", update(map[string]any{"changes": []any{"place"}}), "changes"},
		{"place too long", update(map[string]any{"changes": map[string]any{"plan": map[string]any{"place": strings.Repeat("x", 501)}}}), ""},
		{"ended before it started", update(map[string]any{"changes": map[string]any{"started_at": rfc(t0), "ended_at": rfc(t0.Add(-time.Minute))}}), "ended_at"},
		{"bad participant role", update(map[string]any{"changes": map[string]any{"plan": map[string]any{"participants": []any{map[string]any{"role": "boss"}}}}}), ""},
		{"interview close", update(map[string]any{"action": "close", "data": map[string]any{"reason": "x"}}), "action"},
		{"close without data", status("close", nil), "data"},
		{"close without reason", status("close", map[string]any{"data": map[string]any{}}), "reason"},
		{"close, reason too long", status("close", map[string]any{"data": map[string]any{"reason": strings.Repeat("x", 501)}}), "reason"},
		{"close, reason wrong type", status("close", map[string]any{"data": map[string]any{"reason": 5}}), ""},
		{"close with changes", status("close", map[string]any{"data": map[string]any{"reason": "x"}, "changes": map[string]any{"status": "closed"}}), "changes"},
		{"reopen without base version", status("reopen", map[string]any{"base_version": 0, "data": map[string]any{"reason": "x"}}), "base_version"},
		{"reopen an open case", status("reopen", map[string]any{"data": map[string]any{"reason": "x"}}), ""},
	}
	ops := make([]map[string]any, len(tests))
	for i, tt := range tests {
		ops[i] = tt.op
	}
	for i, r := range push(t, worker.AccessToken, ops...) {
		tt := tests[i]
		if r.Status != "rejected" || r.Problem == nil || r.Problem.Status != http.StatusBadRequest {
			t.Errorf("%s: %+v", tt.name, r)
			continue
		}
		if tt.field != "" && !slices.ContainsFunc(r.Problem.Errors, func(e struct{ Field, Code, Message string }) bool { return e.Field == tt.field }) {
			t.Errorf("%s: no error for %s in %+v", tt.name, tt.field, r.Problem.Errors)
		}
	}
	if c := caseVersion(t, worker.AccessToken, caseID); c.Version != 1 || c.Status != "open" {
		t.Errorf("the case changed: %+v", c)
	}
	if got := sessionCall(t, base, http.MethodGet, "/v1/cases/"+caseID+"/interviews/"+s.ID, worker.AccessToken, nil, 200); got.Version != 1 || got.Plan.Place != interviewPlan()["place"] {
		t.Errorf("the session changed: version %d, place %q", got.Version, got.Plan.Place)
	}
}

// assignedCase creates, as a supervisor, a case assigned to caseworker workerID and returns its id.
func assignedCase(t *testing.T, base, supervisorToken, workerID, pseudonym string) string {
	t.Helper()
	id := newID()
	body := newCase(id, pseudonym)
	body["caseworker_ids"] = []string{workerID}
	if r := post(t, base, http.MethodPost, "/v1/cases", supervisorToken, body); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	return id
}

// An op_id already applied and pushed again is a retry only with the same content: with another
// payload it is a conflict showing the first result, and nothing of the second payload is applied.
func TestSyncPushReusedOpIDWithOtherPayload(t *testing.T) {
	t.Parallel()
	org := newOrg(t)
	_, _, worker := org.newUser(t, "caseworker")
	caseID := newID()
	op := createOp(caseID, "Child U.")
	first := push(t, worker.AccessToken, op)
	if first[0].Status != "applied" {
		t.Fatalf("first push: %+v", first[0])
	}
	tests := []struct {
		name   string
		op     map[string]any
		status string
	}{
		{"same payload is a retry", op, "already_applied"},
		{"other payload is a conflict", func() map[string]any {
			other := createOp(caseID, "Child V.")
			other["op_id"] = op["op_id"]
			return other
		}(), "conflict"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := push(t, worker.AccessToken, tc.op)
			if res[0].Status != tc.status || len(res[0].First) == 0 {
				t.Fatalf("status %q, want %q with the first result (problem %+v, first %s)", res[0].Status, tc.status, res[0].Problem, res[0].First)
			}
			var f pushResult
			if err := json.Unmarshal(res[0].First, &f); err != nil || f.Status != "applied" || f.ID != caseID {
				t.Errorf("first result = %+v (%v), want the applied create", f, err)
			}
			if tc.status == "conflict" && (res[0].Problem == nil || res[0].Problem.Code != "op_id_reused" || !strings.Contains(res[0].Problem.Detail, "op_id")) {
				t.Errorf("conflict problem = %+v, want op_id_reused, explained in words that name op_id", res[0].Problem)
			}
		})
	}
}

// The same Idempotency-Key with another body is refused on every kind of POST (the one middleware),
// answered 422 idempotency_key_reused (as the IETF draft advises) rather than 409.
func TestIdempotencyKeyReusedAcrossEndpoints(t *testing.T) {
	t.Parallel()
	org := newOrg(t)
	base := server(t).base
	_, _, worker := org.newUser(t, "caseworker")
	tests := []struct {
		name          string
		path          string
		first, second any
	}{
		{"case create", "/v1/cases", newCase(newID(), "Child A."), newCase(newID(), "Child B.")},
		{"sync push", "/v1/sync/push", map[string]any{"operations": []any{createOp(newID(), "Child C.")}},
			map[string]any{"operations": []any{createOp(newID(), "Child D.")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key := newID()
			send := func(body any) *response {
				b, _ := json.Marshal(body)
				return do(t, base, http.MethodPost, tc.path, bytes.NewReader(b), "Content-Type: application/json",
					"Authorization: Bearer "+worker.AccessToken, "Idempotency-Key: "+key)
			}
			if r := send(tc.first); r.status >= 300 {
				t.Fatalf("first: %d %s", r.status, r.body)
			}
			r := send(tc.second)
			if r.status != http.StatusUnprocessableEntity || r.problem(t).Code != "idempotency_key_reused" {
				t.Errorf("same key, other body: %d %s", r.status, r.body)
			}
		})
	}
}
