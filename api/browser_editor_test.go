package main

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

// A content editor opens the library, a protocol's versions and a comparison; every page passes
// the accessibility check, as does the drafts list.
func TestBrowserEditorLibrary(t *testing.T) {
	t.Parallel()
	editorName, editorPassword, _ := newUser(t, "content_editor")
	tb := newTab(t, 1024, 768)
	tb.signIn(editorName, editorPassword)
	tb.open("/console/library")
	tb.axe()
	tb.screenshot("library")
	tb.open("/console/library/child-interview")
	tb.axe()
	tb.fill("#from", "1")
	tb.fill("#to", "1")
	tb.submit("#compare", "#diff")
	if got := tb.text("#diff"); !strings.Contains(got, "no change") {
		t.Errorf("comparing a version with itself says %q", got)
	}
	tb.axe()
	tb.open("/console/drafts")
	tb.axe()
}

// Editor A finds the stale French string of a draft in the translation grid, corrects it and
// submits the draft; editor B approves it; A publishes it. Every editor page on the way passes the
// accessibility check (the draft page, the grid, the preview, the new-draft form and the library).
// The test runs on a server of its own, since publishing changes the library other tests count.
func TestBrowserEditorFixesStaleTranslationAndPublishes(t *testing.T) {
	t.Parallel()
	if chromiumPath() == "" {
		t.Skip("no Chromium browser found (set CHROMIUM, or apt-get install chromium): the console's browser tests are skipped")
	}
	base, admin := editorServer(t)
	aName, aPassword, aTk := editorOn(t, base, admin)
	bName, bPassword, _ := editorOn(t, base, admin)
	pid := "browser-publish-" + strings.ToLower(uuid.NewString()[:8])
	id := staleDraft(t, base, aTk.AccessToken, pid)
	draft := "/console/drafts/" + id

	a := newTab(t, 1024, 768)
	a.base = base
	a.signIn(aName, aPassword)
	a.open(draft)
	a.axe()
	if got := a.text("#locales"); !strings.Contains(got, "fr") {
		t.Fatalf("the draft's locales: %q", got)
	}
	a.submit("#locale-fr", "#translations")
	a.axe()
	a.screenshot("editor-translations")
	if got := a.text("#t-step-greet-title"); !strings.Contains(got, "Out of date") {
		t.Fatalf("the stale row says %q", got)
	}
	a.fill("#text-4", "Saluer l’enfant")
	a.submit("#save-4", "#translate-summary")
	if got := a.text("#t-step-greet-title"); !strings.Contains(got, "Translated") {
		t.Errorf("after the correction the row says %q", got)
	}
	if got := a.text("#translate-summary"); !strings.Contains(got, "0 out of date") {
		t.Errorf("after the correction: %q", got)
	}
	a.axe()
	a.open(draft)
	a.fill("#comment", "French title corrected.")
	a.submit("#submit-draft", "#draft-status")
	if got := a.text("#draft-status"); !strings.Contains(got, "in review") {
		t.Fatalf("after submitting: %q", got)
	}
	if got := a.text("#own-draft"); !strings.Contains(got, "another content editor") {
		t.Errorf("the author is told %q", got)
	}
	a.axe()

	b := newTab(t, 1024, 768)
	b.base = base
	b.signIn(bName, bPassword)
	b.open(draft)
	b.axe()
	b.submit("#approve-draft", "#draft-status")
	if got := b.text("#draft-status"); !strings.Contains(got, "approved") {
		t.Fatalf("after approving: %q", got)
	}

	a.open(draft)
	a.axe()
	a.submit("#publish-draft", "#draft-status")
	if got := a.text("#draft-status"); !strings.Contains(got, "published as version 1") {
		t.Fatalf("after publishing: %q", got)
	}
	a.axe()
	a.open(draft + "/preview?situation=1&age_band=under_6&locale=fr")
	if got := a.text("#step-greet"); !strings.Contains(got, "Saluer l’enfant") {
		t.Errorf("the French preview shows %q", got)
	}
	a.axe()
	a.open("/console/library/" + pid)
	a.axe()
	a.open("/console/drafts/new")
	a.axe()
}
