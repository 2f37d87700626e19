package main

import (
	"net/http"
	"net/url"
	"testing"
)

// The organisation directory is readable by every signed-in user, page by page, lists every
// organisation once, and refuses bad paging with a localized problem.
func TestOrganisationDirectory(t *testing.T) {
	t.Parallel()
	base := server(t).base
	a, b := newOrg(t), newOrg(t)
	_, _, reader := b.newUser(t, "caseworker")

	seen := map[string]string{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the directory never ends")
		}
		path := "/v1/organisations?limit=2"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := get(t, base, path, "Authorization: Bearer "+reader.AccessToken)
		if r.status != http.StatusOK {
			t.Fatalf("directory page: %d %s", r.status, r.body)
		}
		var page struct {
			Items []struct {
				ID, Name string
			}
			NextCursor *string `json:"next_cursor"`
		}
		r.json(t, &page)
		if len(page.Items) > 2 {
			t.Fatalf("page of %d with limit 2", len(page.Items))
		}
		for _, o := range page.Items {
			if _, dup := seen[o.ID]; dup {
				t.Fatalf("organisation %s listed twice", o.ID)
			}
			seen[o.ID] = o.Name
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	for _, id := range []string{a.id, b.id, "default"} {
		if name, ok := seen[id]; !ok || name == "" {
			t.Errorf("organisation %s missing from the directory (name %q)", id, name)
		}
	}

	tests := []struct {
		name, path, auth string
		status           int
	}{
		{"limit zero", "/v1/organisations?limit=0", "Authorization: Bearer " + reader.AccessToken, http.StatusBadRequest},
		{"limit not a number", "/v1/organisations?limit=many", "Authorization: Bearer " + reader.AccessToken, http.StatusBadRequest},
		{"unknown parameter", "/v1/organisations?name=x", "Authorization: Bearer " + reader.AccessToken, http.StatusBadRequest},
		{"signed out", "/v1/organisations", "", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			headers := []string{"Accept-Language: fr"}
			if tc.auth != "" {
				headers = append(headers, tc.auth)
			}
			r := get(t, base, tc.path, headers...)
			if r.status != tc.status {
				t.Fatalf("%s: %d %s", tc.path, r.status, r.body)
			}
			if p := r.problem(t); p.Title == "" {
				t.Errorf("problem without a title: %s", r.body)
			}
		})
	}
}
