package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// The content editors' library pages: published protocols, a protocol's versions with translation
// completeness, and the differences between two versions (the authoring service, as
// /v1/authoring/protocols does).
func TestConsoleEditorLibrary(t *testing.T) {
	t.Parallel()
	base := server(t).base
	editorName, editorPassword, _ := newUser(t, "content_editor")
	editor := consoleSignIn(t, base, editorName, editorPassword)

	lib := editor.get("/console/library")
	if lib.status != http.StatusOK || !strings.Contains(lib.body, `href="/console/library/child-interview"`) {
		t.Fatalf("library: %d %.1500s", lib.status, lib.body)
	}
	if !strings.Contains(editor.get("/console/").body, `href="/console/library"`) {
		t.Error("the editor's navigation lacks the library")
	}
	tests := []struct {
		name   string
		path   string
		status int
		want   []string
	}{
		{"versions", "/console/library/child-interview", http.StatusOK, []string{`id="versions"`, "Compare two versions", ">ar "}},
		{"a diff", "/console/library/child-interview?from=1&to=1", http.StatusOK, []string{`id="diff"`, "Changes from version 1 to version 1", "no change"}},
		{"a bad version", "/console/library/child-interview?from=first&to=1", http.StatusBadRequest, []string{`id="from-error"`}},
		{"an unknown version", "/console/library/child-interview?from=1&to=999", http.StatusNotFound, nil},
		{"an unknown protocol", "/console/library/no-such-protocol", http.StatusNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			editor.t = t
			r := editor.get(tt.path)
			if r.status != tt.status {
				t.Fatalf("%d %.1000s", r.status, r.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
}

// The drafts page lists drafts made through the API (the same authoring service) with their
// status; a bad cursor answers a 400 page; other roles get 403.
func TestConsoleEditorDrafts(t *testing.T) {
	t.Parallel()
	base := server(t).base
	editorName, editorPassword, tk := newUser(t, "content_editor")
	pid := "console-drafts-" + strings.ToLower(uuid.NewString()[:8])
	create := map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": pid, "protocol": sampleProtocol(pid)}
	decodeDraft(t, post(t, base, http.MethodPost, "/v1/authoring/drafts", tk.AccessToken, create), 201)
	editor := consoleSignIn(t, base, editorName, editorPassword)
	if !strings.Contains(editor.get("/console/").body, `href="/console/drafts"`) {
		t.Error("the editor's navigation lacks the drafts")
	}
	tests := []struct {
		name   string
		path   string
		status int
		want   []string
	}{
		{"list", "/console/drafts", http.StatusOK, []string{`id="drafts"`, pid, "being edited", "new protocol"}},
		{"a bad cursor", "/console/drafts?after=not-a-cursor", http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			editor.t = t
			r := editor.get(tt.path)
			if r.status != tt.status {
				t.Fatalf("%d %.1000s", r.status, r.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
}
