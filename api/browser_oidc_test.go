package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Sign-in with the OpenID Connect provider in a real browser: the sign-in page's button leads to
// the provider (the code-flow test issuer), which sends the browser back to the console; its
// continue page moves on by itself to the page first asked for, signed in (the new session cookie
// goes with that navigation, which starts on the console's own page).
func TestBrowserSignInWithProvider(t *testing.T) {
	t.Parallel()
	tb := newTab(t, 1024, 768)
	iss := startCodeIssuer(t)
	s := startServer(t, testEnv(t.TempDir(), map[string]string{"OIDC_ISSUER_URL": iss.url, "OIDC_AUDIENCE": "caseguide-app",
		"OIDC_DEFAULT_ORG": "default", "OIDC_PROVIDER_NAME": "Agency Login"}), nil)
	t.Cleanup(func() { s.stop() })
	tb.base = s.base
	admin := login(t, s.base, "admin", adminPassword, "oidc-browser-admin").AccessToken
	if r := post(t, s.base, http.MethodPost, "/v1/users", admin, map[string]any{"username": "m.provider", "display_name": "Mira Provider",
		"roles": []string{"supervisor"}, "password": "a password nobody uses 42"}); r.status != http.StatusCreated {
		t.Fatalf("creating the user: %d %s", r.status, r.body)
	}
	iss.signInAs("m.provider")

	tb.open("/console/cases")
	if p := tb.path(); p != "/console/login?next=/console/cases" {
		t.Fatalf("signed out, /console/cases shows %s", p)
	}
	if got := tb.text("#sign-in-oidc"); got != "Sign in with Agency Login" {
		t.Errorf("the provider's button says %q", got)
	}
	tb.axe()
	tb.screenshot("sign-in-provider")
	tb.do("signing in with the provider", chromedp.Click(chromedp.CSS("#sign-in-oidc")),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/console/logout"]`)))
	if p := tb.path(); p != "/console/cases" {
		t.Errorf("after the provider's sign-in the browser shows %s", p)
	}
	if got := tb.text("header"); !strings.Contains(got, "m.provider") {
		t.Errorf("the header does not name the user: %q", got)
	}
	tb.axe()
}
