package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The "done when", in a real browser: a newcomer starts the service with nothing configured
// (so the first administrator gets a generated password, written to DATA_DIR), opens /console/,
// signs in as admin with that password, is held on the password page until choosing their own,
// creates a supervisor, a content editor and a caseworker in the console, and each of them signs in
// in a browser of their own, chooses their own password and reaches their home page.
func TestBrowserNewcomerFirstAdmin(t *testing.T) {
	t.Parallel()
	tb := newTab(t, 1024, 768)
	dir := t.TempDir()
	env := testEnv(dir, nil)
	delete(env, "BOOTSTRAP_ADMIN_PASSWORD")
	s := startServer(t, env, nil)
	t.Cleanup(func() { s.stop() })
	tb.base = s.base
	raw, err := os.ReadFile(filepath.Join(dir, initialPasswordFile))
	if err != nil {
		t.Fatalf("the generated password is not in DATA_DIR: %v", err)
	}
	generated := strings.TrimSpace(string(raw))

	tb.open("/console/")
	if p := tb.path(); p != "/console/login?next=/console/" {
		t.Fatalf("a newcomer opening /console/ is shown %s", p)
	}
	tb.signIn("admin", generated)
	if p := tb.path(); p != "/console/password" {
		t.Fatalf("the first admin's generated password leads to %s, not the password page", p)
	}
	if got := tb.text("main"); !strings.Contains(got, "Choose your own password") {
		t.Errorf("the password page does not say why: %q", got)
	}
	tb.open("/console/users") // nothing else opens until the password is changed
	if p := tb.path(); p != "/console/password" {
		t.Fatalf("with the generated password, /console/users shows %s", p)
	}
	tb.screenshot("first-sign-in")
	changePassword(tb, generated, "the agency's own passphrase 1")

	newcomers := []struct {
		username, name, role, heading, section string
	}{
		{"s.okafor", "Sade Okafor", "supervisor", "Worklist", "/console/coaching"},
		{"e.lindqvist", "Erik Lindqvist", "content_editor", "Welcome, Erik Lindqvist", "/console/library"},
		{"c.haddad", "Carmen Haddad", "caseworker", "Welcome, Carmen Haddad", "/console/cases"},
	}
	for _, n := range newcomers {
		tb.open("/console/users")
		tb.fill("#username", n.username)
		tb.fill("#display_name", n.name)
		tb.do("ticking "+n.role, chromedp.Click(chromedp.CSS("#role-"+n.role)))
		tb.fill("#new-password", "handed over on day one 7")
		tb.submit("#create-user", "main h1")
		if got := tb.text("main"); !strings.Contains(got, "The user was created.") || !strings.Contains(got, n.username) {
			t.Fatalf("creating %s: %q", n.username, got)
		}
	}
	tb.axe()
	tb.screenshot("users")

	for _, n := range newcomers {
		t.Run(n.role, func(t *testing.T) {
			user := newTab(t, 1024, 768)
			user.base = s.base
			user.signIn(n.username, "handed over on day one 7")
			if p := user.path(); p != "/console/password" {
				t.Fatalf("a password the admin gave leads to %s, not the password page", p)
			}
			changePassword(user, "handed over on day one 7", "my very own passphrase 42")
			user.open("/console/")
			if h := user.text("main h1"); h != n.heading {
				t.Errorf("home page heading %q, want %q", h, n.heading)
			}
			var links []string
			user.eval(`[...document.querySelectorAll("header nav a")].map(a => a.getAttribute("href"))`, &links)
			if !strings.Contains(strings.Join(links, " "), n.section) {
				t.Errorf("the navigation %v lacks %s", links, n.section)
			}
			user.axe()
		})
	}
}

// changePassword fills the password page, which must answer with the home page saying so.
func changePassword(tb *tab, current, next string) {
	tb.t.Helper()
	tb.fill("#current_password", current)
	tb.fill("#new_password", next)
	tb.fill("#confirm_password", next)
	tb.submit("#change-password", "main h1")
	if p := tb.path(); p != "/console/?notice=password_changed" {
		tb.t.Fatalf("after changing the password: %s: %s", p, tb.text("main"))
	}
}

// At tablet width (768 px) every main page of the console fits the screen: nothing makes the page
// scroll sideways (wide tables scroll inside their own box), in English and in Arabic.
func TestBrowserPagesAtTabletWidth(t *testing.T) {
	t.Parallel()
	tb := newTab(t, 768, 1024)
	o := newWorklistOrg(t)
	name, pass, _ := o.org.newUser(t, "supervisor", "content_editor", "admin", "auditor")
	tb.signIn(name, pass)
	pages := []string{"/console/", "/console/cases", "/console/cases/" + o.assigned,
		"/console/cases/" + o.assigned + "/interviews/" + o.submitted, "/console/coaching", "/console/library",
		"/console/library/first-contact-safety", "/console/drafts", "/console/users", "/console/devices", "/console/audit"}
	for _, lang := range []string{"en", "ar"} {
		for _, p := range pages {
			tb.open(p + "?lang=" + lang)
			var fit struct {
				Page, Screen float64
				Dir          string
			}
			tb.eval(`({page: document.documentElement.scrollWidth, screen: window.innerWidth, dir: getComputedStyle(document.body).direction})`, &fit)
			if fit.Page > fit.Screen+1 {
				t.Errorf("%s in %s is %v px wide on a %v px screen", p, lang, fit.Page, fit.Screen)
			}
			if want := map[string]string{"en": "ltr", "ar": "rtl"}[lang]; fit.Dir != want {
				t.Errorf("%s in %s lays out %s", p, lang, fit.Dir)
			}
		}
	}
	tb.open("/console/cases/" + o.assigned + "?lang=en")
	tb.screenshot("case-tablet")
}
