package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// multipart posts a form with one file to the console, with the client's CSRF token.
func (cc *consoleClient) multipart(path string, fields map[string]string, fileField, fileName string, content []byte) *consoleResponse {
	cc.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if _, ok := fields["csrf"]; !ok {
		_ = w.WriteField("csrf", cc.csrf)
	}
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if fileField != "" {
		fw, err := w.CreateFormFile(fileField, fileName)
		if err != nil {
			cc.t.Fatal(err)
		}
		_, _ = fw.Write(content)
	}
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, cc.base+path, &body)
	if err != nil {
		cc.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := cc.hc.Do(req)
	if err != nil {
		cc.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if m := csrfInput.FindSubmatch(b.Bytes()); m != nil {
		cc.csrf = string(m[1])
	}
	return &consoleResponse{status: resp.StatusCode, header: resp.Header, body: b.String()}
}

// apiDraft reads a draft through the API.
func apiDraft(t *testing.T, base, token, id string) draftBody {
	t.Helper()
	return decodeDraft(t, get(t, base, "/v1/authoring/drafts/"+id, "Authorization: Bearer "+token), 200)
}

// consoleNewDraft creates a new protocol's draft through the console's form and returns its id.
func consoleNewDraft(t *testing.T, cc *consoleClient, pid string) string {
	t.Helper()
	src, _ := json.Marshal(sampleProtocol(pid)) // JSON is YAML too
	id := uuid.Must(uuid.NewV7()).String()
	form := url.Values{"mode": {"new"}, "id": {id}, "protocol_id": {pid}, "source": {string(src)}}
	r := cc.post("/console/drafts", form)
	if r.status != http.StatusSeeOther || r.location() != "/console/drafts/"+id {
		t.Fatalf("creating a draft: %d %s %.800s", r.status, r.location(), r.body)
	}
	return id
}

// Content editors create a draft in the console, edit its source text and structure (validator
// messages at the field, nothing stored on bad input, a stale page answers 409), translate it in
// the grid and through XLIFF, and review it under the second-editor rule, all through the same
// authoring service as the API. The preview shows a draft or a version as a caseworker sees it.
func TestConsoleEditorDraftEditing(t *testing.T) {
	t.Parallel()
	base := server(t).base
	aName, aPassword, aTk := newUser(t, "content_editor")
	bName, bPassword, _ := newUser(t, "content_editor")
	a, b := consoleSignIn(t, base, aName, aPassword), consoleSignIn(t, base, bName, bPassword)
	pid := "console-edit-" + strings.ToLower(uuid.NewString()[:8])

	if r := a.get("/console/drafts/new"); r.status != 200 || !strings.Contains(r.body, `id="new-source"`) || !strings.Contains(r.body, `value="first-contact-safety"`) {
		t.Fatalf("new draft page: %d %.1000s", r.status, r.body)
	}
	t.Run("create refusals", func(t *testing.T) {
		a.t = t
		tests := []struct {
			name, source, pid, want string
		}{
			{"not YAML", "id: [unclosed", pid, `id="new-source-error"`},
			{"no title", strings.Replace(mustJSONString(t, sampleProtocol(pid)), `,"title":"Test protocol `+pid+`"`, "", 1), pid, "title"},
			{"bad protocol id", mustJSONString(t, sampleProtocol(pid)), "Not A Slug", `id="new-protocol-id-error"`},
			{"an unpublished protocol", "", pid, `id="published-protocol-error"`},
		}
		for _, tt := range tests {
			mode := "new"
			if tt.source == "" {
				mode = "published"
			}
			r := a.post("/console/drafts", url.Values{"mode": {mode}, "id": {uuid.Must(uuid.NewV7()).String()}, "protocol_id": {tt.pid}, "source": {tt.source}})
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, tt.want) {
				t.Errorf("%s: %d, want 400 with %q: %.1500s", tt.name, r.status, tt.want, r.body)
			}
		}
	})
	a.t = t
	id := consoleNewDraft(t, a, pid)
	// A repeated form (same id) answers the same draft and makes no second one.
	src, _ := json.Marshal(sampleProtocol(pid))
	if r := a.post("/console/drafts", url.Values{"mode": {"new"}, "id": {id}, "protocol_id": {pid}, "source": {string(src)}}); r.status != http.StatusSeeOther || r.location() != "/console/drafts/"+id {
		t.Fatalf("repeated create: %d %s", r.status, r.location())
	}
	var list struct{ Items []struct{ ID string } }
	get(t, base, "/v1/authoring/drafts?protocol_id="+pid, "Authorization: Bearer "+aTk.AccessToken).json(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("drafts of %s after a repeated create: %+v", pid, list.Items)
	}
	// From a published protocol.
	fromID := uuid.Must(uuid.NewV7()).String()
	if r := a.post("/console/drafts", url.Values{"mode": {"published"}, "id": {fromID}, "protocol_id": {"first-contact-safety"}}); r.status != http.StatusSeeOther {
		t.Fatalf("draft from a published protocol: %d %.800s", r.status, r.body)
	}
	if d := apiDraft(t, base, aTk.AccessToken, fromID); d.BaseVersion < 1 || d.ProtocolID != "first-contact-safety" {
		t.Errorf("draft from first-contact-safety: %+v", d)
	}
	// Its page compares it with the version it started from; retitling a step shows there.
	if r := a.post("/console/drafts/"+fromID+"/text", url.Values{"version": {"1"}, "s:/phases/0/steps/0/title": {"Check for danger now"}}); r.status != http.StatusSeeOther {
		t.Fatalf("retitling a step of the published protocol's draft: %d %.1000s", r.status, r.body)
	}
	if r := a.get("/console/drafts/" + fromID); !strings.Contains(r.body, `id="diff"`) || !strings.Contains(r.body, "wording only") || !strings.Contains(r.body, "immediate-safety/assess-danger</code>: title") {
		t.Errorf("the draft's changes from its base: %.3000s", r.body)
	}

	page := a.get("/console/drafts/" + id)
	for _, w := range []string{`id="text-form"`, `id="source-form"`, `name="s:/phases/0/steps/0/title"`, `href="/console/drafts/` + id + `/translations/fr"`, `id="submit-draft"`} {
		if !strings.Contains(page.body, w) {
			t.Errorf("draft page lacks %q", w)
		}
	}
	t.Run("source edits", func(t *testing.T) {
		a.t = t
		tests := []struct {
			name    string
			path    string
			form    url.Values
			status  int
			want    string
			version int64 // the draft's version afterwards
		}{
			{"an empty step title", "/text", url.Values{"version": {"1"}, "s:/phases/0/steps/0/title": {""}}, 400, `id="src-4-error"`, 1},
			{"a title too long", "/text", url.Values{"version": {"1"}, "s:/title": {strings.Repeat("x", 201)}}, 400, `id="src-0-error"`, 1},
			{"a new step title", "/text", url.Values{"version": {"1"}, "s:/phases/0/steps/0/title": {"Greet the child\r\nwarmly"}}, 303, "", 2},
			{"a stale page", "/text", url.Values{"version": {"1"}, "s:/title": {"Too late"}}, 409, "changed by someone else", 2},
			{"not YAML", "/source", url.Values{"version": {"2"}, "source": {"phases: [unclosed"}}, 400, `id="source-error"`, 2},
			{"an unknown dependency", "/source", url.Values{"version": {"2"}, "source": {strings.Replace(mustJSONString(t, sampleProtocol(pid)), `"depends_on":["greet"]`, `"depends_on":["nowhere"]`, 1)}}, 400, "not an earlier step", 2},
			{"a new structure", "/source", url.Values{"version": {"2"}, "source": {strings.Replace(mustJSONString(t, sampleProtocol(pid)), `"required":false`, `"required":true`, 1)}}, 303, "", 3},
		}
		for _, tt := range tests {
			r := a.post("/console/drafts/"+id+tt.path, tt.form)
			if r.status != tt.status || !strings.Contains(r.body, tt.want) {
				t.Errorf("%s: %d, want %d with %q: %.1500s", tt.name, r.status, tt.status, tt.want, r.body)
			}
			if d := apiDraft(t, base, aTk.AccessToken, id); d.Version != tt.version {
				t.Errorf("%s: the draft is at version %d, want %d", tt.name, d.Version, tt.version)
			}
		}
	})
	a.t = t
	// The structure form replaced the whole source, so the title saved from the text form is the
	// sample's again; the step title edit reached the draft with LF line ends.

	t.Run("translation grid", func(t *testing.T) {
		a.t = t
		grid := a.get("/console/drafts/" + id + "/translations/fr")
		if grid.status != 200 || strings.Count(grid.body, `class="state-missing"`) != 9 || !strings.Contains(grid.body, `id="xliff-form"`) {
			t.Fatalf("fr grid: %d %.2000s", grid.status, grid.body)
		}
		r := a.post("/console/drafts/"+id+"/translations/fr", url.Values{"version": {"3"}, "string": {"title"}, "text": {"Protocole de test"}})
		if r.status != http.StatusSeeOther || r.location() != "/console/drafts/"+id+"/translations/fr?notice=saved#t-title" {
			t.Fatalf("saving a translation: %d %s %.800s", r.status, r.location(), r.body)
		}
		if _, translated, _, _ := apiDraft(t, base, aTk.AccessToken, id).locale("fr"); translated != 1 {
			t.Errorf("fr translated after one save: %d", translated)
		}
		tests := []struct {
			name, path string
			form       url.Values
			status     int
			want       string
		}{
			{"a text too long", "/translations/fr", url.Values{"version": {"4"}, "string": {"summary"}, "text": {strings.Repeat("x", 9000)}}, 400, `id="text-1-error"`},
			{"a stale page", "/translations/fr", url.Values{"version": {"3"}, "string": {"summary"}, "text": {"Résumé"}}, 409, `id="translate-alert"`},
			{"an unknown string", "/translations/fr", url.Values{"version": {"4"}, "string": {"step.nope.title"}, "text": {"x"}}, 400, `id="translate-alert"`},
			{"the source locale", "/translations/en", url.Values{"version": {"4"}, "string": {"title"}, "text": {"x"}}, 400, ""},
		}
		for _, tt := range tests {
			r := a.post("/console/drafts/"+id+tt.path, tt.form)
			if r.status != tt.status || !strings.Contains(r.body, tt.want) {
				t.Errorf("%s: %d, want %d with %q: %.1500s", tt.name, r.status, tt.status, tt.want, r.body)
			}
		}
		if d := apiDraft(t, base, aTk.AccessToken, id); d.Version != 4 {
			t.Errorf("refused translations changed the draft: version %d", d.Version)
		}
		if r := a.get("/console/drafts/" + id + "/translations/fr?state=missing"); r.status != 200 || strings.Count(r.body, `class="state-missing"`) != 8 || strings.Contains(r.body, `id="t-title"`) {
			t.Errorf("missing strings only: %d", r.status)
		}
		if r := a.get("/console/drafts/" + id + "/translations/fr?state=nonsense"); r.status != 400 {
			t.Errorf("a bad state filter: %d", r.status)
		}
	})
	a.t = t

	t.Run("xliff", func(t *testing.T) {
		a.t = t
		x := a.get("/console/drafts/" + id + "/translations/fr/xliff")
		if x.status != 200 || x.header.Get("Content-Type") != "application/xliff+xml" || !strings.Contains(x.header.Get("Content-Disposition"), pid+"-fr.xlf") || !strings.Contains(x.body, `trgLang="fr"`) {
			t.Fatalf("xliff download: %d %v %.500s", x.status, x.header, x.body)
		}
		unit := regexp.MustCompile(`(?s)<unit id="summary">.*?</unit>`).FindString(x.body)
		done := strings.Replace(unit, `state="initial"`, `state="translated"`, 1)
		done = strings.Replace(done, "</source>", "</source>\n        <target>Un protocole écrit par les tests.</target>", 1)
		file := strings.Replace(x.body, unit, done, 1)
		if r := a.multipart("/console/drafts/"+id+"/translations/fr/xliff", map[string]string{"version": "4"}, "file", "fr.xlf", []byte("not xml")); r.status != 400 || !strings.Contains(r.body, `id="xliff-file-error"`) {
			t.Errorf("a file that is not XLIFF: %d %.800s", r.status, r.body)
		}
		if r := a.multipart("/console/drafts/"+id+"/translations/fr/xliff", map[string]string{"version": "4"}, "", "", nil); r.status != 400 || !strings.Contains(r.body, `id="xliff-file-error"`) {
			t.Errorf("no file: %d", r.status)
		}
		r := a.multipart("/console/drafts/"+id+"/translations/fr/xliff", map[string]string{"version": "4"}, "file", "fr.xlf", []byte(file))
		if r.status != http.StatusSeeOther || !strings.Contains(r.location(), "notice=imported") {
			t.Fatalf("xliff upload: %d %s %.1500s", r.status, r.location(), r.body)
		}
		if _, translated, _, _ := apiDraft(t, base, aTk.AccessToken, id).locale("fr"); translated != 2 {
			t.Errorf("fr translated after the import: %d", translated)
		}
	})
	a.t = t

	t.Run("preview", func(t *testing.T) {
		a.t = t
		tests := []struct {
			name, path string
			status     int
			want       []string
		}{
			{"draft in French", "/console/drafts/" + id + "/preview?situation=1&age_band=under_6&locale=fr", 200, []string{`id="preview" lang="fr" dir="ltr"`, "Protocole de test", `id="step-greet"`}},
			{"a version in Arabic", "/console/library/first-contact-safety/preview?situation=1&age_band=12_to_17&needs=interpreter&locale=ar", 200, []string{`lang="ar" dir="rtl"`, `id="step-assess-danger"`}},
			{"a bad age band", "/console/drafts/" + id + "/preview?age_band=adult", 400, []string{`id="age_band-error"`}},
			{"a bad need", "/console/library/first-contact-safety/preview?needs=wings", 400, []string{`id="needs-error"`}},
			{"an unknown version", "/console/library/first-contact-safety/preview?version=999", 404, nil},
			{"an unknown protocol", "/console/library/no-such-protocol/preview", 404, nil},
		}
		for _, tt := range tests {
			r := a.get(tt.path)
			if r.status != tt.status {
				t.Errorf("%s: %d, want %d: %.800s", tt.name, r.status, tt.status, r.body)
				continue
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("%s lacks %q", tt.name, w)
				}
			}
		}
	})
	a.t = t

	t.Run("review", func(t *testing.T) {
		a.t, b.t = t, t
		if r := a.post("/console/drafts/"+id+"/submit", url.Values{"version": {"5"}, "comment": {"Ready."}}); r.status != 303 || !strings.HasSuffix(r.location(), "?notice=submitted") {
			t.Fatalf("submit: %d %s %.800s", r.status, r.location(), r.body)
		}
		if r := a.get("/console/drafts/" + id); !strings.Contains(r.body, `id="own-draft"`) || strings.Contains(r.body, `id="approve-draft"`) {
			t.Errorf("the author is offered the review: %.2000s", r.body)
		}
		if r := b.get("/console/drafts/" + id); !strings.Contains(r.body, `id="approve-draft"`) || !strings.Contains(r.body, `id="return-draft"`) {
			t.Errorf("the second editor is not offered the review")
		}
		tests := []struct {
			name   string
			cc     *consoleClient
			path   string
			form   url.Values
			status int
			want   string
		}{
			{"the author approves", a, "/approve", url.Values{"version": {"6"}}, 403, "another content editor must approve"},
			{"a return without comment", b, "/return", url.Values{"version": {"6"}}, 400, `id="comment-error"`},
			{"publishing before approval", b, "/publish", url.Values{"version": {"6"}}, 400, `id="draft-alert"`},
			{"an approval on a stale page", b, "/approve", url.Values{"version": {"5"}}, 409, "changed by someone else"},
			{"the second editor returns", b, "/return", url.Values{"version": {"6"}, "comment": {"Translate the rest."}}, 303, ""},
			{"the author submits again", a, "/submit", url.Values{"version": {"7"}}, 303, ""},
			{"the second editor approves", b, "/approve", url.Values{"version": {"8"}}, 303, ""},
			{"publishing with missing translations", a, "/publish", url.Values{"version": {"9"}}, 400, "not complete"},
		}
		for _, tt := range tests {
			r := tt.cc.post("/console/drafts/"+id+tt.path, tt.form)
			if r.status != tt.status || !strings.Contains(r.body, tt.want) {
				t.Errorf("%s: %d, want %d with %q: %.1500s", tt.name, r.status, tt.status, tt.want, r.body)
			}
		}
		d := apiDraft(t, base, aTk.AccessToken, id)
		if d.Status != "approved" || d.Version != 9 {
			t.Errorf("after the review: %s at %d", d.Status, d.Version)
		}
		if r := a.get("/console/drafts/" + id); !strings.Contains(r.body, "Translate the rest.") || !strings.Contains(r.body, `id="publish-draft"`) {
			t.Errorf("the draft page lacks the review history or the publish form")
		}
	})
	a.t = t

	t.Run("six languages", func(t *testing.T) {
		a.t = t
		for lang, want := range map[string]string{"en": "Review and publishing", "fr": "Relecture et publication", "es": "Revisión y publicación",
			"ru": "Рецензирование и публикация", "zh": "审核与发布", "ar": "المراجعة والنشر"} {
			r := a.get("/console/drafts/" + id + "?lang=" + lang)
			if r.status != 200 || !strings.Contains(r.body, want) || !strings.Contains(r.body, `lang="`+lang+`"`) {
				t.Errorf("%s: %d, lacks %q", lang, r.status, want)
			}
			if g := a.get("/console/drafts/" + id + "/translations/ar?lang=" + lang); g.status != 200 || !strings.Contains(g.body, `dir="rtl"`) {
				t.Errorf("%s: the Arabic grid: %d", lang, g.status)
			}
		}
	})
}

func mustJSONString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// editorServer starts a server of its own for tests that publish (the shared server's library stays
// the shipped one: other tests count its protocols), with every locale required to publish. It
// returns its base URL and an administrator's token.
func editorServer(t *testing.T) (base, admin string) {
	t.Helper()
	srv := startServer(t, testEnv(t.TempDir(), map[string]string{"AUTHORING_REQUIRED_LOCALES": "en,ar,es,fr,ru,zh", "REQUEST_TIMEOUT": "90s"}), nil)
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("stopping the server: %v", err)
		}
	})
	return srv.base, login(t, srv.base, "admin", adminPassword, "admin-editor-"+uuid.NewString()[:8]).AccessToken
}

// editorOn creates a content editor on base and returns its name, password and API tokens.
func editorOn(t *testing.T, base, admin string) (username, password string, tk tokens) {
	t.Helper()
	username = "editor-" + strings.ToLower(uuid.NewString()[:8])
	password = "long enough editor passphrase " + uuid.NewString()[:8]
	r := post(t, base, http.MethodPost, "/v1/users", admin, map[string]any{"username": username, "display_name": "Editor " + username,
		"roles": []string{"content_editor"}, "password": password})
	if r.status != http.StatusCreated {
		t.Fatalf("creating %s: %d %s", username, r.status, r.body)
	}
	return username, password, login(t, base, username, password, "laptop-"+username)
}

// staleDraft makes, through the API, a new protocol's draft translated into every locale but for
// one French string (step.greet.title) that is stale: its translation was made from an older
// source text. It returns the draft's id.
func staleDraft(t *testing.T, base, token, pid string) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	decodeDraft(t, post(t, base, http.MethodPost, "/v1/authoring/drafts", token, map[string]any{"id": id, "protocol_id": pid, "protocol": sampleProtocol(pid)}), 201)
	d := translateAll(t, base, token, id)
	xliff := `<?xml version="1.0" encoding="UTF-8"?>
<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="en" trgLang="fr"><file id="` + pid + `">
<unit id="step.greet.title"><segment state="translated"><source>Say hello</source><target>Dire bonjour</target></segment></unit>
</file></xliff>`
	r := do(t, base, http.MethodPut, "/v1/authoring/drafts/"+id+"/translations/fr/xliff?version="+fmt.Sprint(d.Version), strings.NewReader(xliff),
		"Authorization: Bearer "+token, "Content-Type: application/xliff+xml")
	if _, _, _, stale := decodeDraft(t, r, 200).locale("fr"); stale != 1 {
		t.Fatalf("the French title is not stale: %s", r.body)
	}
	return id
}

// In the console, an editor corrects a stale translation and submits the draft, a second editor
// approves it, and the first publishes it: the protocol's first version is in the library.
func TestConsoleEditorPublishes(t *testing.T) {
	t.Parallel()
	base, admin := editorServer(t)
	aName, aPassword, aTk := editorOn(t, base, admin)
	bName, bPassword, _ := editorOn(t, base, admin)
	pid := "console-publish-" + strings.ToLower(uuid.NewString()[:8])
	id := staleDraft(t, base, aTk.AccessToken, pid)
	a, b := consoleSignIn(t, base, aName, aPassword), consoleSignIn(t, base, bName, bPassword)

	grid := a.get("/console/drafts/" + id + "/translations/fr?state=stale")
	if grid.status != 200 || strings.Count(grid.body, `class="state-stale"`) != 1 || !strings.Contains(grid.body, `id="t-step-greet-title"`) || !strings.Contains(grid.body, `<del lang="en" dir="ltr">Say hello</del>`) {
		t.Fatalf("stale strings: %d %.2000s", grid.status, grid.body)
	}
	d := apiDraft(t, base, aTk.AccessToken, id)
	steps := []struct {
		name string
		cc   *consoleClient
		path string
		form url.Values
	}{
		{"fix the stale string", a, "/translations/fr", url.Values{"string": {"step.greet.title"}, "text": {"Saluer l’enfant"}, "state": {"stale"}}},
		{"submit", a, "/submit", url.Values{"comment": {"French title corrected."}}},
		{"approve", b, "/approve", url.Values{}},
		{"publish", a, "/publish", url.Values{}},
	}
	for _, s := range steps {
		s.form.Set("version", fmt.Sprint(d.Version))
		if r := s.cc.post("/console/drafts/"+id+s.path, s.form); r.status != http.StatusSeeOther {
			t.Fatalf("%s: %d %s %.1500s", s.name, r.status, r.location(), r.body)
		}
		d = apiDraft(t, base, aTk.AccessToken, id)
	}
	if d.Status != "published" || d.PublishedVersion == nil || *d.PublishedVersion != 1 {
		t.Fatalf("after publishing: %+v", d)
	}
	if r := a.get("/console/drafts/" + id + "?notice=published"); !strings.Contains(r.body, "published as version 1") || !strings.Contains(r.body, "The draft was published.") {
		t.Errorf("the published draft's page: %.1500s", r.body)
	}
	if r := a.get("/console/library"); !strings.Contains(r.body, `href="/console/library/`+pid+`"`) {
		t.Errorf("the library lacks the published protocol")
	}
}
