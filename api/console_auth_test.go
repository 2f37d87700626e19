package main

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The console signs in through the identity service: its session cookie is HttpOnly and
// SameSite=Strict, its session is a device of the user that revoking ends, a wrong password gets
// the API's message and no cookie, and a form without the session's CSRF token changes nothing.
func TestConsoleSignInSession(t *testing.T) {
	t.Parallel()
	base := server(t).base
	username, password, tk := newUser(t, "supervisor")

	cc := newConsoleClient(t, base)
	if r := cc.get("/console/"); r.status != http.StatusSeeOther || r.location() != "/console/login?next=/console/" {
		t.Fatalf("signed-out home: %d %q, want 303 to the sign-in page", r.status, r.location())
	}
	cc.get("/console/login")
	r := cc.post("/console/login", url.Values{"username": {username}, "password": {"not the password at all"}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "The user name or the password is not correct.") || cc.cookie("cg_session") != "" {
		t.Fatalf("wrong password: %d, cookie %q, %.400s", r.status, cc.cookie("cg_session"), r.body)
	}
	if r := cc.post("/console/login", url.Values{"csrf": {"forged"}, "username": {username}, "password": {password}}); r.status != http.StatusForbidden || cc.cookie("cg_session") != "" {
		t.Fatalf("sign-in without the form's CSRF token: %d", r.status)
	}
	r = cc.post("/console/login", url.Values{"username": {username}, "password": {password}, "next": {"https://elsewhere.example/"}})
	if r.status != http.StatusSeeOther || r.location() != "/console/" {
		t.Fatalf("sign-in: %d %q (a next outside the console must not be followed)", r.status, r.location())
	}
	setCookie := strings.Join(r.header.Values("Set-Cookie"), "\n")
	for _, want := range []string{"cg_session=", "HttpOnly", "SameSite=Strict", "path=/console"} {
		if !strings.Contains(setCookie, want) {
			t.Errorf("session cookie lacks %s: %s", want, setCookie)
		}
	}
	home := cc.get("/console/")
	if home.status != http.StatusOK || !strings.Contains(home.body, username) {
		t.Fatalf("home: %d %.300s", home.status, home.body)
	}

	var devices struct {
		Items []struct {
			ID, Name  string
			RevokedAt *string `json:"revoked_at"`
		}
	}
	get(t, base, "/v1/devices", "Authorization: Bearer "+tk.AccessToken).json(t, &devices)
	consoleDevice := ""
	for _, d := range devices.Items {
		if strings.HasPrefix(d.ID, "console-") && d.Name == "Web console" {
			consoleDevice = d.ID
		}
	}
	if consoleDevice == "" {
		t.Fatalf("the console session is not among the user's devices: %+v", devices.Items)
	}

	if r := cc.do(http.MethodPost, "/console/language", url.Values{"csrf": {"forged"}, "lang": {"fr"}}); r.status != http.StatusForbidden {
		t.Errorf("a form without the session's CSRF token: %d, want 403", r.status)
	}
	if r := cc.post("/console/language", url.Values{"lang": {"fr"}, "back": {"/console/"}}); r.status != http.StatusSeeOther {
		t.Fatalf("choosing French: %d %.300s", r.status, r.body)
	}
	if fr := cc.get("/console/"); !strings.Contains(fr.body, `<html lang="fr" dir="ltr">`) || fr.header.Get("Content-Language") != "fr" {
		t.Errorf("after choosing French the console is not in French: %.200s", fr.body)
	}
	other := consoleSignIn(t, base, username, password) // the preference is the user's, not the browser's
	if fr := other.get("/console/"); !strings.Contains(fr.body, `lang="fr"`) {
		t.Errorf("the language choice was not remembered for the user: %.200s", fr.body)
	}

	if r := do(t, base, http.MethodDelete, "/v1/devices/"+consoleDevice, nil, "Authorization: Bearer "+tk.AccessToken); r.status != http.StatusOK {
		t.Fatalf("revoking the console's device: %d %s", r.status, r.body)
	}
	if r := cc.get("/console/"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/login") {
		t.Fatalf("after revoking its device the session still works: %d %q", r.status, r.location())
	}
	if r := other.post("/console/logout", nil); r.status != http.StatusSeeOther || r.location() != "/console/login?signed_out=1" {
		t.Fatalf("sign-out: %d %q", r.status, r.location())
	}
	if r := other.get("/console/"); r.status != http.StatusSeeOther {
		t.Fatalf("after signing out the session still works: %d", r.status)
	}
}

var assetLink = regexp.MustCompile(`href="(/console/assets/console\.[0-9a-f]{12}\.css)"`)

// Every console answer carries the strict headers; pages are never stored; assets are
// fingerprinted, cached for a year and compressed.
func TestConsoleHeaders(t *testing.T) {
	t.Parallel()
	base := server(t).base
	cc := newConsoleClient(t, base)
	r := cc.get("/console/login")
	for name, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if strings.Contains(r.body, "<script>") || strings.Contains(r.body, " style=") || strings.Contains(r.body, " onclick=") {
		t.Error("the page has inline script or style, which the CSP forbids")
	}
	m := assetLink.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no fingerprinted style sheet in %.400s", r.body)
	}
	req, _ := http.NewRequest(http.MethodGet, base+m[1], nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		resp.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("style sheet: %d %v", resp.StatusCode, resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	css, _ := io.ReadAll(zr)
	if !strings.Contains(string(css), "margin-inline") || strings.Contains(string(css), "margin-left") {
		t.Error("the style sheet must use logical properties only")
	}
	if r := cc.get("/console/assets/console.000000000000.css"); r.status != http.StatusNotFound {
		t.Errorf("an unknown asset: %d", r.status)
	}
	if r := cc.get("/"); r.status != http.StatusFound || r.location() != "/console/" {
		t.Errorf("/ answers %d %q, want a redirect to /console/", r.status, r.location())
	}
}

// A password an admin set must be replaced before anything else, through the API (403
// password_change_required everywhere but /v1/me, /v1/me/password and logout) and the console
// (every page sends the user to the password page).
func TestPasswordChangeRequired(t *testing.T) {
	t.Parallel()
	base := server(t).base
	username, _, tk := newUser(t, "supervisor")
	reset := "set by the administrator 5"
	if r := post(t, base, http.MethodPost, "/v1/users/"+tk.User.ID+"/password", adminToken(t), map[string]string{"password": reset}); r.status != http.StatusOK {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	r := post(t, base, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": username, "password": reset, "device_id": "phone-reset-" + username})
	var signedIn struct {
		AccessToken            string `json:"access_token"`
		PasswordChangeRequired bool   `json:"password_change_required"`
	}
	r.json(t, &signedIn)
	if r.status != http.StatusOK || !signedIn.PasswordChangeRequired {
		t.Fatalf("sign-in after a reset: %d %s", r.status, r.body)
	}
	bearer := "Authorization: Bearer " + signedIn.AccessToken
	if r := get(t, base, "/v1/cases", bearer); r.status != http.StatusForbidden || r.problem(t).Code != "password_change_required" {
		t.Fatalf("a case list before the change: %d %s", r.status, r.body)
	}
	if r := get(t, base, "/v1/me", bearer); r.status != http.StatusOK {
		t.Fatalf("/v1/me before the change: %d %s", r.status, r.body)
	}

	cc := consoleSignIn(t, base, username, reset)
	for _, path := range []string{"/console/", "/console/?lang=ar"} {
		if r := cc.get(path); r.status != http.StatusSeeOther || r.location() != "/console/password" {
			t.Errorf("%s before the change: %d %q, want the password page", path, r.status, r.location())
		}
	}
	page := cc.get("/console/password")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Choose your own password") {
		t.Fatalf("password page: %d %.300s", page.status, page.body)
	}

	for _, tc := range []struct {
		name        string
		body        map[string]string
		field, code string
	}{
		{"wrong current", map[string]string{"current_password": "a wrong one entirely", "new_password": "my very own passphrase 1"}, "current_password", "incorrect"},
		{"weak new", map[string]string{"current_password": reset, "new_password": "short"}, "new_password", "too_short"},
		{"unchanged", map[string]string{"current_password": reset, "new_password": reset}, "new_password", "same_as_current"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, base, http.MethodPost, "/v1/me/password", signedIn.AccessToken, tc.body)
			p := r.problem(t)
			if r.status != http.StatusBadRequest || len(p.Errors) == 0 || p.Errors[0].Field != tc.field || p.Errors[0].Code != tc.code {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	if r := cc.post("/console/password", url.Values{"current_password": {reset}, "new_password": {"my very own passphrase 1"},
		"confirm_password": {"my very own passphrase 2"}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "The two new passwords are not the same.") {
		t.Fatalf("mismatched confirmation: %d %.300s", r.status, r.body)
	}
	if r := cc.post("/console/password", url.Values{"current_password": {reset}, "new_password": {"my very own passphrase 1"},
		"confirm_password": {"my very own passphrase 1"}}); r.status != http.StatusSeeOther || r.location() != "/console/?notice=password_changed" {
		t.Fatalf("changing the password in the console: %d %q %.300s", r.status, r.location(), r.body)
	}
	if r := cc.get("/console/?notice=password_changed"); r.status != http.StatusOK || !strings.Contains(r.body, "Your password was changed.") {
		t.Fatalf("home after the change: %d", r.status)
	}
	if r := get(t, base, "/v1/cases", bearer); r.status != http.StatusOK {
		t.Fatalf("the API session after the change: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/me/password", signedIn.AccessToken,
		map[string]string{"current_password": "my very own passphrase 1", "new_password": "and another passphrase 3"}); r.status != http.StatusOK {
		t.Fatalf("changing it again through the API: %d %s", r.status, r.body)
	}
	login(t, base, username, "and another passphrase 3", "phone-after-"+username)
}
