package main

import (
	"net/http"
	"strings"
	"testing"
)

// Assignment changes inside an organisation keep a history with reasons: the creation, then every
// change of caseworkers or supervisor with who made it and why; the reason is validated, and a
// caseworker no longer assigned (or another organisation) reads nothing.
func TestAssignmentHistory(t *testing.T) {
	t.Parallel()
	base := server(t).base
	org := newOrg(t)
	_, _, first := org.newUser(t, "caseworker")
	_, _, second := org.newUser(t, "caseworker")
	_, _, supervisor := org.newUser(t, "supervisor")
	_, _, outsider := newOrg(t).newUser(t, "supervisor")
	id := newUUID()
	c := newCase(id, "Child A.")
	c["caseworker_ids"] = []string{first.User.ID}
	if r := post(t, base, http.MethodPost, "/v1/cases", supervisor.AccessToken, c); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	long := strings.Repeat("x", 501)
	if r := post(t, base, http.MethodPatch, "/v1/cases/"+id, supervisor.AccessToken, map[string]any{"version": 1,
		"caseworker_ids": []string{second.User.ID}, "assignment_reason": long}); r.status != http.StatusBadRequest || r.problem(t).Errors[0].Field != "assignment_reason" {
		t.Errorf("a reason too long: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPatch, "/v1/cases/"+id, supervisor.AccessToken, map[string]any{"version": 1,
		"caseworker_ids": []string{second.User.ID}, "assignment_reason": "First caseworker on leave"}); r.status != http.StatusOK {
		t.Fatalf("reassign: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPatch, "/v1/cases/"+id, supervisor.AccessToken, map[string]any{"version": 2, "reference_number": "NEW-1"}); r.status != http.StatusOK {
		t.Fatalf("a change of something else: %d %s", r.status, r.body)
	}
	var history struct {
		Items []struct {
			By            string
			CaseworkerIDs []string `json:"caseworker_ids"`
			Reason        string
		}
	}
	get(t, base, "/v1/cases/"+id+"/assignments", bearer(second)).json(t, &history)
	if len(history.Items) != 2 || history.Items[0].CaseworkerIDs[0] != first.User.ID || history.Items[1].CaseworkerIDs[0] != second.User.ID ||
		history.Items[1].Reason != "First caseworker on leave" || history.Items[1].By != supervisor.User.ID {
		t.Errorf("history: %+v", history.Items)
	}
	for name, tk := range map[string]tokens{"the former caseworker": first, "another organisation": outsider} {
		if r := get(t, base, "/v1/cases/"+id+"/assignments", bearer(tk)); r.status != http.StatusNotFound {
			t.Errorf("%s reading the history: %d", name, r.status)
		}
	}
}
