package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// jsString quotes s as a JavaScript string literal.
func jsString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An administrator creates a user in the browser, then revokes the console session of another
// user (signed in in a second browser): that browser's next page load goes to the sign-in page.
// Every administrator and auditor page (users, a user, devices, audit log, verification) passes the
// accessibility check.
func TestBrowserAdminRevokesDevice(t *testing.T) {
	t.Parallel()
	adminName, adminPassword, _ := newUser(t, "admin", "auditor")
	username, password, userTk := newUser(t, "supervisor")
	other := newTab(t, 1024, 768)
	other.signIn(username, password)

	tb := newTab(t, 1024, 768)
	tb.signIn(adminName, adminPassword)
	tb.open("/console/users")
	tb.axe()
	tb.fill("#username", "browser-made-"+adminName)
	tb.fill("#display_name", "Made In A Browser")
	tb.do("ticking a role", chromedp.Click(chromedp.CSS("#role-caseworker")))
	tb.fill("#new-password", "short")
	tb.submit("#create-user", "#password-error")
	tb.axe() // the form with its field error
	tb.fill("#new-password", "a first browser passphrase")
	tb.submit("#create-user", "main h1")
	if got := tb.text("main"); !strings.Contains(got, "The user was created.") {
		t.Fatalf("after creating: %q", got)
	}

	tb.open("/console/users/" + userTk.User.ID)
	if got := tb.text("main h1"); !strings.Contains(got, username) {
		t.Errorf("the user page's heading is %q, not the user %s", got, username)
	}
	tb.axe()

	tb.open("/console/devices")
	tb.axe()
	tb.screenshot("devices")
	var deviceID string
	tb.eval(`[...document.querySelectorAll("tr[id^=device-console-]")].find(tr => tr.textContent.includes(`+jsString(t, username)+`)).id.slice(7)`, &deviceID)
	tb.submit(`[id="device-`+deviceID+`"] button`, "main h1")
	if got := tb.text("main"); !strings.Contains(got, "The device was revoked") {
		t.Fatalf("after revoking: %q", got)
	}

	other.open("/console/")
	if p := other.path(); !strings.HasPrefix(p, "/console/login") {
		t.Errorf("the revoked session still opens %s", p)
	}

	tb.open("/console/audit")
	tb.axe()
	tb.screenshot("audit")
	tb.submit("#verify-link", "#verify-result")
	if got := tb.text("#verify-result"); !strings.Contains(got, "Intact") {
		t.Errorf("verification says %q", got)
	}
	tb.axe()
}
