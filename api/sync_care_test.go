package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// careParties is an organisation with a supervisor and two caseworkers, the first assigned to a
// case, and another organisation with a supervisor and a caseworker.
type careParties struct {
	org                    testOrg
	sup, worker, colleague tokens
	otherSup, otherWorker  tokens
	caseID                 string
}

func newCareParties(t *testing.T) careParties {
	t.Helper()
	p := careParties{org: newOrg(t), caseID: newID()}
	_, _, p.sup = p.org.newUser(t, "supervisor")
	_, _, p.worker = p.org.newUser(t, "caseworker")
	_, _, p.colleague = p.org.newUser(t, "caseworker")
	other := newOrg(t)
	_, _, p.otherSup = other.newUser(t, "supervisor")
	_, _, p.otherWorker = other.newUser(t, "caseworker")
	p.call(t, http.MethodPost, "/v1/cases", p.worker, newCase(p.caseID, "Child S"), http.StatusCreated)
	return p
}

// call sends body as tk and fails the test unless the answer is want; it returns the body.
func (p careParties) call(t *testing.T, method, path string, tk tokens, body any, want int) []byte {
	t.Helper()
	r := post(t, server(t).base, method, path, tk.AccessToken, body)
	if r.status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r.body
}

// pushAs sends operations to path (with its query, for the language) as tk.
func pushAs(t *testing.T, path string, tk tokens, ops ...map[string]any) []pushResult {
	t.Helper()
	r := post(t, server(t).base, http.MethodPost, path, tk.AccessToken, map[string]any{"operations": ops})
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

func careOp(typ, id, caseID string, data map[string]any) map[string]any {
	return map[string]any{"op_id": newID(), "type": typ, "action": "create", "id": id, "case_id": caseID, "data": data}
}

func withOpID(op map[string]any, opID string) map[string]any {
	out := map[string]any{}
	for k, v := range op {
		out[k] = v
	}
	out["op_id"] = opID
	return out
}

// Services, appointments and flags reach the devices of their case: the assigned caseworker's (a
// case review meeting only when they attend it) and the supervisor's, never another
// organisation's, not even one whose user attends a meeting; a flag's resolution comes as a new
// version and brings the case with its flags; unassigned, the caseworker loses them with the case
// and gets nothing of it afterwards.
func TestSyncCareRecordsPulled(t *testing.T) {
	t.Parallel()
	p := newCareParties(t)
	at := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Second).Format(time.RFC3339)
	serviceID, apptID, flagID, meetingID, attendedID := newID(), newID(), newID(), newID(), newID()
	p.call(t, http.MethodPost, "/v1/cases/"+p.caseID+"/services", p.worker, map[string]any{"id": serviceID, "discipline": "therapy",
		"status": "in_progress", "provider": "Clinic", "notes": "weekly", "outcome": map[string]any{"sessions": 2}}, http.StatusCreated)
	p.call(t, http.MethodPost, "/v1/cases/"+p.caseID+"/appointments", p.worker, map[string]any{"id": apptID, "kind": "forensic_interview",
		"starts_at": at, "place": "Room 2"}, http.StatusCreated)
	p.call(t, http.MethodPost, "/v1/cases/"+p.caseID+"/flags", p.worker, map[string]any{"id": flagID, "kind": "risk_to_child", "reason": "threats"}, http.StatusCreated)
	p.call(t, http.MethodPost, "/v1/appointments", p.sup, map[string]any{"id": meetingID, "kind": "case_review", "case_ids": []string{p.caseID},
		"starts_at": at, "participants": []map[string]any{{"user_id": p.otherSup.User.ID}}}, http.StatusCreated)
	p.call(t, http.MethodPost, "/v1/appointments", p.sup, map[string]any{"id": attendedID, "kind": "case_review", "case_ids": []string{p.caseID},
		"starts_at": at, "participants": []map[string]any{{"user_id": p.worker.User.ID}}}, http.StatusCreated)

	worker, sup := newDevice(p.worker.AccessToken), newDevice(p.sup.AccessToken)
	otherSup, otherWorker := newDevice(p.otherSup.AccessToken), newDevice(p.otherWorker.AccessToken)
	for _, d := range []*device{worker, sup, otherSup, otherWorker} {
		d.sync(t, 3)
	}
	for _, tc := range []struct {
		name     string
		d        *device
		typ, id  string
		expected bool
	}{
		{"worker: service", worker, "case_service", serviceID, true},
		{"worker: appointment", worker, "appointment", apptID, true},
		{"worker: flag", worker, "case_flag", flagID, true},
		{"worker: meeting not attended", worker, "appointment", meetingID, false},
		{"worker: meeting attended", worker, "appointment", attendedID, true},
		{"supervisor: service", sup, "case_service", serviceID, true},
		{"supervisor: meeting", sup, "appointment", meetingID, true},
		{"supervisor: flag", sup, "case_flag", flagID, true},
		{"other organisation's attendee: meeting", otherSup, "appointment", meetingID, false},
		{"other organisation: service", otherSup, "case_service", serviceID, false},
		{"other organisation: flag", otherWorker, "case_flag", flagID, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.has(tc.typ, tc.id); got != tc.expected {
				t.Errorf("has %s %s = %v, want %v", tc.typ, tc.id, got, tc.expected)
			}
		})
	}
	if n := len(otherSup.records) + len(otherWorker.records); n != 0 {
		t.Errorf("the other organisation's devices got %d records", n)
	}
	var svc struct{ Outcome struct{ Sessions int } }
	rec := worker.records["case_service/"+serviceID]
	if err := json.Unmarshal(rec.Data, &svc); err != nil || svc.Outcome.Sessions != 2 || rec.CaseID != p.caseID || rec.Version == nil || *rec.Version != 1 {
		t.Errorf("the service as pulled: %+v %s", rec, rec.Data)
	}
	if !strings.Contains(string(rec.Data), `"discipline_label":"therapy"`) {
		t.Errorf("a synced record's labels are its codes: %s", rec.Data)
	}

	// a resolution: the flag's new version, and the case with no active flag
	p.call(t, http.MethodPost, "/v1/cases/"+p.caseID+"/flags/"+flagID+"/resolve", p.sup, map[string]any{"version": 1, "reason": "safe now"}, http.StatusOK)
	worker.sync(t, 3)
	var c struct{ Flags []string }
	if f := worker.records["case_flag/"+flagID]; f.Version == nil || *f.Version != 2 {
		t.Errorf("the resolved flag as pulled: %+v", f)
	}
	if err := json.Unmarshal(worker.records["case/"+p.caseID].Data, &c); err != nil || len(c.Flags) != 0 {
		t.Errorf("the case's flags after the resolution: %s", worker.records["case/"+p.caseID].Data)
	}

	// unassigned: everything of the case leaves the phone, and nothing of it comes later
	p.call(t, http.MethodPatch, "/v1/cases/"+p.caseID, p.sup, map[string]any{"version": 1, "caseworker_ids": []string{p.colleague.User.ID}}, http.StatusOK)
	later := newID()
	p.call(t, http.MethodPost, "/v1/cases/"+p.caseID+"/services", p.sup, map[string]any{"id": later, "discipline": "legal"}, http.StatusCreated)
	worker.sync(t, 3)
	for _, k := range []string{"case/" + p.caseID, "case_service/" + serviceID, "case_service/" + later, "appointment/" + apptID, "case_flag/" + flagID, "appointment/" + attendedID} {
		if _, ok := worker.records[k]; ok {
			t.Errorf("the unassigned caseworker's phone still holds %s", k)
		}
	}
	colleague := newDevice(p.colleague.AccessToken)
	colleague.sync(t, 3)
	if !colleague.has("case_service", later) || !colleague.has("appointment", apptID) || colleague.has("appointment", meetingID) {
		t.Errorf("the newly assigned caseworker's phone: %v", slices.Collect(maps.Keys(colleague.records)))
	}
}

// Consents, services and appointments created offline: each is applied once through its route's
// checks (the op_id replayed is already_applied; the same create under a new op_id returns the
// stored record and makes no second one), an id reused with other content is a conflict with the
// domain's code (and the server copy of a service or appointment), a bad payload is rejected with
// field errors in the push's language, the audit log records the creates as their routes do, the
// supervisor's device pulls them, and another organisation can neither push onto the case nor pull
// any of it.
func TestSyncCareCreatesPushed(t *testing.T) {
	t.Parallel()
	p := newCareParties(t)
	at := time.Now().UTC().Add(72 * time.Hour).Truncate(time.Second).Format(time.RFC3339)
	ids := map[string]string{"consent": newID(), "case_service": newID(), "appointment": newID()}
	for _, tc := range []struct {
		typ, list, conflictCode, badField string
		data, other, bad                  map[string]any
		current                           bool
	}{
		{typ: "consent", list: "/consents", conflictCode: "consent_id_conflict", badField: "organisation_ids",
			data:  map[string]any{"given_by": "caregiver", "purposes": []string{"services"}, "parts": []string{"profile"}},
			other: map[string]any{"given_by": "child", "purposes": []string{"services"}, "parts": []string{"profile"}},
			bad:   map[string]any{"given_by": "caregiver", "purposes": []string{"information_sharing"}, "parts": []string{"profile"}}},
		{typ: "case_service", list: "/services", conflictCode: "service_id_conflict", badField: "outcome.examination_done", current: true,
			data:  map[string]any{"discipline": "therapy", "status": "in_progress", "outcome": map[string]any{"sessions": 1}},
			other: map[string]any{"discipline": "legal"},
			bad:   map[string]any{"discipline": "therapy", "outcome": map[string]any{"examination_done": true}}},
		{typ: "appointment", list: "/appointments", conflictCode: "appointment_id_conflict", badField: "participants[0]", current: true,
			data:  map[string]any{"kind": "medical_examination", "starts_at": at, "place": "Clinic"},
			other: map[string]any{"kind": "therapy", "starts_at": at},
			bad:   map[string]any{"kind": "therapy", "starts_at": at, "participants": []map[string]any{{"user_id": "u1", "name": "Both"}}}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			id := ids[tc.typ]
			op := careOp(tc.typ, id, p.caseID, tc.data)
			if r := pushAs(t, "/v1/sync/push", p.worker, op)[0]; r.Status != "applied" || r.Record == nil || r.Record.Type != tc.typ || r.Record.ID != id || r.Record.CaseID != p.caseID {
				t.Fatalf("create: %+v", r)
			}
			if r := pushAs(t, "/v1/sync/push", p.worker, op)[0]; r.Status != "already_applied" || len(r.First) == 0 {
				t.Errorf("the op_id replayed: %+v", r)
			}
			if r := pushAs(t, "/v1/sync/push", p.worker, withOpID(op, newID()))[0]; r.Status != "applied" || r.Record == nil || r.Record.ID != id {
				t.Errorf("the same create under a new op_id: %+v", r)
			}
			var list struct{ Items []struct{ ID string } }
			if err := json.Unmarshal(p.call(t, http.MethodGet, "/v1/cases/"+p.caseID+tc.list, p.worker, nil, http.StatusOK), &list); err != nil || len(list.Items) != 1 {
				t.Errorf("the case's %s after the retries: %+v", tc.list, list.Items)
			}
			r := pushAs(t, "/v1/sync/push", p.worker, careOp(tc.typ, id, p.caseID, tc.other))[0]
			if r.Status != "conflict" || r.Problem == nil || r.Problem.Code != tc.conflictCode || (r.Current != nil) != tc.current || r.Record != nil {
				t.Errorf("the id reused with other content: %+v (problem %+v)", r, r.Problem)
			}
			if tc.current && r.Current != nil && !strings.Contains(string(r.Current.Data), id) {
				t.Errorf("the conflict's server copy: %s", r.Current.Data)
			}
			messages := map[string]string{}
			for _, lang := range []string{"en", "fr"} {
				r := pushAs(t, "/v1/sync/push?lang="+lang, p.worker, careOp(tc.typ, newID(), p.caseID, tc.bad))[0]
				if r.Status != "rejected" || r.Problem == nil {
					t.Fatalf("a bad %s: %+v", tc.typ, r)
				}
				for _, e := range r.Problem.Errors {
					if e.Field == tc.badField {
						messages[lang] = e.Message
					}
				}
			}
			if messages["en"] == "" || messages["fr"] == "" || messages["en"] == messages["fr"] {
				t.Errorf("a bad %s's field error %s, in English and French: %q", tc.typ, tc.badField, messages)
			}
		})
	}
	t.Run("consent route", func(t *testing.T) { // the route answers a reused id as the push does
		body := map[string]any{"id": ids["consent"], "given_by": "caregiver", "purposes": []string{"services"}, "parts": []string{"profile"}}
		p.call(t, http.MethodPost, "/v1/cases/"+p.caseID+"/consents", p.sup, body, http.StatusOK)
		body["given_by"] = "child"
		var pb problemBody
		if err := json.Unmarshal(p.call(t, http.MethodPost, "/v1/cases/"+p.caseID+"/consents", p.sup, body, http.StatusConflict), &pb); err != nil || pb.Code != "consent_id_conflict" {
			t.Errorf("the route with the id reused: %+v", pb)
		}
	})
	t.Run("appointment about another case", func(t *testing.T) {
		r := pushAs(t, "/v1/sync/push", p.worker, careOp("appointment", newID(), p.caseID, map[string]any{"kind": "therapy", "starts_at": at, "case_ids": []string{newID()}}))[0]
		if r.Status != "rejected" || r.Problem == nil || len(r.Problem.Errors) != 1 || r.Problem.Errors[0].Field != "case_ids" || r.Problem.Errors[0].Code != "mismatch" {
			t.Errorf("case_ids without the operation's case: %+v", r.Problem)
		}
	})
	t.Run("audited as the route", func(t *testing.T) {
		_, _, auditor := p.org.newUser(t, "auditor")
		var log struct {
			Items []struct {
				Action, Outcome string
				ActorID         string `json:"actor_id"`
			}
		}
		if err := json.Unmarshal(p.call(t, http.MethodGet, "/v1/audit?resource_type=case_service&resource_id="+ids["case_service"], auditor, nil, http.StatusOK), &log); err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, e := range log.Items {
			if e.ActorID == p.worker.User.ID {
				counts[e.Action+" "+e.Outcome]++
			}
		}
		if counts["case_service.create success"] != 2 || counts["case_service.create failure"] != 1 {
			t.Errorf("the service's audit entries by the caseworker: %v", counts)
		}
	})
	t.Run("other organisation", func(t *testing.T) {
		r := pushAs(t, "/v1/sync/push", p.otherWorker, careOp("case_service", newID(), p.caseID, map[string]any{"discipline": "legal"}))[0]
		if r.Status != "rejected" || r.Problem == nil || r.Problem.Code != "case_not_found" {
			t.Errorf("another organisation's service on the case: %+v", r.Problem)
		}
		for _, tk := range []tokens{p.otherSup, p.otherWorker} {
			d := newDevice(tk.AccessToken)
			d.sync(t, 50)
			if len(d.records) != 0 {
				t.Errorf("another organisation's device holds %v", slices.Collect(maps.Keys(d.records)))
			}
		}
	})
	sup := newDevice(p.sup.AccessToken)
	sup.sync(t, 50)
	for typ, id := range ids {
		if !sup.has(typ, id) {
			t.Errorf("the supervisor's device lacks the %s pushed offline", typ)
		}
	}
}

// A case created offline with its consent, service and appointment in one group is applied whole;
// a group whose service fails its check applies nothing, not even its case.
func TestSyncCareCreatesInAGroup(t *testing.T) {
	t.Parallel()
	p := newCareParties(t)
	at := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second).Format(time.RFC3339)
	group := func(caseID, g string, service map[string]any) []map[string]any {
		ops := []map[string]any{createOp(caseID, "Child G"),
			careOp("consent", newID(), caseID, map[string]any{"legal_basis": "statutory_duty", "purposes": []string{"services"}, "parts": []string{"profile"}}),
			careOp("case_service", newID(), caseID, service),
			careOp("appointment", newID(), caseID, map[string]any{"kind": "forensic_interview", "starts_at": at})}
		for _, op := range ops {
			op["group"] = g
		}
		return ops
	}
	whole := newID()
	for i, r := range pushAs(t, "/v1/sync/push", p.worker, group(whole, "g1", map[string]any{"discipline": "medical_examination", "outcome": map[string]any{"examination_done": true}})...) {
		if r.Status != "applied" {
			t.Errorf("operation %d of the group: %+v (problem %+v)", i, r, r.Problem)
		}
	}
	failed := newID()
	rs := pushAs(t, "/v1/sync/push", p.worker, group(failed, "g2", map[string]any{"discipline": "legal", "outcome": map[string]any{"sessions": 3}})...)
	if want := []string{"not_applied", "not_applied", "rejected", "not_applied"}; !slices.Equal([]string{rs[0].Status, rs[1].Status, rs[2].Status, rs[3].Status}, want) {
		t.Errorf("the failing group: %+v, want %v", rs, want)
	}
	if r := get(t, server(t).base, "/v1/cases/"+failed, "Authorization: Bearer "+p.worker.AccessToken); r.status != http.StatusNotFound {
		t.Errorf("the failed group's case: %d", r.status)
	}
}
