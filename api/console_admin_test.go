package main

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The administrators' console pages: users (create with roles, change roles, disable, reset the
// password) and devices (list, revoke), through identity.Service as /v1/users and /v1/devices.

var nextUsersPage = regexp.MustCompile(`href="(/console/users\?after=[0-9a-f-]+)"`)

// consoleUserID finds the id of username in the users pages (its link), following their pages.
func consoleUserID(t *testing.T, cc *consoleClient, username string) string {
	t.Helper()
	link := regexp.MustCompile(`href="/console/users/([0-9a-f-]+)">` + regexp.QuoteMeta(username) + `<`)
	for path := "/console/users"; path != ""; {
		page := cc.get(path)
		if page.status != http.StatusOK {
			t.Fatalf("%s: %d", path, page.status)
		}
		if m := link.FindStringSubmatch(page.body); m != nil {
			return m[1]
		}
		path = ""
		if m := nextUsersPage.FindStringSubmatch(page.body); m != nil {
			path = m[1]
		}
	}
	t.Fatalf("no link to %s in the users pages", username)
	return ""
}

// consoleVersion reads the version hidden field of a user page.
func consoleVersion(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no version field on the user page")
	}
	return m[1]
}

func TestConsoleAdminUsers(t *testing.T) {
	t.Parallel()
	base := server(t).base
	adminName, adminPassword, _ := newUser(t, "admin")
	admin := consoleSignIn(t, base, adminName, adminPassword)

	list := admin.get("/console/users")
	if list.status != http.StatusOK || !strings.Contains(list.body, `href="/console/users/`) || !strings.Contains(list.body, `id="create-user"`) {
		t.Fatalf("users page: %d %.500s", list.status, list.body)
	}
	if list.header.Get("Cache-Control") != "no-store" {
		t.Errorf("users page Cache-Control %q", list.header.Get("Cache-Control"))
	}

	username := fmt.Sprintf("console-made-%d", userSeq.Add(1))
	first := "a first passphrase to change"
	tests := []struct {
		name      string
		form      url.Values
		status    int
		fieldText string // expected at the field
	}{
		{"no role", url.Values{"username": {username}, "display_name": {"Made Here"}, "password": {first}}, http.StatusBadRequest, "Choose at least one role."},
		{"short password", url.Values{"username": {username}, "display_name": {"Made Here"}, "roles": {"caseworker"}, "password": {"short"}}, http.StatusBadRequest, `id="password-error"`},
		{"unknown role", url.Values{"username": {username}, "display_name": {"Made Here"}, "roles": {"wizard"}, "password": {first}}, http.StatusBadRequest, `id="roles-error"`},
		{"taken user name", url.Values{"username": {adminName}, "display_name": {"Again"}, "roles": {"caseworker"}, "password": {first}}, http.StatusBadRequest, `id="username-error"`},
		{"created", url.Values{"username": {username}, "display_name": {"Made Here"}, "roles": {"caseworker", "supervisor"}, "password": {first}}, http.StatusSeeOther, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admin.t = t
			r := admin.post("/console/users", tt.form)
			if r.status != tt.status {
				t.Fatalf("%d %s %.800s", r.status, r.location(), r.body)
			}
			if tt.fieldText != "" && !strings.Contains(r.body, tt.fieldText) {
				t.Errorf("the form does not show %q: %.3000s", tt.fieldText, r.body)
			}
			if tt.status == http.StatusSeeOther && r.location() != "/console/users?notice=created" {
				t.Errorf("created: to %s", r.location())
			}
		})
	}
	admin.t = t
	list = admin.get("/console/users?notice=created")
	if !strings.Contains(list.body, "The user was created.") {
		t.Errorf("no notice after creating")
	}
	id := consoleUserID(t, admin, username)

	// The new user must choose their own password at the first sign-in.
	newcomer := consoleSignIn(t, base, username, first)
	if r := newcomer.get("/console/"); r.status != http.StatusSeeOther || r.location() != "/console/password" {
		t.Errorf("a user an admin created reaches %d %s, want the password page", r.status, r.location())
	}

	page := admin.get("/console/users/" + id)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Made Here") || !strings.Contains(page.body, `value="supervisor" id="role-supervisor" checked`) {
		t.Fatalf("user page: %d %.1500s", page.status, page.body)
	}
	version := consoleVersion(t, page.body)

	// Change roles at the version shown; the same version again is a conflict.
	r := admin.post("/console/users/"+id, url.Values{"version": {version}, "display_name": {"Made Here"}, "roles": {"auditor"}})
	if r.status != http.StatusSeeOther || r.location() != "/console/users/"+id+"?notice=updated" {
		t.Fatalf("changing roles: %d %s %.500s", r.status, r.location(), r.body)
	}
	page = admin.get("/console/users/" + id + "?notice=updated")
	if !strings.Contains(page.body, `value="auditor" id="role-auditor" checked`) || strings.Contains(page.body, `id="role-supervisor" checked`) {
		t.Errorf("roles not changed: %.1500s", page.body)
	}
	if r := admin.post("/console/users/"+id, url.Values{"version": {version}, "roles": {"caseworker"}}); r.status != http.StatusConflict {
		t.Errorf("a stale version: %d", r.status)
	}
	if r := admin.post("/console/users/"+id, url.Values{"version": {consoleVersion(t, page.body)}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Choose at least one role.") {
		t.Errorf("no roles: %d", r.status)
	}

	// Self-lockout is refused at the field.
	self := consoleUserID(t, admin, adminName)
	selfPage := admin.get("/console/users/" + self)
	if r := admin.post("/console/users/"+self, url.Values{"version": {consoleVersion(t, selfPage.body)}, "roles": {"admin"}, "disabled": {"true"}}); r.status != http.StatusBadRequest {
		t.Errorf("an admin disabling themselves: %d %.500s", r.status, r.body)
	}

	// Reset the password: the user's sessions end and they must change it again.
	helper := consoleSignIn(t, base, username, first)
	if r := admin.post("/console/users/"+id+"/password", url.Values{"password": {"short"}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="password-error"`) {
		t.Errorf("a short reset password: %d", r.status)
	}
	reset := "a password the admin chose 7"
	if r := admin.post("/console/users/"+id+"/password", url.Values{"password": {reset}}); r.status != http.StatusSeeOther {
		t.Fatalf("reset: %d %.500s", r.status, r.body)
	}
	if r := helper.get("/console/password"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/login") {
		t.Errorf("after a reset the user's console session answers %d %s", r.status, r.location())
	}
	if !strings.Contains(admin.get("/console/users/"+id).body, "must choose a new password") {
		t.Error("the user page does not say a password change is required")
	}

	// Disable: the user's sessions end and they cannot sign in.
	again := consoleSignIn(t, base, username, reset)
	page = admin.get("/console/users/" + id)
	if r := admin.post("/console/users/"+id, url.Values{"version": {consoleVersion(t, page.body)}, "roles": {"auditor"}, "disabled": {"true"}}); r.status != http.StatusSeeOther {
		t.Fatalf("disabling: %d %.500s", r.status, r.body)
	}
	if r := again.get("/console/password"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/login") {
		t.Errorf("a disabled user's session answers %d %s", r.status, r.location())
	}
	if !strings.Contains(admin.get("/console/users/"+id).body, "Disabled") {
		t.Error("the user page does not show the user disabled")
	}

	// Another organisation's or unknown user: 404.
	if r := admin.get("/console/users/00000000-0000-7000-8000-000000000000"); r.status != http.StatusNotFound {
		t.Errorf("unknown user: %d", r.status)
	}
}

func TestConsoleAdminDevices(t *testing.T) {
	t.Parallel()
	base := server(t).base
	adminName, adminPassword, _ := newUser(t, "admin")
	admin := consoleSignIn(t, base, adminName, adminPassword)
	username, password, tk := newUser(t, "supervisor") // signed in on an app device too
	victim := consoleSignIn(t, base, username, password)

	var devices struct{ Items []struct{ ID, Name string } }
	get(t, base, "/v1/devices", "Authorization: Bearer "+tk.AccessToken).json(t, &devices)
	consoleDevice := ""
	for _, d := range devices.Items {
		if strings.HasPrefix(d.ID, "console-") {
			consoleDevice = d.ID
		}
	}
	if consoleDevice == "" {
		t.Fatalf("no console device among %+v", devices.Items)
	}

	page := admin.get("/console/devices")
	if page.status != http.StatusOK || !strings.Contains(page.body, `id="device-`+consoleDevice+`"`) || !strings.Contains(page.body, `id="device-phone-`+username+`"`) {
		t.Fatalf("devices page: %d %.2000s", page.status, page.body)
	}
	if !strings.Contains(page.body, html.EscapeString("Revoke Web console of "+username)) {
		t.Error("the revoke button has no name saying whose device it is")
	}
	r := admin.post("/console/devices/"+consoleDevice+"/revoke", url.Values{})
	if r.status != http.StatusSeeOther || r.location() != "/console/devices?notice=revoked" {
		t.Fatalf("revoking: %d %s", r.status, r.location())
	}
	if r := victim.get("/console/"); r.status != http.StatusSeeOther || r.location() != "/console/login?next=/console/" {
		t.Errorf("the revoked session answers %d %s, want the sign-in page", r.status, r.location())
	}
	// The app device still works; revoking it from the user's page returns there.
	if r := get(t, base, "/v1/me", "Authorization: Bearer "+tk.AccessToken); r.status != http.StatusOK {
		t.Errorf("the app device stopped working: %d", r.status)
	}
	id := consoleUserID(t, admin, username)
	r = admin.post("/console/devices/phone-"+username+"/revoke", url.Values{"back": {"/console/users/" + id}})
	if r.status != http.StatusSeeOther || r.location() != "/console/users/"+id+"?notice=revoked" {
		t.Fatalf("revoking from the user page: %d %s", r.status, r.location())
	}
	if r := get(t, base, "/v1/me", "Authorization: Bearer "+tk.AccessToken); r.status != http.StatusUnauthorized {
		t.Errorf("the revoked app device answers %d", r.status)
	}
	if r := admin.post("/console/devices/no-such-device/revoke", url.Values{}); r.status != http.StatusNotFound {
		t.Errorf("unknown device: %d", r.status)
	}
}
