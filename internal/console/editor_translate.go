package console

import (
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// translationsData is the translation grid of one draft in one locale.
type translationsData struct {
	D       authoring.Draft
	Locale  i18n.Locale
	Status  authoring.LocaleStatus // Strings filtered by State
	State   string                 // "" (all), missing, stale or translated
	CanEdit bool
	Rows    []translationRow
	Errors  map[string]string // string id, or "file" -> message
	Alert   string
	Labels  map[authoring.StringState]string // each state's label, localized once per page
	Save    string                           // the save button's label
	Confirm string                           // its label on a stale row
}

// translationRow is one string of the grid: its source, its translation (as typed, after a refused
// save) and state.
type translationRow struct {
	N     int
	S     authoring.TranslationString
	Text  string
	Was   string // a stale translation's earlier source text
	Error string
}

// translationLocale checks the locale of a translation page: a translation locale (not the source
// locale); an *apperr.Error Invalid (locale) otherwise, as the API answers.
func (c *Console) translationLocale(r *request) (i18n.Locale, error) {
	code := r.c.Params("locale")
	err := c.deps.Authoring.CheckLocale(code)
	if err == nil && code == protocol.SourceLocale {
		err = apperr.Validation(apperr.FieldError{Field: "locale", Code: "oneof", MessageID: "field.oneof",
			Data: map[string]any{"Values": strings.Join(c.deps.Authoring.Locales()[1:], ", ")}})
	}
	if err != nil {
		return i18n.Locale{}, err
	}
	loc, ok := c.deps.Catalog.Locale(code)
	if !ok {
		loc = i18n.Locale{Code: strings.Clone(code), Dir: "ltr"}
	}
	return loc, nil
}

// translationsPage is GET /console/drafts/{id}/translations/{locale}: every string of the draft with
// its source, its translation and its state (missing and stale ones highlighted), each editable in
// place; ?state= keeps one state. It reads as GET /v1/authoring/drafts/{id}/translations/{locale}.
func (c *Console) translationsPage(r *request) error {
	return c.showTranslations(r, fiber.StatusOK, strings.Clone(r.c.Params("id")), nil, "")
}

func (c *Console) showTranslations(r *request, status int, id string, typed map[string]string, alert string) error {
	d, err := c.deps.Authoring.Draft(r.ctx(), r.p, id)
	if err != nil {
		return err
	}
	loc, err := c.translationLocale(r)
	if err != nil {
		return err
	}
	state := r.c.Query("state")
	switch authoring.StringState(state) {
	case "", authoring.StringMissing, authoring.StringStale, authoring.StringTranslated:
	default:
		return apperr.Validation(apperr.FieldError{Field: "state", Code: "oneof", MessageID: "field.oneof",
			Data: map[string]any{"Values": "missing, stale, translated"}})
	}
	st := c.deps.Authoring.LocaleStatus(&d, loc.Code)
	data := translationsData{D: d, Locale: loc, Status: st, State: strings.Clone(state), CanEdit: d.Status == authoring.StatusEditing,
		Errors: map[string]string{}, Alert: alert, Labels: map[authoring.StringState]string{}}
	cat := c.deps.Catalog
	for _, st := range []authoring.StringState{authoring.StringMissing, authoring.StringStale, authoring.StringTranslated} {
		data.Labels[st] = cat.Message(r.loc.Code, "console.editor.translate.state."+string(st), nil)
	}
	data.Save, data.Confirm = cat.Message(r.loc.Code, "console.editor.translate.save", nil), cat.Message(r.loc.Code, "console.editor.translate.save_current", nil)
	for n, s := range st.Strings {
		if state != "" && string(s.State) != state {
			continue
		}
		row := translationRow{N: n, S: s, Text: s.Text}
		if s.State == authoring.StringStale {
			row.Was = d.TranslatedFrom[loc.Code][s.ID]
		}
		if t, ok := typed[s.ID]; ok {
			row.Text = t
		}
		if msg, ok := typed["error:"+s.ID]; ok {
			row.Error = msg
		}
		data.Rows = append(data.Rows, row)
	}
	for k, msg := range typed {
		if sid, ok := strings.CutPrefix(k, "error:"); ok && sid != "file" && !slices.ContainsFunc(data.Rows, func(r translationRow) bool { return r.S.ID == sid }) {
			data.Alert = msg // a string the draft does not have (or the filter hides)
		}
	}
	if msg, ok := typed["error:file"]; ok {
		data.Errors["file"] = msg
	}
	data.Status.Strings = nil
	return c.render(r, status, "editor_translate", "console.editor.translate.title", data, translateNotice(r.c.Query("notice")))
}

func translateNotice(n string) string {
	if n == "saved" || n == "imported" {
		return "console.editor.translate.notice." + n
	}
	return ""
}

// translationsPath is the grid's path, with the state filter it showed.
func translationsPath(id, locale, state string) string {
	p := draftPath(id) + "/translations/" + url.PathEscape(locale)
	if state != "" {
		p += "?state=" + url.QueryEscape(state)
	}
	return p
}

// saveTranslation is POST /console/drafts/{id}/translations/{locale}: one string's translation (an
// empty text removes it) through authoring.Service.Translate at the form's version (as PATCH
// /v1/authoring/drafts/{id}/translations/{locale}). A translation saved is current: a stale one so
// confirmed or corrected is no longer stale. A refused text is shown at its row (400, nothing
// stored); a stale version or a draft no longer being edited shows the grid with the message.
func (c *Console) saveTranslation(r *request) error {
	id, sid, text := strings.Clone(r.c.Params("id")), strings.Clone(r.c.FormValue("string")), formText(r.c.FormValue("text"))
	loc, err := c.translationLocale(r)
	if err != nil {
		return err
	}
	state := strings.Clone(r.c.FormValue("state"))
	_, err = c.deps.Authoring.Translate(r.ctx(), r.p, id, formVersion(r), loc.Code, []authoring.TranslationEdit{{ID: sid, Text: text}})
	if e := apperr.As(err); e != nil && e.Kind == apperr.Invalid && len(e.Fields) > 0 {
		typed := map[string]string{sid: text}
		var msgs []string
		for _, f := range e.Fields {
			msgs = append(msgs, c.fieldMessage(r.loc.Code, f))
		}
		typed["error:"+sid] = strings.Join(msgs, " ")
		return c.showTranslations(r, fiber.StatusBadRequest, id, typed, "")
	}
	if e := apperr.As(err); e != nil && (e.Kind == apperr.Invalid || e.Kind == apperr.Conflict) {
		return c.showTranslations(r, httpapi.StatusOf(e.Kind), id, nil, c.deps.Catalog.Message(r.loc.Code, e.MessageID, c.labels(r.loc.Code, e.Data)))
	}
	if err != nil {
		return err
	}
	sep := "?"
	if state != "" {
		sep = "&"
	}
	return r.c.Redirect(translationsPath(id, loc.Code, state)+sep+"notice=saved#"+rowAnchor(sid), fiber.StatusSeeOther)
}

// rowAnchor is the id of a grid row's element, for returning to it.
func rowAnchor(stringID string) string {
	return "t-" + strings.NewReplacer(".", "-", " ", "-").Replace(stringID)
}

// exportXLIFF is GET /console/drafts/{id}/translations/{locale}/xliff: the draft's strings for the
// locale as an XLIFF 2.0 file to download (authoring.Service.ExportXLIFF, as the API's XLIFF export).
func (c *Console) exportXLIFF(r *request) error {
	loc, err := c.translationLocale(r)
	if err != nil {
		return err
	}
	id := strings.Clone(r.c.Params("id"))
	b, err := c.deps.Authoring.ExportXLIFF(r.ctx(), r.p, id, loc.Code)
	if err != nil {
		return err
	}
	d, err := c.deps.Authoring.Draft(r.ctx(), r.p, id)
	if err != nil {
		return err
	}
	r.c.Set(fiber.HeaderContentType, "application/xliff+xml")
	r.c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+d.ProtocolID+"-"+loc.Code+`.xlf"`)
	return r.c.Send(b)
}

// importXLIFF is POST /console/drafts/{id}/translations/{locale}/xliff: an XLIFF 2.0 file uploaded
// (multipart field "file") imported through authoring.Service.ImportXLIFF at the form's version, as
// the API's XLIFF import. What the service refuses is shown at the file field (400, nothing
// stored); success returns to the grid (303).
func (c *Console) importXLIFF(r *request) error {
	loc, err := c.translationLocale(r)
	if err != nil {
		return err
	}
	id := strings.Clone(r.c.Params("id"))
	fail := func(msg string) error {
		return c.showTranslations(r, fiber.StatusBadRequest, id, map[string]string{"error:file": msg}, "")
	}
	fh, err := r.c.FormFile("file")
	if err != nil {
		return fail(c.fieldMessage(r.loc.Code, apperr.FieldError{Field: "file", Code: "required", MessageID: "field.required"}))
	}
	f, err := fh.Open()
	if err != nil {
		return errorf("opening the uploaded file: %w", err)
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, authoring.MaxXLIFFBytes+1))
	if err != nil {
		return errorf("reading the uploaded file: %w", err)
	}
	if !utf8.Valid(body) {
		return fail(c.fieldMessage(r.loc.Code, apperr.FieldError{Field: "file", Code: "xliff", MessageID: "authoring.field.xliff"}))
	}
	_, err = c.deps.Authoring.ImportXLIFF(r.ctx(), r.p, id, formVersion(r), loc.Code, body)
	if e := apperr.As(err); e != nil && e.Kind == apperr.Invalid && len(e.Fields) > 0 {
		var msgs []string
		for _, f := range e.Fields {
			msgs = append(msgs, c.fieldMessage(r.loc.Code, f))
		}
		return fail(strings.Join(msgs, " "))
	}
	if e := apperr.As(err); e != nil && (e.Kind == apperr.Invalid || e.Kind == apperr.Conflict) {
		return c.showTranslations(r, httpapi.StatusOf(e.Kind), id, nil, c.deps.Catalog.Message(r.loc.Code, e.MessageID, c.labels(r.loc.Code, e.Data)))
	}
	if err != nil {
		return err
	}
	return r.c.Redirect(translationsPath(id, loc.Code, "")+"?notice=imported", fiber.StatusSeeOther)
}

// The templates' helpers of the editor's pages (added before the templates are parsed in New).
func init() {
	funcs["rowAnchor"] = rowAnchor
	funcs["has"] = func(list []string, s string) bool { return slices.Contains(list, s) }
}
