package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// Bad input to the routes for working across agencies answers a localized problem naming each field
// (in French here), and nothing is stored.
func TestCareBadInput(t *testing.T) {
	t.Parallel()
	base := server(t).base
	_, _, worker := newUser(t, "caseworker")
	_, _, sup := newUser(t, "supervisor")
	caseID := newID()
	if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(caseID, "Child I.")); r.status != http.StatusCreated {
		t.Fatalf("case: %d %s", r.status, r.body)
	}
	at := rfc(time.Now().Add(24 * time.Hour))
	for _, tc := range []struct {
		name, method, path string
		token              string
		body               any
		status             int
		field, code        string
	}{
		{"flag of no kind", http.MethodPost, "/v1/cases/" + caseID + "/flags", worker.AccessToken,
			map[string]any{"id": newID(), "kind": "celebrity", "reason": "x"}, 400, "kind", "oneof"},
		{"flag without a reason", http.MethodPost, "/v1/cases/" + caseID + "/flags", worker.AccessToken,
			map[string]any{"id": newID(), "kind": "other"}, 400, "reason", "required"},
		{"flag id not a UUID", http.MethodPost, "/v1/cases/" + caseID + "/flags", worker.AccessToken,
			map[string]any{"id": "flag-1", "kind": "other", "reason": "x"}, 400, "id", "uuid"},
		{"resolving an unknown flag", http.MethodPost, "/v1/cases/" + caseID + "/flags/" + newID() + "/resolve", worker.AccessToken,
			map[string]any{"version": 1, "reason": "x"}, 404, "", "flag_not_found"},
		{"flag list filter of no kind", http.MethodGet, "/v1/cases?flag=celebrity", worker.AccessToken, nil, 400, "flag", "oneof"},
		{"service of no discipline", http.MethodPost, "/v1/cases/" + caseID + "/services", worker.AccessToken,
			map[string]any{"id": newID(), "discipline": "astrology"}, 400, "discipline", "oneof"},
		{"outcome of another discipline", http.MethodPost, "/v1/cases/" + caseID + "/services", worker.AccessToken,
			map[string]any{"id": newID(), "discipline": "medical_examination", "outcome": map[string]any{"sessions": 2}}, 400, "outcome.sessions", "other_discipline"},
		{"unknown disposition", http.MethodPost, "/v1/cases/" + caseID + "/services", worker.AccessToken,
			map[string]any{"id": newID(), "discipline": "legal", "outcome": map[string]any{"disposition": "pardoned"}}, 400, "outcome.disposition", "oneof"},
		{"negative sessions", http.MethodPost, "/v1/cases/" + caseID + "/services", worker.AccessToken,
			map[string]any{"id": newID(), "discipline": "therapy", "outcome": map[string]any{"sessions": -1}}, 400, "outcome.sessions", "min"},
		{"service update without a version", http.MethodPatch, "/v1/cases/" + caseID + "/services/" + newID(), worker.AccessToken,
			map[string]any{"status": "completed"}, 400, "version", "required"},
		{"appointment of no kind", http.MethodPost, "/v1/cases/" + caseID + "/appointments", worker.AccessToken,
			map[string]any{"id": newID(), "kind": "picnic", "starts_at": at}, 400, "kind", "oneof"},
		{"appointment without a time", http.MethodPost, "/v1/cases/" + caseID + "/appointments", worker.AccessToken,
			map[string]any{"id": newID(), "kind": "therapy"}, 400, "starts_at", "required"},
		{"participant with a user and a name", http.MethodPost, "/v1/cases/" + caseID + "/appointments", worker.AccessToken,
			map[string]any{"id": newID(), "kind": "therapy", "starts_at": at, "participants": []map[string]any{{"user_id": worker.User.ID, "name": "Someone"}}},
			400, "participants[0]", "user_or_name"},
		{"reviews on an appointment that is no meeting", http.MethodPost, "/v1/cases/" + caseID + "/appointments", worker.AccessToken,
			map[string]any{"id": newID(), "kind": "therapy", "starts_at": at, "reviews": []map[string]any{{"case_id": caseID}}}, 400, "reviews", "case_review_only"},
		{"case_ids on a case's route", http.MethodPost, "/v1/cases/" + caseID + "/appointments", worker.AccessToken,
			map[string]any{"id": newID(), "kind": "therapy", "starts_at": at, "case_ids": []string{caseID}}, 400, "case_ids", "unknown_field"},
		{"two cases for an interview", http.MethodPost, "/v1/appointments", sup.AccessToken,
			map[string]any{"id": newID(), "kind": "forensic_interview", "starts_at": at, "case_ids": []string{caseID, newID()}}, 400, "case_ids", "one_case"},
		{"meeting action for someone of no organisation", http.MethodPost, "/v1/appointments", sup.AccessToken,
			map[string]any{"id": newID(), "kind": "case_review", "starts_at": at, "case_ids": []string{caseID},
				"reviews": []map[string]any{{"case_id": caseID, "actions": []map[string]any{{"id": newID(), "assignee_id": "nobody", "what": "Call", "due": at}}}}},
			400, "reviews[0].actions[0].assignee_id", "unknown_user"},
		{"meeting decisions on a case not reviewed", http.MethodPost, "/v1/appointments", sup.AccessToken,
			map[string]any{"id": newID(), "kind": "case_review", "starts_at": at, "case_ids": []string{caseID},
				"reviews": []map[string]any{{"case_id": newID(), "decisions": "x"}}}, 400, "reviews[0].case_id", "not_reviewed"},
		{"calendar without a period", http.MethodGet, "/v1/appointments", worker.AccessToken, nil, 400, "from", "required"},
		{"calendar reversed", http.MethodGet, "/v1/appointments?from=" + at + "&to=" + rfc(time.Now()), worker.AccessToken, nil, 400, "to", "after"},
		{"calendar too long", http.MethodGet, "/v1/appointments?from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z", worker.AccessToken, nil, 400, "to", "period_too_long"},
		{"calendar time malformed", http.MethodGet, "/v1/appointments?from=yesterday&to=2026-12-01T00:00:00Z", worker.AccessToken, nil, 400, "from", "datetime"},
		{"unknown appointment", http.MethodGet, "/v1/appointments/" + newID(), worker.AccessToken, nil, 404, "", "appointment_not_found"},
		{"report date malformed", http.MethodGet, "/v1/reports/period?from=2026-13-01&to=2026-12-31", sup.AccessToken, nil, 400, "from", "date"},
		{"report without a period", http.MethodGet, "/v1/reports/period", sup.AccessToken, nil, 400, "from", "required"},
		{"report of no format", http.MethodGet, "/v1/reports/period?from=2026-01-01&to=2026-01-31&format=xml", sup.AccessToken, nil, 400, "format", "oneof"},
		{"report too long", http.MethodGet, "/v1/reports/period?from=2020-01-01&to=2026-01-31", sup.AccessToken, nil, 400, "to", "period_too_long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := tc.path + "?lang=fr"
			if strings.Contains(tc.path, "?") {
				path = tc.path + "&lang=fr"
			}
			var r *response
			if tc.body == nil {
				r = get(t, base, path, "Authorization: Bearer "+tc.token)
			} else {
				r = post(t, base, tc.method, path, tc.token, tc.body)
			}
			if r.status != tc.status {
				t.Fatalf("%d, want %d: %s", r.status, tc.status, r.body)
			}
			p := r.problem(t)
			if r.header.Get("Content-Language") != "fr" {
				t.Errorf("Content-Language %q", r.header.Get("Content-Language"))
			}
			if tc.field == "" {
				if p.Code != tc.code {
					t.Errorf("code %q, want %q", p.Code, tc.code)
				}
				return
			}
			if !slices.ContainsFunc(p.Errors, func(e struct{ Field, Code, Message string }) bool {
				return e.Field == tc.field && e.Code == tc.code && e.Message != ""
			}) {
				t.Errorf("no %s error on %s: %s", tc.code, tc.field, r.body)
			}
		})
	}
}
