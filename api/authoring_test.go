package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/uuid"
)

func init() {
	openapi3filter.RegisterBodyDecoder("application/xliff+xml", openapi3filter.FileBodyDecoder)
}

// The authoring tests that publish run on a server of their own, so the shared server's library stays
// the shipped one (other tests count its protocols). Publishing reloads the whole library, which under
// the race detector on a busy machine takes longer than the default request timeout.
func TestAuthoringPublishing(t *testing.T) {
	t.Parallel()
	srv := startServer(t, testEnv(t.TempDir(), map[string]string{"AUTHORING_REQUIRED_LOCALES": "en,ar,es,fr,ru,zh",
		"REQUEST_TIMEOUT": "90s"}), nil)
	t.Cleanup(func() {
		if t.Failed() { // the server's errors say why
			for _, line := range strings.Split(srv.logs.String(), "\n") {
				if strings.Contains(line, `"level":"ERROR"`) {
					t.Log(line)
				}
			}
		}
		if err := srv.stop(); err != nil {
			t.Errorf("stopping the server: %v", err)
		}
	})
	admin := login(t, srv.base, "admin", adminPassword, "admin-authoring").AccessToken
	t.Run("workflow", func(t *testing.T) { t.Parallel(); testAuthoringWorkflow(t, srv.base, admin) })
	t.Run("structural change", func(t *testing.T) { t.Parallel(); testAuthoringStructuralChange(t, srv.base, admin) })
}

// authoringUser creates a user with roles on base (the admin token is admin's) and signs it in.
func authoringUser(t *testing.T, base, admin string, roles ...string) tokens {
	t.Helper()
	username := fmt.Sprintf("author%d-%s", userSeq.Add(1), strings.ReplaceAll(strings.Join(roles, "-"), "_", ""))
	password := fmt.Sprintf("long enough passphrase number %d", userSeq.Load())
	r := post(t, base, http.MethodPost, "/v1/users", admin, map[string]any{"username": username, "display_name": "Test " + username, "roles": roles, "password": password})
	if r.status != http.StatusCreated {
		t.Fatalf("creating %s: %d %s", username, r.status, r.body)
	}
	return login(t, base, username, password, "laptop-"+username)
}

func sampleProtocol(id string) map[string]any {
	return map[string]any{
		"id": id, "kind": "support", "title": "Test protocol " + id, "summary": "A protocol written by the tests.",
		"notice":     "Sample content for tests; an agency replaces it with its own.",
		"case_types": []string{"grooming"}, "age_bands": []string{"under_6", "6_to_11"},
		"references": []any{map[string]any{"id": "ref-one", "title": "A public guideline"}},
		"phases": []any{map[string]any{"id": "first", "title": "First phase", "steps": []any{
			map[string]any{"id": "greet", "title": "Greet the child", "body": "Say who you are.", "required": true, "performed_by": "caseworker"},
			map[string]any{"id": "listen", "title": "Listen", "body": "Listen without asking leading questions.", "required": false,
				"performed_by": "caseworker", "depends_on": []string{"greet"},
				"checklist": []any{map[string]any{"id": "note", "text": "Write down the child's words."}}},
		}}},
	}
}

type draftBody struct {
	ID               string         `json:"id"`
	ProtocolID       string         `json:"protocol_id"`
	BaseVersion      int            `json:"base_version"`
	Status           string         `json:"status"`
	Change           string         `json:"change"`
	ContentHash      string         `json:"content_hash"`
	Protocol         map[string]any `json:"protocol"`
	PublishedVersion *int           `json:"published_version"`
	Version          int64          `json:"version"`
	Translations     []struct {
		Locale                            string
		Total, Translated, Missing, Stale int
		Complete                          bool
	}
}

func (d draftBody) locale(code string) (total, translated, missing, stale int) {
	for _, l := range d.Translations {
		if l.Locale == code {
			return l.Total, l.Translated, l.Missing, l.Stale
		}
	}
	return -1, -1, -1, -1
}

func decodeDraft(t *testing.T, r *response, want int) draftBody {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	var d draftBody
	r.json(t, &d)
	return d
}

type translationStatus struct {
	Version int64
	Stale   int
	Missing int
	Strings []struct{ ID, Source, Text, State string }
}

// translateAll translates every missing or stale string of the draft into every translation locale.
func translateAll(t *testing.T, base, token, draftID string) draftBody {
	t.Helper()
	for _, l := range []string{"ar", "es", "fr", "ru", "zh"} {
		var st translationStatus
		get(t, base, "/v1/authoring/drafts/"+draftID+"/translations/"+l, "Authorization: Bearer "+token).json(t, &st)
		var edits []map[string]string
		for _, s := range st.Strings {
			if s.State != "translated" {
				edits = append(edits, map[string]string{"id": s.ID, "text": "[" + l + "] " + s.Source})
			}
		}
		if len(edits) == 0 {
			continue
		}
		decodeDraft(t, post(t, base, http.MethodPatch, "/v1/authoring/drafts/"+draftID+"/translations/"+l, token,
			map[string]any{"version": st.Version, "strings": edits}), 200)
	}
	return decodeDraft(t, get(t, base, "/v1/authoring/drafts/"+draftID, "Authorization: Bearer "+token), 200)
}

func review(t *testing.T, base, token, draftID, action string, version int64, comment string, want int) draftBody {
	t.Helper()
	r := post(t, base, http.MethodPost, "/v1/authoring/drafts/"+draftID+"/"+action, token, map[string]any{"version": version, "comment": comment})
	if r.status != want {
		t.Fatalf("%s: status %d, want %d: %s", action, r.status, want, r.body)
	}
	if want != 200 {
		return draftBody{}
	}
	var d draftBody
	r.json(t, &d)
	return d
}

// The whole workflow through the API: a new protocol is drafted, validated, reviewed by a second
// editor, translated, published and used by a run; the next version is a text change translated
// through XLIFF, published while the run keeps its version; versions, labels, diff, usage, files
// round trip, retirement and audit entries.
func testAuthoringWorkflow(t *testing.T, base, authoringAdmin string) {
	a := authoringUser(t, base, authoringAdmin, "content_editor")
	b := authoringUser(t, base, authoringAdmin, "content_editor")
	worker := authoringUser(t, base, authoringAdmin, "caseworker")
	auditor := authoringUser(t, base, authoringAdmin, "auditor")
	pid := "test-flow-" + strings.ToLower(uuid.NewString()[:8])
	draftID := uuid.Must(uuid.NewV7()).String()
	src := sampleProtocol(pid)

	create := map[string]any{"id": draftID, "protocol_id": pid, "protocol": src}
	d := decodeDraft(t, post(t, base, http.MethodPost, "/v1/authoring/drafts", a.AccessToken, create), 201)
	if d.Status != "editing" || d.BaseVersion != 0 || d.Version != 1 || d.Change != "structural" {
		t.Fatalf("created %+v", d)
	}
	decodeDraft(t, post(t, base, http.MethodPost, "/v1/authoring/drafts", a.AccessToken, create), 200)
	other := map[string]any{"id": draftID, "protocol_id": pid, "protocol": sampleProtocol(pid)}
	other["protocol"].(map[string]any)["title"] = "Something else"
	if r := post(t, base, http.MethodPost, "/v1/authoring/drafts", a.AccessToken, other); r.status != http.StatusConflict {
		t.Errorf("same id, other content: %d", r.status)
	}

	// Two editors save: the second, at the old version, gets 409 with the current draft.
	src["phases"].([]any)[0].(map[string]any)["title"] = "Opening"
	d = decodeDraft(t, post(t, base, http.MethodPut, "/v1/authoring/drafts/"+draftID, a.AccessToken, map[string]any{"version": 1, "protocol": src}), 200)
	if d.Version != 2 {
		t.Fatalf("saved at version %d", d.Version)
	}
	r := post(t, base, http.MethodPut, "/v1/authoring/drafts/"+draftID, b.AccessToken, map[string]any{"version": 1, "protocol": src})
	var conflict struct {
		Code    string
		Current draftBody
	}
	r.json(t, &conflict)
	if r.status != http.StatusConflict || conflict.Code != "version_conflict" || conflict.Current.Version != 2 {
		t.Fatalf("stale save: %d %s", r.status, r.body)
	}

	// Review: the author cannot approve; a second editor can; publishing needs the translations.
	d = review(t, base, a.AccessToken, draftID, "submit", 2, "Ready", 200)
	review(t, base, a.AccessToken, draftID, "approve", d.Version, "", http.StatusForbidden)
	d = review(t, base, b.AccessToken, draftID, "approve", d.Version, "Looks right", 200)
	if d.Status != "approved" {
		t.Fatalf("status %s", d.Status)
	}
	r = post(t, base, http.MethodPost, "/v1/authoring/drafts/"+draftID+"/publish", b.AccessToken, map[string]any{"version": d.Version})
	if r.status != http.StatusBadRequest || r.problem(t).Code != "translations_incomplete" {
		t.Fatalf("publishing untranslated: %d %s", r.status, r.body)
	}
	review(t, base, b.AccessToken, draftID, "return", d.Version, "", http.StatusBadRequest) // a comment is required
	d = review(t, base, b.AccessToken, draftID, "return", d.Version, "Needs translations first", 200)
	d = translateAll(t, base, a.AccessToken, draftID)
	if _, tr, missing, _ := d.locale("fr"); missing != 0 || tr == 0 {
		t.Fatalf("fr after translating: %+v", d.Translations)
	}
	d = review(t, base, a.AccessToken, draftID, "submit", d.Version, "", 200)
	d = review(t, base, b.AccessToken, draftID, "approve", d.Version, "", 200)
	r = post(t, base, http.MethodPost, "/v1/authoring/drafts/"+draftID+"/publish", a.AccessToken, map[string]any{"version": d.Version})
	var pub struct {
		Version int
		Created bool
		Draft   draftBody
	}
	r.json(t, &pub)
	if r.status != http.StatusOK || pub.Version != 1 || !pub.Created || pub.Draft.Status != "published" {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	if r := get(t, base, "/v1/protocols/"+pid+"?lang=fr"); r.status != http.StatusOK || !strings.Contains(string(r.body), "[fr] Opening") {
		t.Fatalf("the published protocol is not served: %d %.300s", r.status, r.body)
	}

	// A caseworker starts a run on version 1.
	caseID := uuid.Must(uuid.NewV7()).String()
	if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(caseID, "Child T.")); r.status != http.StatusCreated {
		t.Fatalf("case: %d %s", r.status, r.body)
	}
	runID := uuid.Must(uuid.NewV7()).String()
	if r := post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/runs", worker.AccessToken, map[string]string{"id": runID, "protocol_id": pid}); r.status != http.StatusCreated {
		t.Fatalf("run: %d %s", r.status, r.body)
	}

	// The next version: a draft from the latest, a text-only change, translated back through XLIFF.
	next := uuid.Must(uuid.NewV7()).String()
	d = decodeDraft(t, post(t, base, http.MethodPost, "/v1/authoring/drafts", b.AccessToken, map[string]any{"id": next, "protocol_id": pid}), 201)
	if d.BaseVersion != 1 || d.Change != "none" {
		t.Fatalf("draft from the latest: %+v", d)
	}
	if _, tr, missing, stale := d.locale("zh"); missing != 0 || stale != 0 || tr == 0 {
		t.Fatalf("translations carried over: %+v", d.Translations)
	}
	step := d.Protocol["phases"].([]any)[0].(map[string]any)["steps"].([]any)[1].(map[string]any)
	step["body"] = "Listen; let the child lead."
	d = decodeDraft(t, post(t, base, http.MethodPut, "/v1/authoring/drafts/"+next, b.AccessToken, map[string]any{"version": d.Version, "protocol": d.Protocol}), 200)
	if _, _, _, stale := d.locale("fr"); stale != 1 || d.Change != "text" {
		t.Fatalf("after a text change: change %s, %+v", d.Change, d.Translations)
	}
	var draftDiff struct {
		From, To     int
		Change       string
		StepsChanged []struct {
			StepID string `json:"step_id"`
			Fields []string
		} `json:"steps_changed"`
	}
	get(t, base, "/v1/authoring/drafts/"+next+"/diff", "Authorization: Bearer "+b.AccessToken).json(t, &draftDiff)
	if draftDiff.From != 1 || draftDiff.Change != "text" || len(draftDiff.StepsChanged) != 1 || !slices.Equal(draftDiff.StepsChanged[0].Fields, []string{"body"}) {
		t.Errorf("draft diff: %+v", draftDiff)
	}
	var st translationStatus
	get(t, base, "/v1/authoring/drafts/"+next+"/translations/fr?state=stale", "Authorization: Bearer "+b.AccessToken).json(t, &st)
	if len(st.Strings) != 1 || st.Strings[0].ID != "step.listen.body" {
		t.Fatalf("stale strings: %+v", st.Strings)
	}
	xr := get(t, base, "/v1/authoring/drafts/"+next+"/translations/fr/xliff", "Authorization: Bearer "+b.AccessToken)
	if xr.status != http.StatusOK || xr.header.Get("Content-Type") != "application/xliff+xml" {
		t.Fatalf("xliff export: %d %s", xr.status, xr.body)
	}
	xliff := string(xr.body)
	if !strings.Contains(xliff, `trgLang="fr"`) || !strings.Contains(xliff, `<unit id="step.listen.body">`) {
		t.Fatalf("xliff: %s", xliff)
	}
	// A translator fills the stale unit and marks it translated.
	unit := regexp.MustCompile(`(?s)<unit id="step.listen.body">.*?</unit>`).FindString(xliff)
	done := regexp.MustCompile(`(?s)<target>.*?</target>`).ReplaceAllString(unit, "<target>Écouter ; laisser l’enfant guider.</target>")
	done = strings.Replace(done, `state="initial"`, `state="translated"`, 1)
	xliff = strings.Replace(xliff, unit, done, 1)
	r = do(t, base, http.MethodPut, "/v1/authoring/drafts/"+next+"/translations/fr/xliff?version="+fmt.Sprint(st.Version), strings.NewReader(xliff),
		"Authorization: Bearer "+b.AccessToken, "Content-Type: application/xliff+xml")
	d = decodeDraft(t, r, 200)
	if _, _, _, stale := d.locale("fr"); stale != 0 {
		t.Fatalf("fr still stale after the XLIFF import: %+v", d.Translations)
	}
	d = translateAll(t, base, b.AccessToken, next)
	d = review(t, base, b.AccessToken, next, "submit", d.Version, "", 200)
	d = review(t, base, a.AccessToken, next, "approve", d.Version, "", 200)
	r = post(t, base, http.MethodPost, "/v1/authoring/drafts/"+next+"/publish", a.AccessToken, map[string]any{"version": d.Version})
	r.json(t, &pub)
	if r.status != http.StatusOK || pub.Version != 2 {
		t.Fatalf("publish 2: %d %s", r.status, r.body)
	}
	var run struct {
		ProtocolVersion int `json:"protocol_version"`
	}
	get(t, base, "/v1/cases/"+caseID+"/runs/"+runID, "Authorization: Bearer "+worker.AccessToken).json(t, &run)
	if run.ProtocolVersion != 1 {
		t.Errorf("the run moved to version %d", run.ProtocolVersion)
	}

	// Versions with labels, differences, usage.
	var versions struct {
		Items []struct {
			Version      int
			Label        string
			Change       string
			ContentHash  string `json:"content_hash"`
			Completeness []struct {
				Locale   string
				Complete bool
			}
		}
	}
	get(t, base, "/v1/authoring/protocols/"+pid+"/versions", "Authorization: Bearer "+a.AccessToken).json(t, &versions)
	if len(versions.Items) != 2 || versions.Items[0].Label != "1.0" || versions.Items[1].Label != "1.1" || versions.Items[1].Change != "text" {
		t.Fatalf("versions: %+v", versions.Items)
	}
	for _, c := range versions.Items[1].Completeness {
		if !c.Complete {
			t.Errorf("version 2 incomplete in %s", c.Locale)
		}
	}
	var diff struct {
		Change       string
		StepsChanged []struct {
			StepID string `json:"step_id"`
			Fields []string
		} `json:"steps_changed"`
		StepsAdded []any `json:"steps_added"`
	}
	get(t, base, "/v1/authoring/protocols/"+pid+"/diff?from=1&to=2", "Authorization: Bearer "+a.AccessToken).json(t, &diff)
	if diff.Change != "text" || len(diff.StepsChanged) != 1 || diff.StepsChanged[0].StepID != "listen" ||
		!slices.Contains(diff.StepsChanged[0].Fields, "body") || len(diff.StepsAdded) != 0 {
		t.Errorf("diff: %+v", diff)
	}
	var usage struct {
		Items []struct {
			Version   int
			OpenCases int `json:"open_cases"`
			Runs      int
		}
	}
	get(t, base, "/v1/authoring/protocols/"+pid+"/usage", "Authorization: Bearer "+a.AccessToken).json(t, &usage)
	if len(usage.Items) != 2 || usage.Items[0].Runs != 1 || usage.Items[0].OpenCases != 1 || usage.Items[1].Runs != 0 {
		t.Errorf("usage: %+v", usage.Items)
	}

	// Files round trip: export version 2, import it as a draft: the same content.
	var files struct {
		Files []struct{ Path, Content string }
	}
	get(t, base, "/v1/authoring/protocols/"+pid+"/versions/2/files", "Authorization: Bearer "+a.AccessToken).json(t, &files)
	if len(files.Files) != 6 || files.Files[0].Path != pid+"/protocol.yaml" {
		t.Fatalf("files: %d", len(files.Files))
	}
	imported := decodeDraft(t, post(t, base, http.MethodPost, "/v1/authoring/drafts/import", a.AccessToken,
		map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": pid, "files": files.Files}), 201)
	if imported.ContentHash != versions.Items[1].ContentHash || imported.Change != "none" || imported.BaseVersion != 2 {
		t.Errorf("imported %s (%s), version 2 is %s", imported.ContentHash, imported.Change, versions.Items[1].ContentHash)
	}

	// Retirement.
	if r := post(t, base, http.MethodPost, "/v1/authoring/protocols/"+pid+"/retire", a.AccessToken, map[string]any{"reason": "Replaced by the national protocol"}); r.status != http.StatusOK {
		t.Fatalf("retire: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/authoring/drafts", a.AccessToken, map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": pid}); r.status != http.StatusConflict || r.problem(t).Code != "protocol_retired" {
		t.Errorf("draft of a retired protocol: %d %s", r.status, r.body)
	}
	var list struct{ Items []struct{ ID string } }
	get(t, base, "/v1/protocols?limit=200").json(t, &list)
	if slices.ContainsFunc(list.Items, func(it struct{ ID string }) bool { return it.ID == pid }) {
		t.Error("a retired protocol is still listed")
	}
	if r := get(t, base, "/v1/protocols/bundle"); strings.Contains(string(r.body), `"id":"`+pid+`"`) {
		t.Error("a retired protocol is still bundled")
	}
	if r := post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/runs", worker.AccessToken, map[string]string{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": pid}); r.status != http.StatusConflict || r.problem(t).Code != "protocol_retired" {
		t.Errorf("a run of a retired protocol: %d %s", r.status, r.body)
	}
	if r := get(t, base, "/v1/cases/"+caseID+"/runs/"+runID, "Authorization: Bearer "+worker.AccessToken); r.status != http.StatusOK {
		t.Errorf("the pinned run after retirement: %d", r.status)
	}
	if r := get(t, base, "/v1/protocols/"+pid+"/versions/1"); r.status != http.StatusOK {
		t.Errorf("a version of a retired protocol: %d", r.status)
	}

	// Every write was audited.
	for _, action := range []string{"draft.create", "draft.update", "draft.translate", "draft.submit", "draft.approve", "draft.return", "draft.publish", "draft.import", "protocol.retire"} {
		var list struct{ Items []any }
		r := get(t, base, "/v1/audit?action="+action, "Authorization: Bearer "+auditor.AccessToken)
		r.json(t, &list)
		if r.status != http.StatusOK || len(list.Items) == 0 {
			t.Errorf("no audit entry for %s: %d", action, r.status)
		}
	}
}

// A structural change (a step added) moves the label to the next major number.
func testAuthoringStructuralChange(t *testing.T, base, authoringAdmin string) {
	a := authoringUser(t, base, authoringAdmin, "content_editor")
	b := authoringUser(t, base, authoringAdmin, "content_editor")
	pid := "test-struct-" + strings.ToLower(uuid.NewString()[:8])
	publish := func(body map[string]any) int {
		t.Helper()
		d := decodeDraft(t, post(t, base, http.MethodPost, "/v1/authoring/drafts", a.AccessToken, body), 201)
		d = translateAll(t, base, a.AccessToken, d.ID)
		d = review(t, base, a.AccessToken, d.ID, "submit", d.Version, "", 200)
		d = review(t, base, b.AccessToken, d.ID, "approve", d.Version, "", 200)
		r := post(t, base, http.MethodPost, "/v1/authoring/drafts/"+d.ID+"/publish", b.AccessToken, map[string]any{"version": d.Version})
		var pub struct{ Version int }
		r.json(t, &pub)
		if r.status != 200 {
			t.Fatalf("publish: %d %s", r.status, r.body)
		}
		return pub.Version
	}
	src := sampleProtocol(pid)
	publish(map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": pid, "protocol": src})
	steps := src["phases"].([]any)[0].(map[string]any)["steps"].([]any)
	src["phases"].([]any)[0].(map[string]any)["steps"] = append(steps, map[string]any{"id": "close", "title": "Close", "body": "Say what happens next.", "required": true, "performed_by": "caseworker"})
	if v := publish(map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": pid, "protocol": src}); v != 2 {
		t.Fatalf("published version %d", v)
	}
	var versions struct {
		Items []struct{ Label, Change string }
	}
	get(t, base, "/v1/authoring/protocols/"+pid+"/versions", "Authorization: Bearer "+a.AccessToken).json(t, &versions)
	if len(versions.Items) != 2 || versions.Items[1].Label != "2.0" || versions.Items[1].Change != "structural" {
		t.Errorf("versions %+v", versions.Items)
	}
	var diff struct {
		StepsAdded []struct {
			StepID string `json:"step_id"`
		} `json:"steps_added"`
	}
	get(t, base, "/v1/authoring/protocols/"+pid+"/diff?from=1&to=2", "Authorization: Bearer "+a.AccessToken).json(t, &diff)
	if len(diff.StepsAdded) != 1 || diff.StepsAdded[0].StepID != "close" {
		t.Errorf("diff %+v", diff)
	}
	// A draft started before version 2 was published cannot be published over it.
	stale := decodeDraft(t, post(t, base, http.MethodPost, "/v1/authoring/drafts", a.AccessToken, map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": pid}), 201)
	publish(map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": pid, "protocol": sampleProtocol(pid)})
	stale = review(t, base, a.AccessToken, stale.ID, "submit", stale.Version, "", 200)
	stale = review(t, base, b.AccessToken, stale.ID, "approve", stale.Version, "", 200)
	r := post(t, base, http.MethodPost, "/v1/authoring/drafts/"+stale.ID+"/publish", b.AccessToken, map[string]any{"version": stale.Version})
	if r.status != http.StatusConflict || r.problem(t).Code != "draft_outdated" {
		t.Errorf("outdated publish: %d %s", r.status, r.body)
	}
}

// Bad input: a localized problem naming the step and field, and nothing changed in the database.
func TestAuthoringBadInput(t *testing.T) {
	t.Parallel()
	base := server(t).base
	_, _, editor := newUser(t, "content_editor")
	pid := "test-bad-" + strings.ToLower(uuid.NewString()[:8])
	draftID := uuid.Must(uuid.NewV7()).String()
	d := decodeDraft(t, post(t, base, http.MethodPost, "/v1/authoring/drafts", editor.AccessToken,
		map[string]any{"id": draftID, "protocol_id": pid, "protocol": sampleProtocol(pid)}), 201)

	mutate := func(f func(p map[string]any)) map[string]any {
		p := sampleProtocol(pid)
		f(p)
		return p
	}
	stepOf := func(p map[string]any, i int) map[string]any {
		return p["phases"].([]any)[0].(map[string]any)["steps"].([]any)[i].(map[string]any)
	}
	tests := []struct {
		name  string
		body  any
		field string
		code  string
	}{
		{"malformed json", `{"version": 1,`, "body", "malformed"},
		{"unknown field", map[string]any{"version": 1, "protocol": sampleProtocol(pid), "extra": 1}, "extra", "unknown"},
		{"wrong type", map[string]any{"version": "one", "protocol": sampleProtocol(pid)}, "version", "type"},
		{"operator injection", map[string]any{"version": 1, "protocol": map[string]any{"$where": "1"}}, "protocol.$where", "forbidden_key"},
		{"missing step title", map[string]any{"version": 1, "protocol": mutate(func(p map[string]any) { delete(stepOf(p, 1), "title") })}, "protocol.step.listen.title", "required"},
		{"unknown performer", map[string]any{"version": 1, "protocol": mutate(func(p map[string]any) { stepOf(p, 0)["performed_by"] = "janitor" })}, "protocol.step.greet.performed_by", "oneof"},
		{"later dependency", map[string]any{"version": 1, "protocol": mutate(func(p map[string]any) { stepOf(p, 0)["depends_on"] = []string{"listen"} })}, "protocol.step.greet.depends_on[0]", "unknown_dependency"},
		{"duplicate step id", map[string]any{"version": 1, "protocol": mutate(func(p map[string]any) { stepOf(p, 1)["id"] = "greet"; delete(stepOf(p, 1), "depends_on") })}, "protocol.step.greet.id", "duplicate_id"},
		{"uncovered age band", map[string]any{"version": 1, "protocol": mutate(func(p map[string]any) {
			stepOf(p, 0)["applies_when"] = map[string]any{"age_band": []string{"12_to_17"}}
		})}, "protocol.step.greet.applies_when.age_band[0]", "not_covered"},
		{"other protocol id", map[string]any{"version": 1, "protocol": sampleProtocol("another-one")}, "protocol.id", "mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := post(t, base, http.MethodPut, "/v1/authoring/drafts/"+draftID+"?lang=fr", editor.AccessToken, tt.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			p := r.problem(t)
			if !slices.ContainsFunc(p.Errors, func(e struct{ Field, Code, Message string }) bool {
				return e.Field == tt.field && e.Code == tt.code && (strings.Contains(e.Message, "«") || tt.field == "body")
			}) {
				t.Errorf("no French %s error for %s in %+v", tt.code, tt.field, p.Errors)
			}
		})
	}
	t.Run("translations", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			path string
			body any
		}{
			{"/translations/fr", map[string]any{"version": 1, "strings": []any{map[string]any{"id": "step.nope.title", "text": "x"}}}},
			{"/translations/xx", map[string]any{"version": 1, "strings": []any{map[string]any{"id": "title", "text": "x"}}}},
			{"/translations/en", map[string]any{"version": 1, "strings": []any{map[string]any{"id": "title", "text": "x"}}}},
			{"/translations/fr", map[string]any{"version": 1, "strings": []any{}}},
			{"/translations/fr", map[string]any{"version": 1, "strings": []any{map[string]any{"id": "title", "text": "   "}}}},
		} {
			if r := post(t, base, http.MethodPatch, "/v1/authoring/drafts/"+draftID+tc.path, editor.AccessToken, tc.body); r.status != http.StatusBadRequest {
				t.Errorf("%s %v: %d %s", tc.path, tc.body, r.status, r.body)
			}
		}
		for _, body := range []string{"not xml", `<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="en" trgLang="de"><file id="` + pid + `"/></xliff>`} {
			r := do(t, base, http.MethodPut, "/v1/authoring/drafts/"+draftID+"/translations/fr/xliff?version=1", strings.NewReader(body),
				"Authorization: Bearer "+editor.AccessToken, "Content-Type: application/xliff+xml")
			if r.status != http.StatusBadRequest {
				t.Errorf("xliff %q: %d %s", body, r.status, r.body)
			}
		}
	})
	t.Run("create", func(t *testing.T) {
		t.Parallel()
		for _, body := range []map[string]any{
			{"id": "not-a-uuid", "protocol_id": pid + "-x", "protocol": sampleProtocol(pid + "-x")},
			{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": "Bad Id", "protocol": sampleProtocol("bad")},
			{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": pid + "-new"},
			{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": pid + "-x", "protocol": map[string]any{"id": pid + "-x"}},
		} {
			r := post(t, base, http.MethodPost, "/v1/authoring/drafts", editor.AccessToken, body)
			if r.status != http.StatusBadRequest {
				t.Errorf("%v: %d %s", body, r.status, r.body)
			}
			if id, _ := body["id"].(string); id != "not-a-uuid" {
				if r := get(t, base, "/v1/authoring/drafts/"+id, "Authorization: Bearer "+editor.AccessToken); r.status != http.StatusNotFound {
					t.Errorf("the refused draft exists: %d", r.status)
				}
			}
		}
		fid := pid + "-f"
		valid, err := json.Marshal(sampleProtocol(fid)) // JSON is YAML too
		if err != nil {
			t.Fatal(err)
		}
		fileTests := []struct {
			name        string
			files       []any
			field, code string
		}{
			{"a value out of its list", []any{map[string]any{"path": "protocol.yaml", "content": "id: " + fid + "\nkind: nonsense\n"}}, "protocol.kind", "oneof"},
			{"a translation of no string", []any{map[string]any{"path": "protocol.yaml", "content": string(valid)},
				map[string]any{"path": "es.yaml", "content": "no.such.string: Hola\n"}}, "translations.es.no.such.string", "unknown_string"},
			{"another protocol's file", []any{map[string]any{"path": "protocol.yaml", "content": strings.Replace(string(valid), fid, fid+"-other", 1)}}, "protocol.id", "mismatch"},
			{"not YAML", []any{map[string]any{"path": "protocol.yaml", "content": "id: [" + fid}}, "files[0]", "file_problem"},
		}
		for _, ft := range fileTests {
			r := post(t, base, http.MethodPost, "/v1/authoring/drafts/import?lang=fr", editor.AccessToken, map[string]any{"id": uuid.Must(uuid.NewV7()).String(),
				"protocol_id": fid, "files": ft.files})
			if r.status != http.StatusBadRequest {
				t.Errorf("%s: %d %s", ft.name, r.status, r.body)
				continue
			}
			if p := r.problem(t); !slices.ContainsFunc(p.Errors, func(e struct{ Field, Code, Message string }) bool {
				return e.Field == ft.field && e.Code == ft.code && e.Message != ""
			}) || r.header.Get("Content-Language") != "fr" {
				t.Errorf("%s: want %s/%s in %+v", ft.name, ft.field, ft.code, p.Errors)
			}
		}
	})
	t.Run("list", func(t *testing.T) {
		t.Parallel()
		second := uuid.Must(uuid.NewV7()).String()
		decodeDraft(t, post(t, base, http.MethodPost, "/v1/authoring/drafts", editor.AccessToken,
			map[string]any{"id": second, "protocol_id": pid, "protocol": sampleProtocol(pid)}), 201)
		var page struct {
			Items []struct {
				ID     string
				Status string
			}
			NextCursor *string `json:"next_cursor"`
		}
		get(t, base, "/v1/authoring/drafts?protocol_id="+pid+"&limit=1", "Authorization: Bearer "+editor.AccessToken).json(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != draftID || page.NextCursor == nil {
			t.Fatalf("first page %+v", page)
		}
		get(t, base, "/v1/authoring/drafts?protocol_id="+pid+"&limit=1&cursor="+*page.NextCursor, "Authorization: Bearer "+editor.AccessToken).json(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != second || page.NextCursor != nil {
			t.Errorf("second page %+v", page)
		}
		for _, q := range []string{"?limit=0", "?limit=201", "?cursor=nope", "?protocol_id=Bad%20Id", "?status=x"} {
			if r := get(t, base, "/v1/authoring/drafts"+q, "Authorization: Bearer "+editor.AccessToken); r.status != http.StatusBadRequest {
				t.Errorf("%s: %d", q, r.status)
			}
		}
	})
	t.Run("review rules", func(t *testing.T) {
		t.Parallel()
		// Only a draft being edited can be approved after a submit, and its author cannot.
		if r := post(t, base, http.MethodPost, "/v1/authoring/drafts/"+draftID+"/approve", editor.AccessToken, map[string]any{"version": 1}); r.status != http.StatusBadRequest {
			t.Errorf("approve while editing: %d %s", r.status, r.body)
		}
		fr := do(t, base, http.MethodPost, "/v1/authoring/drafts/"+draftID+"/approve", strings.NewReader(`{"version": 1}`),
			"Content-Type: application/json", "Authorization: Bearer "+editor.AccessToken, "Accept-Language: fr").problem(t)
		if fr.Code != "draft_status" || !strings.Contains(fr.Detail, "« en cours de rédaction »") || !strings.Contains(fr.Detail, "« en relecture »") {
			t.Errorf("the statuses are not named in French: %+v", fr)
		}
		if r := post(t, base, http.MethodPost, "/v1/authoring/drafts/"+draftID+"/publish", editor.AccessToken, map[string]any{"version": 1}); r.status != http.StatusBadRequest {
			t.Errorf("publish while editing: %d %s", r.status, r.body)
		}
	})
	t.Cleanup(func() {
		// Nothing above changed the draft.
		after := decodeDraft(t, get(t, base, "/v1/authoring/drafts/"+draftID, "Authorization: Bearer "+editor.AccessToken), 200)
		before, _ := json.Marshal(d)
		now, _ := json.Marshal(after)
		if string(before) != string(now) {
			t.Errorf("the draft changed:\n%s\n%s", before, now)
		}
	})
}

// A version of a shipped protocol published by editors stays the latest after a restart: the
// shipped files, older than it, are not published over it again.
func TestAuthoringSurvivesRestart(t *testing.T) {
	t.Parallel()
	env := testEnv(t.TempDir(), map[string]string{"REQUEST_TIMEOUT": "90s"})
	srv := startServer(t, env, nil)
	admin := login(t, srv.base, "admin", adminPassword, "admin-restart").AccessToken
	a := authoringUser(t, srv.base, admin, "content_editor")
	b := authoringUser(t, srv.base, admin, "content_editor")
	const pid = "first-contact-safety"
	id := uuid.Must(uuid.NewV7()).String()
	d := decodeDraft(t, post(t, srv.base, http.MethodPost, "/v1/authoring/drafts", a.AccessToken, map[string]any{"id": id, "protocol_id": pid}), 201)
	d.Protocol["summary"] = "Revised by the agency's editors."
	d = decodeDraft(t, post(t, srv.base, http.MethodPut, "/v1/authoring/drafts/"+id, a.AccessToken, map[string]any{"version": d.Version, "protocol": d.Protocol}), 200)
	d = translateAll(t, srv.base, a.AccessToken, id)
	d = review(t, srv.base, a.AccessToken, id, "submit", d.Version, "", 200)
	d = review(t, srv.base, b.AccessToken, id, "approve", d.Version, "", 200)
	if r := post(t, srv.base, http.MethodPost, "/v1/authoring/drafts/"+id+"/publish", a.AccessToken, map[string]any{"version": d.Version}); r.status != http.StatusOK {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	again := startServer(t, env, nil)
	t.Cleanup(func() { _ = again.stop() })
	var versions struct{ Items []struct{ Version int } }
	get(t, again.base, "/v1/protocols/"+pid+"/versions").json(t, &versions)
	var doc struct{ Version int }
	get(t, again.base, "/v1/protocols/"+pid).json(t, &doc)
	if len(versions.Items) != 2 || doc.Version != 2 {
		t.Errorf("after a restart: %d versions, latest %d", len(versions.Items), doc.Version)
	}
}

// A protocol published with only its required locales translated lowers the protocol completeness
// /v1/locales reports for the others, and retiring it (it is no longer served) restores it.
func TestLocaleCompletenessLeavesRetiredProtocolsOut(t *testing.T) {
	t.Parallel()
	srv := startServer(t, testEnv(t.TempDir(), map[string]string{"AUTHORING_REQUIRED_LOCALES": "en", "REQUEST_TIMEOUT": "90s"}), nil)
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("stopping the server: %v", err)
		}
	})
	base := srv.base
	admin := login(t, base, "admin", adminPassword, "admin-completeness").AccessToken
	a := authoringUser(t, base, admin, "content_editor")
	b := authoringUser(t, base, admin, "content_editor")
	spanish := func() float64 {
		t.Helper()
		var list struct {
			Items []struct {
				Code         string
				Completeness struct{ Protocols float64 }
			}
		}
		get(t, base, "/v1/locales").json(t, &list)
		for _, l := range list.Items {
			if l.Code == "es" {
				return l.Completeness.Protocols
			}
		}
		t.Fatal("no es in /v1/locales")
		return 0
	}
	if got := spanish(); got != 1 {
		t.Fatalf("the shipped library is %v translated into Spanish, want 1", got)
	}
	pid := "test-partial-" + strings.ToLower(uuid.NewString()[:8])
	draftID := uuid.Must(uuid.NewV7()).String()
	d := decodeDraft(t, post(t, base, http.MethodPost, "/v1/authoring/drafts", a.AccessToken,
		map[string]any{"id": draftID, "protocol_id": pid, "protocol": sampleProtocol(pid)}), 201)
	d = review(t, base, a.AccessToken, draftID, "submit", d.Version, "English only", 200)
	d = review(t, base, b.AccessToken, draftID, "approve", d.Version, "", 200)
	if r := post(t, base, http.MethodPost, "/v1/authoring/drafts/"+draftID+"/publish", b.AccessToken, map[string]any{"version": d.Version}); r.status != http.StatusOK {
		t.Fatalf("publish with English only required: %d %s", r.status, r.body)
	}
	partial := spanish()
	if partial >= 1 {
		t.Fatalf("after publishing an untranslated protocol, Spanish protocols are %v translated", partial)
	}
	if r := post(t, base, http.MethodPost, "/v1/authoring/protocols/"+pid+"/retire", a.AccessToken, map[string]any{"reason": "Written for a test"}); r.status != http.StatusOK {
		t.Fatalf("retire: %d %s", r.status, r.body)
	}
	if got := spanish(); got != 1 {
		t.Fatalf("after retiring it, Spanish protocols are %v translated (were %v), want 1", got, partial)
	}
}
