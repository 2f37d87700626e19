package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

type organisationBody struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Contact      string `json:"contact"`
	ServiceKinds []struct {
		Code, Label string
	} `json:"service_kinds"`
	Version int64 `json:"version"`
}

// Deployment administrators (the admins of DEPLOYMENT_AUDIT_ORG, "default" here) create and edit
// directory entries with labelled service kinds at a version; other organisations' admins and other
// roles are refused; every signed-in user reads the entries; bad input gets localized field errors.
func TestOrganisationDirectoryWrites(t *testing.T) {
	t.Parallel()
	base := server(t).base
	deployment := adminToken(t)
	other := newOrg(t)
	_, _, reader := other.newUser(t, "caseworker")
	id := fmt.Sprintf("barnahus-%d", userSeq.Add(1))

	r := do(t, base, http.MethodPost, "/v1/organisations?lang=fr", jsonBody(t, map[string]any{"id": id, "name": "Barnahus Nord",
		"service_kinds": []string{"therapy", "medical_examination", "therapy"}, "contact": "+47 000 00 000"}),
		"Content-Type: application/json", "Authorization: Bearer "+deployment)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created organisationBody
	r.json(t, &created)
	if created.Version != 1 || len(created.ServiceKinds) != 2 || created.ServiceKinds[0].Code != "medical_examination" || created.ServiceKinds[0].Label != "Examen médical" {
		t.Errorf("created: %s", r.body)
	}

	r = post(t, base, http.MethodPatch, "/v1/organisations/"+id, deployment, map[string]any{"version": 1, "name": "Barnahus Nord-Norge",
		"service_kinds": []string{"therapy"}, "contact": "barnahus@example.org"})
	if r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	r = post(t, base, http.MethodPatch, "/v1/organisations/"+id, deployment, map[string]any{"version": 1, "name": "Stale"})
	var stale struct {
		Code    string
		Current organisationBody
	}
	r.json(t, &stale)
	if r.status != http.StatusConflict || stale.Code != "version_conflict" || stale.Current.Version != 2 || stale.Current.Name != "Barnahus Nord-Norge" {
		t.Errorf("stale update: %d %s", r.status, r.body)
	}

	var page struct{ Items []organisationBody }
	found := false
	for cursor := ""; ; {
		path := "/v1/organisations?limit=200"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		var p struct {
			Items      []organisationBody
			NextCursor *string `json:"next_cursor"`
		}
		get(t, base, path, "Authorization: Bearer "+reader.AccessToken).json(t, &p)
		page.Items = append(page.Items, p.Items...)
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	for _, o := range page.Items {
		if o.ID == id {
			found = o.Contact == "barnahus@example.org" && o.Version == 2 && len(o.ServiceKinds) == 1
		}
	}
	if !found {
		t.Errorf("the directory does not show the edited entry")
	}

	tests := []struct {
		name, method, path, token string
		body                      map[string]any
		status                    int
		code, field               string
	}{
		{"another organisation's admin creates", http.MethodPost, "/v1/organisations", other.admin, map[string]any{"id": "x-" + id, "name": "X"}, http.StatusForbidden, "forbidden", ""},
		{"another organisation's admin edits", http.MethodPatch, "/v1/organisations/" + id, other.admin, map[string]any{"version": 2, "name": "X"}, http.StatusForbidden, "forbidden", ""},
		{"a caseworker creates", http.MethodPost, "/v1/organisations", reader.AccessToken, map[string]any{"id": "y-" + id, "name": "Y"}, http.StatusForbidden, "forbidden", ""},
		{"taken id", http.MethodPost, "/v1/organisations", deployment, map[string]any{"id": id, "name": "Again"}, http.StatusConflict, "organisation_exists", ""},
		{"bad id", http.MethodPost, "/v1/organisations", deployment, map[string]any{"id": "Not An Id", "name": "X"}, http.StatusBadRequest, "validation_failed", "id"},
		{"reserved id", http.MethodPost, "/v1/organisations", deployment, map[string]any{"id": "deployment", "name": "X"}, http.StatusBadRequest, "validation_failed", "id"},
		{"no name", http.MethodPost, "/v1/organisations", deployment, map[string]any{"id": "z-" + id, "name": ""}, http.StatusBadRequest, "validation_failed", "name"},
		{"blank name", http.MethodPost, "/v1/organisations", deployment, map[string]any{"id": "z-" + id, "name": "   "}, http.StatusBadRequest, "validation_failed", "name"},
		{"unknown service kind", http.MethodPost, "/v1/organisations", deployment, map[string]any{"id": "z-" + id, "name": "Z", "service_kinds": []string{"astrology"}}, http.StatusBadRequest, "validation_failed", "service_kinds[0]"},
		{"contact too long", http.MethodPost, "/v1/organisations", deployment, map[string]any{"id": "z-" + id, "name": "Z", "contact": string(bytes.Repeat([]byte("x"), 501))}, http.StatusBadRequest, "validation_failed", "contact"},
		{"unknown field", http.MethodPost, "/v1/organisations", deployment, map[string]any{"id": "z-" + id, "name": "Z", "colour": "red"}, http.StatusBadRequest, "validation_failed", "colour"},
		{"unknown organisation", http.MethodPatch, "/v1/organisations/no-such-org", deployment, map[string]any{"version": 1, "name": "Z"}, http.StatusNotFound, "organisation_not_found", ""},
		{"no version", http.MethodPatch, "/v1/organisations/" + id, deployment, map[string]any{"name": "Z"}, http.StatusBadRequest, "validation_failed", "version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, base, tc.method, tc.path+"?lang=es", jsonBody(t, tc.body), "Content-Type: application/json", "Authorization: Bearer "+tc.token)
			if r.status != tc.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			p := r.problem(t)
			if p.Code != tc.code || p.Title == "" || p.Detail == "" {
				t.Errorf("problem: %s", r.body)
			}
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field || p.Errors[0].Message == "") {
				t.Errorf("field errors: %s", r.body)
			}
		})
	}
}

// jsonBody encodes v as a request body.
func jsonBody(t *testing.T, v any) *bytes.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}
