package main

import (
	"strings"
	"testing"
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
