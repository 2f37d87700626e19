package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

type caseworkerListBody struct {
	Items []struct {
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// GET /v1/caseworkers gives a supervisor the enabled caseworkers of their organisation (id and
// display name only), paged; disabled users, other roles and other organisations' caseworkers are
// left out; every other role is refused; the read is audited.
func TestCaseworkersList(t *testing.T) {
	t.Parallel()
	base := server(t).base
	org := newOrg(t)
	_, _, sup := org.newUser(t, "supervisor")
	_, _, first := org.newUser(t, "caseworker")
	_, _, both := org.newUser(t, "caseworker", "supervisor")
	_, _, gone := org.newUser(t, "caseworker")
	if r := post(t, base, http.MethodPatch, "/v1/users/"+gone.User.ID, org.admin, map[string]any{"version": gone.User.Version, "disabled": true}); r.status != http.StatusOK {
		t.Fatalf("disabling: %d %s", r.status, r.body)
	}
	_, _, outsider := newOrg(t).newUser(t, "caseworker")
	want := []string{first.User.ID, both.User.ID}
	slices.Sort(want)

	t.Run("supervisor", func(t *testing.T) {
		t.Parallel()
		r := get(t, base, "/v1/caseworkers", "Authorization: Bearer "+sup.AccessToken)
		if r.status != http.StatusOK || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if strings.Contains(string(r.body), "username") || strings.Contains(string(r.body), "roles") {
			t.Errorf("the list tells more than ids and display names: %s", r.body)
		}
		var l caseworkerListBody
		r.json(t, &l)
		var got []string
		for _, it := range l.Items {
			got = append(got, it.ID)
			if it.DisplayName == "" {
				t.Errorf("no display name for %s", it.ID)
			}
		}
		if !slices.Equal(got, want) || l.NextCursor != nil {
			t.Errorf("caseworkers %v (next %v), want %v (not %s nor %s)", got, l.NextCursor, want, gone.User.ID, outsider.User.ID)
		}
	})
	t.Run("paged", func(t *testing.T) {
		t.Parallel()
		var p1, p2 caseworkerListBody
		get(t, base, "/v1/caseworkers?limit=1", "Authorization: Bearer "+sup.AccessToken).json(t, &p1)
		if len(p1.Items) != 1 || p1.NextCursor == nil {
			t.Fatalf("first page %+v", p1)
		}
		get(t, base, "/v1/caseworkers?limit=1&cursor="+*p1.NextCursor, "Authorization: Bearer "+sup.AccessToken).json(t, &p2)
		if len(p2.Items) != 1 || p2.NextCursor != nil || p1.Items[0].ID != want[0] || p2.Items[0].ID != want[1] {
			t.Errorf("pages %+v then %+v, want %v", p1, p2, want)
		}
	})
	t.Run("bad cursor", func(t *testing.T) {
		t.Parallel()
		if r := get(t, base, "/v1/caseworkers?cursor=nonsense", "Authorization: Bearer "+sup.AccessToken); r.status != http.StatusBadRequest {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
	others := newOrg(t) // the refused callers' caseworkers would change the lists above
	for _, role := range []string{"caseworker", "content_editor", "admin", "auditor"} {
		t.Run("as "+role, func(t *testing.T) {
			t.Parallel()
			_, _, tk := others.newUser(t, role)
			if r := get(t, base, "/v1/caseworkers", "Authorization: Bearer "+tk.AccessToken); r.status != http.StatusForbidden {
				t.Errorf("%d %s", r.status, r.body)
			}
		})
	}
	t.Run("audited", func(t *testing.T) {
		t.Parallel()
		get(t, base, "/v1/caseworkers", "Authorization: Bearer "+sup.AccessToken)
		var log struct {
			Items []struct {
				ActorID string `json:"actor_id"`
			} `json:"items"`
		}
		get(t, base, "/v1/audit?action=user.caseworkers_list", "Authorization: Bearer "+sup.AccessToken).json(t, &log)
		if !slices.ContainsFunc(log.Items, func(e struct {
			ActorID string `json:"actor_id"`
		}) bool {
			return e.ActorID == sup.User.ID
		}) {
			t.Errorf("no user.caseworkers_list entry by the supervisor: %+v", log.Items)
		}
	})
}
