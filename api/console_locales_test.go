package main

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/i18n"
)

// untranslated finds a message id shown instead of its text: the catalog answers a missing id with
// the id itself (console.*, the API's message namespaces, Err* problem ids).
var untranslated = regexp.MustCompile(`\b(?:console\.[a-z_]+\.?[a-z_.]*|(?:fieldname|field|evidence|authoring|problem|timing|role|interview|case_type|need|draft|kind|erasure|age_band|duration)\.[a-z_]+|Err[A-Z][A-Za-z]+)\b`)

// What pageText drops: markup (keeping the text of the attributes people read) and codes shown as codes.
var (
	readAttr = regexp.MustCompile(`\b(?:aria-label|title|alt|placeholder)="([^"]*)"`)
	markup   = regexp.MustCompile(`<[^>]*>`)
	code     = regexp.MustCompile(`<code>[^<]*</code>`) // stable codes shown as such (audit actions)
)

// pageText returns what a reader of the page meets: its text and the attributes read out or shown.
func pageText(html string) string {
	var b strings.Builder
	for _, m := range readAttr.FindAllStringSubmatch(html, -1) {
		if !strings.HasPrefix(m[1], "/") { // a form's hidden path ("next", "back")
			b.WriteString(m[1] + "\n")
		}
	}
	b.WriteString(markup.ReplaceAllString(code.ReplaceAllString(html, " "), " "))
	return b.String()
}

// Every console page (each GET route the console declares, with ids of an organisation that holds
// a case, interviews and evidence) renders in each of the six languages with <html lang dir> of
// that language and no message id shown in place of its text.
func TestConsolePagesInEveryLanguage(t *testing.T) {
	t.Parallel()
	base := server(t).base
	o := newWorklistOrg(t)
	multiName, multiPass, multi := o.org.newUser(t, "supervisor", "content_editor", "admin", "auditor")
	workerName, workerPass, _ := o.org.newUser(t, "caseworker")
	browsers := map[string]*consoleClient{
		"multi":      consoleSignIn(t, base, multiName, multiPass),
		"caseworker": consoleSignIn(t, base, workerName, workerPass),
		"anonymous":  newConsoleClient(t, base),
	}
	params := map[string]string{":case": o.assigned, ":interview": o.submitted}
	ids := map[string]string{"/console/users/:id": multi.User.ID, "/console/library/:id": "first-contact-safety"}

	type page struct{ who, path string }
	pages := []page{{"caseworker", "/console/"}, {"caseworker", "/console/cases"}}
	for _, r := range sharedRoutes {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.Path, "/console/") || strings.HasPrefix(r.Path, "/console/assets/") ||
			strings.HasPrefix(r.Path, "/console/login/oidc") || strings.HasSuffix(r.Path, ".csv") { // a download, not a page
			continue
		}
		path := r.Path
		if id, ok := ids[path]; ok {
			path = strings.Replace(path, ":id", id, 1)
		}
		for p, v := range params {
			path = strings.ReplaceAll(path, p, v)
		}
		if strings.Contains(path, ":") {
			t.Logf("%s: no example for its parameters, not walked", r.Path)
			continue
		}
		want := accessMatrix[r.Method+" "+r.Path]
		who := "multi"
		switch {
		case slices.Contains(want, "public"):
			who = "anonymous"
		case !slices.Contains(want, "signed-in") && !slices.ContainsFunc(want, func(role string) bool {
			return role == "supervisor" || role == "content_editor" || role == "admin" || role == "auditor"
		}):
			who = "caseworker"
		}
		pages = append(pages, page{who, path})
	}
	if len(pages) < 12 {
		t.Fatalf("only %d pages to walk: %v", len(pages), pages)
	}
	for _, code := range i18n.Codes() {
		dir := "ltr"
		if code == "ar" {
			dir = "rtl"
		}
		for _, p := range pages {
			t.Run(code+" "+p.path+" as "+p.who, func(t *testing.T) {
				cc := browsers[p.who]
				cc.t = t
				sep := "?"
				if strings.Contains(p.path, "?") {
					sep = "&"
				}
				r := cc.get(p.path + sep + "lang=" + code)
				if r.status != http.StatusOK {
					t.Fatalf("%d %s: %.300s", r.status, r.location(), r.body)
				}
				if !strings.Contains(r.body, `<html lang="`+code+`" dir="`+dir+`">`) {
					t.Errorf("the page is not marked as %s (%s)", code, dir)
				}
				if ids := untranslated.FindAllString(pageText(r.body), 5); len(ids) > 0 {
					t.Errorf("message ids shown instead of text: %v", ids)
				}
			})
		}
	}
}
