package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// bad marks where a test body gets a byte that is not UTF-8 (it is a private-use character until then).
const bad = "\uE000"

// withInvalidUTF8 is v as JSON with every bad mark replaced by the byte 0xFF, which no UTF-8 text holds.
func withInvalidUTF8(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(bad)) {
		t.Fatalf("no mark in %s", b)
	}
	return string(bytes.ReplaceAll(b, []byte(bad), []byte{0xff}))
}

// A string that is not UTF-8 text is refused with a 400 naming the field, wherever it is (a value, a
// key, deep in a list, in a sync operation, in an imported file), and nothing is stored.
func TestInvalidUTF8IsRefused(t *testing.T) {
	t.Parallel()
	base := server(t).base
	caseID, worker := newCaseWithWorker(t, base)
	items := "/v1/cases/" + caseID + "/evidence"
	itemID := uuid.Must(uuid.NewV7()).String()
	mustStatus(t, post(t, base, http.MethodPost, items, worker.AccessToken, newPhone(itemID)), http.StatusCreated)
	session := createInterview(t, base, worker.AccessToken, caseID)
	editor := authoringUser(t, base, adminToken(t), "content_editor")
	draftID, pid := uuid.Must(uuid.NewV7()).String(), "utf8-"+strings.ToLower(uuid.NewString()[:8])
	mustStatus(t, post(t, base, http.MethodPost, "/v1/authoring/drafts", editor.AccessToken,
		map[string]any{"id": draftID, "protocol_id": pid, "protocol": sampleProtocol(pid)}), http.StatusCreated)

	phone := newPhone(uuid.Must(uuid.NewV7()).String())
	phone["description"] = "Phone " + bad
	child := newCase(uuid.Must(uuid.NewV7()).String(), "Child U.")
	child["child"].(map[string]any)["needs"].(map[string]any)["disability_notes"] = "uses cards " + bad
	pushed := newCase(uuid.Must(uuid.NewV7()).String(), "Child "+bad)
	tests := []struct {
		name, method, path, token string
		body                      any
		field                     string
	}{
		{"user display name", http.MethodPost, "/v1/users", adminToken(t),
			map[string]any{"username": "utf8-" + uuid.NewString()[:8], "display_name": "Name " + bad, "roles": []string{"caseworker"}, "password": "long enough passphrase here"}, "display_name"},
		{"disability notes", http.MethodPost, "/v1/cases", worker.AccessToken, child, "child.needs.disability_notes"},
		{"evidence description", http.MethodPost, items, worker.AccessToken, phone, "description"},
		{"custody event note", http.MethodPost, items + "/" + itemID + "/events", worker.AccessToken, event("note", map[string]any{"note": "seal " + bad}), "note"},
		{"prompt words", http.MethodPost, "/v1/cases/" + caseID + "/interviews/" + session.ID + "/log", worker.AccessToken,
			map[string]any{"prompts": []any{
				map[string]any{"client_id": "w1", "type": "invitation", "recorded_at": rfc(time.Now().Add(-time.Minute))},
				map[string]any{"client_id": "w2", "type": "invitation", "words": "tell me " + bad, "recorded_at": rfc(time.Now())}}}, "prompts[1].words"},
		{"a key", http.MethodPost, items + "/" + itemID + "/events", worker.AccessToken, event("note", map[string]any{"n" + bad: "x"}), "n\ufffd"},
		{"sync-pushed case", http.MethodPost, "/v1/sync/push", worker.AccessToken,
			map[string]any{"operations": []any{createOp(pushed["id"].(string), "Child "+bad)}}, "operations[0].data.child.needs.disability_notes"}, // the first string holding the bad byte,
		{"translation", http.MethodPatch, "/v1/authoring/drafts/" + draftID + "/translations/fr", editor.AccessToken,
			map[string]any{"version": 1, "strings": []any{map[string]any{"id": "title", "text": "Protocole " + bad}}}, "strings[0].text"},
		{"imported file", http.MethodPost, "/v1/authoring/drafts/import", editor.AccessToken,
			map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": pid + "x", "files": []any{map[string]any{"path": "protocol.yaml", "content": "title: " + bad}}}, "files[0].content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := post(t, base, tt.method, tt.path, tt.token, withInvalidUTF8(t, tt.body))
			if r.status != http.StatusBadRequest {
				t.Fatalf("%d %s, want 400", r.status, r.body)
			}
			p := r.problem(t)
			if len(p.Errors) != 1 || p.Errors[0].Field != tt.field || p.Errors[0].Code != "utf8" || p.Errors[0].Message == "" {
				t.Errorf("errors %+v, want field %s code utf8", p.Errors, tt.field)
			}
		})
	}
	t.Run("xliff", func(t *testing.T) {
		t.Parallel()
		doc := `<?xml version="1.0"?><xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="en" trgLang="fr"><file id="` + pid +
			`"><unit id="title"><segment><source>T</source><target>` + "Protocole \xff" + `</target></segment></unit></file></xliff>`
		r := do(t, base, http.MethodPut, "/v1/authoring/drafts/"+draftID+"/translations/fr/xliff?version=1", strings.NewReader(doc),
			"Content-Type: application/xliff+xml", "Authorization: Bearer "+editor.AccessToken)
		if r.status != http.StatusBadRequest {
			t.Fatalf("%d %s, want 400", r.status, r.body)
		}
		if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "body" || p.Errors[0].Code != "utf8" {
			t.Errorf("errors %+v, want body utf8", p.Errors)
		}
	})
}
