package console

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// previewData is a protocol as a caseworker would see it for a chosen situation and language.
type previewData struct {
	Back     string // the draft's or the protocol's page
	Action   string // the preview form's path
	Label    string // "draft" or "version"
	Version  int
	P        protocol.Protocol // localized and filtered
	Locale   i18n.Locale
	Locales  []i18n.Locale
	AgeBand  string
	Needs    []string
	Types    []string
	AgeBands []protocol.AgeBand
	AllNeeds []protocol.Need
	AllTypes []protocol.CaseType
	FellBack int // strings shown in the source language for want of a translation
	Steps    int
	Errors   map[string]string
	Meta     map[string]stepMeta // by step id, in the preview's language
}

// stepMeta is what the preview says about a step besides its text: who performs it and when.
type stepMeta struct{ Role, Timing string }

// draftPreview is GET /console/drafts/{id}/preview: the draft (authoring.Service.Draft) as a
// caseworker would be shown it once published, for ?age_band=, ?needs= (repeated), ?case_type=
// (repeated) and ?locale=, as GET /v1/protocols/{id} localizes and filters a version.
func (c *Console) draftPreview(r *request) error {
	id := utils.CopyString(r.c.Params("id"))
	d, err := c.deps.Authoring.Draft(r.ctx(), r.p, id)
	if err != nil {
		return err
	}
	return c.preview(r, d.Document(), previewData{Back: draftPath(id), Action: draftPath(id) + "/preview", Label: "draft"})
}

// libraryPreview is GET /console/library/{id}/preview: a published version (?version=, default the
// latest) as a caseworker sees it, with the parameters of draftPreview.
func (c *Console) libraryPreview(r *request) error {
	id := utils.CopyString(r.c.Params("id"))
	if _, err := c.deps.Authoring.Versions(r.ctx(), r.p, id); err != nil { // content editors only, 404 for an unknown protocol
		return err
	}
	v, err := c.deps.Protocols.Latest(id)
	if err != nil {
		return err
	}
	if q := r.c.Query("version"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 {
			return apperr.Validation(apperr.FieldError{Field: "version", Code: "min", MessageID: "field.min", Data: map[string]any{"Param": "1"}})
		}
		if v, err = c.deps.Protocols.Version(r.ctx(), id, n); err != nil {
			return err
		}
	}
	base := Prefix + "/library/" + id
	return c.preview(r, v.Document, previewData{Back: base, Action: base + "/preview", Label: "version", Version: v.Number})
}

// preview reads the situation and language from the query, and renders doc localized and reduced to
// the steps that apply. Unknown values are shown at their fields (400).
func (c *Console) preview(r *request, doc protocol.Document, d previewData) error {
	d.AgeBands, d.AllNeeds, d.AllTypes, d.Errors = doc.Protocol.AgeBands, protocol.Needs, doc.Protocol.CaseTypes, map[string]string{}
	for _, l := range c.deps.Catalog.Locales() {
		if slices.Contains(c.deps.Authoring.Locales(), l.Code) {
			d.Locales = append(d.Locales, l)
		}
	}
	q := r.c.Context().QueryArgs()
	oneof := func(field string, values []string) {
		d.Errors[field] = c.fieldMessage(r.loc.Code, apperr.FieldError{Field: field, Code: "oneof", MessageID: "field.oneof",
			Data: map[string]any{"Values": strings.Join(values, ", ")}})
	}
	sit := protocol.Situation{}
	if ab := string(q.Peek("age_band")); ab != "" {
		d.AgeBand = ab
		if !slices.Contains(protocol.AgeBands, protocol.AgeBand(ab)) {
			oneof("age_band", strs(protocol.AgeBands))
		}
		sit.AgeBand = protocol.AgeBand(ab)
	}
	if q.Has("situation") { // the form was sent: the needs are known (none ticked: none)
		sit.Needs = []protocol.Need{}
	}
	for _, b := range q.PeekMulti("needs") {
		n := string(b)
		d.Needs = append(d.Needs, n)
		if !slices.Contains(protocol.Needs, protocol.Need(n)) {
			oneof("needs", strs(protocol.Needs))
		}
		sit.Needs = append(sit.Needs, protocol.Need(n))
	}
	for _, b := range q.PeekMulti("case_type") {
		t := string(b)
		d.Types = append(d.Types, t)
		if !slices.Contains(protocol.CaseTypes, protocol.CaseType(t)) {
			oneof("case_type", strs(protocol.CaseTypes))
		}
		sit.CaseTypes = append(sit.CaseTypes, protocol.CaseType(t))
	}
	d.Locale = r.loc
	if code := string(q.Peek("locale")); code != "" {
		l, ok := c.deps.Catalog.Locale(code)
		if !ok || c.deps.Authoring.CheckLocale(code) != nil {
			oneof("locale", c.deps.Authoring.Locales())
			l = i18n.Locale{Code: strings.Clone(code), Dir: "ltr"}
		}
		d.Locale = l
	}
	if len(d.Errors) > 0 {
		return c.render(r, fiber.StatusBadRequest, "editor_preview", "console.editor.preview.title", d, "")
	}
	p, fellBack := doc.Localize(d.Locale.Code)
	d.P, d.FellBack = p.Filter(sit), len(fellBack)
	d.Steps = d.P.StepCount()
	d.Meta = map[string]stepMeta{}
	cat, lc := c.deps.Catalog, d.Locale.Code
	for _, ph := range d.P.Phases {
		for _, st := range ph.Steps {
			m := stepMeta{Role: cat.Message(lc, "role."+st.PerformedBy, nil)}
			if t := st.Timing; t != nil {
				m.Timing = cat.Message(lc, "timing."+t.Relation+"."+t.Anchor, map[string]any{"Duration": cat.Plural(lc, "duration."+t.Unit, t.Amount, nil)})
			}
			d.Meta[st.ID] = m
		}
	}
	return c.render(r, fiber.StatusOK, "editor_preview", "console.editor.preview.title", d, "")
}

func strs[T ~string](list []T) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = string(v)
	}
	return out
}
