package console

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/childsafe-protocols/caseguide/internal/access"
	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// declareDrafts adds the content editors' draft pages: create, edit (source text per string, or the
// whole structure as protocol.yaml), translate, review, publish and preview. Every one calls the
// authoring service as /v1/authoring/drafts does, with the same principal.
func (c *Console) declareDrafts() {
	get, post := fiber.MethodGet, fiber.MethodPost
	editors := access.Roles(identity.RoleContentEditor)
	c.routes = append(c.routes,
		route{method: get, path: Prefix + "/drafts/new", policy: editors, h: c.newDraftPage},
		route{method: post, path: Prefix + "/drafts", policy: editors, h: c.createDraft},
		route{method: get, path: Prefix + "/drafts/:id", policy: editors, h: c.draftPage},
		route{method: post, path: Prefix + "/drafts/:id/text", policy: editors, h: c.saveDraftText},
		route{method: post, path: Prefix + "/drafts/:id/source", policy: editors, h: c.saveDraftSource},
		route{method: post, path: Prefix + "/drafts/:id/submit", policy: editors, h: c.reviewDraft(c.deps.Authoring.Submit, "submitted")},
		route{method: post, path: Prefix + "/drafts/:id/approve", policy: editors, h: c.reviewDraft(c.deps.Authoring.Approve, "approved")},
		route{method: post, path: Prefix + "/drafts/:id/return", policy: editors, h: c.reviewDraft(c.deps.Authoring.Return, "returned")},
		route{method: post, path: Prefix + "/drafts/:id/publish", policy: editors, h: c.publishDraft},
		route{method: get, path: Prefix + "/drafts/:id/translations/:locale", policy: editors, h: c.translationsPage},
		route{method: post, path: Prefix + "/drafts/:id/translations/:locale", policy: editors, h: c.saveTranslation},
		route{method: get, path: Prefix + "/drafts/:id/translations/:locale/xliff", policy: editors, h: c.exportXLIFF},
		route{method: post, path: Prefix + "/drafts/:id/translations/:locale/xliff", policy: editors, h: c.importXLIFF},
		route{method: get, path: Prefix + "/drafts/:id/preview", policy: editors, h: c.draftPreview},
		route{method: get, path: Prefix + "/library/:id/preview", policy: editors, h: c.libraryPreview},
	)
}

// newDraftData is the create-a-draft page: the published protocols to start from, and the form of a
// new protocol as typed, with its field errors.
type newDraftData struct {
	ID         string // a fresh draft id: a repeated form creates nothing twice
	Protocols  []protocol.Version
	Mode       string // "published" or "new": which form the errors belong to
	ProtocolID string
	Source     string
	Errors     map[string]string
	Problems   []string // field errors of the source, in order
}

// newProtocolSkeleton is the protocol.yaml a new protocol's form starts with.
const newProtocolSkeleton = `id: new-protocol
kind: support
title: New protocol
summary: What this protocol is for.
notice: Sample content; your agency replaces it with its own approved protocol.
case_types: [grooming]
age_bands: [under_6, 6_to_11, 12_to_17]
references:
  - id: first-reference
    title: The public guidance this protocol draws on
phases:
  - id: first-phase
    title: First phase
    steps:
      - id: first-step
        title: First step
        body: What to do, and why.
        required: true
        performed_by: caseworker
`

// newDraftPage shows the two ways to start a draft: from a published protocol's latest version
// (?protocol_id= chooses it), or a new protocol written as protocol.yaml.
func (c *Console) newDraftPage(r *request) error {
	return c.showNewDraft(r, fiber.StatusOK, newDraftData{Source: newProtocolSkeleton, ProtocolID: strings.Clone(r.c.Query("protocol_id"))})
}

func (c *Console) showNewDraft(r *request, status int, d newDraftData) error {
	d.ID = uuid.Must(uuid.NewV7()).String()
	for _, v := range c.deps.Protocols.Snapshot().Latest {
		if !v.Retired {
			d.Protocols = append(d.Protocols, v)
		}
	}
	return c.render(r, status, "editor_draft_new", "console.editor.new.title", d, "")
}

// createDraft is POST /console/drafts: authoring.Service.CreateDraft (as POST /v1/authoring/drafts)
// from a published protocol (mode=published) or from protocol.yaml (mode=new). Its id comes from the
// form, so a repeated post answers the draft already made. Field errors show the form again (400,
// nothing stored); success goes to the draft (303).
func (c *Console) createDraft(r *request) error {
	mode, pid := r.c.FormValue("mode"), strings.TrimSpace(r.c.FormValue("protocol_id"))
	id := strings.Clone(r.c.FormValue("id"))
	nd := authoring.NewDraft{ID: id, ProtocolID: strings.Clone(pid)}
	d := newDraftData{Mode: "published", ProtocolID: nd.ProtocolID, Source: newProtocolSkeleton, Errors: map[string]string{}}
	if mode == "new" {
		d.Mode, d.Source = "new", formText(r.c.FormValue("source"))
		raw, err := yamlToJSON(d.Source)
		if err != nil {
			d.Errors["source"] = c.deps.Catalog.Message(r.loc.Code, "console.editor.source.not_yaml", map[string]any{"Problem": err.Error()})
			return c.showNewDraft(r, fiber.StatusBadRequest, d)
		}
		nd.Source = raw
	}
	dr, _, err := c.deps.Authoring.CreateDraft(r.ctx(), r.p, nd)
	if e := apperr.As(err); e != nil && e.Kind == apperr.Invalid && len(e.Fields) > 0 {
		for _, f := range e.Fields {
			msg := c.fieldMessage(r.loc.Code, f)
			switch {
			case strings.HasPrefix(f.Field, "protocol"):
				if f.Field == "protocol_id" {
					d.Errors["protocol_id"] = msg
					continue
				}
				d.Problems = append(d.Problems, msg)
				d.Errors["source"] = c.deps.Catalog.Message(r.loc.Code, "console.editor.source.problems", nil)
			default:
				d.Errors[f.Field] = msg
			}
		}
		return c.showNewDraft(r, fiber.StatusBadRequest, d)
	}
	if err != nil {
		return err
	}
	return r.c.Redirect(draftPath(dr.ID), fiber.StatusSeeOther)
}

// draftData is the draft page.
type draftData struct {
	D            authoring.Draft
	Title        string
	Names        map[string]string // display names of authors and reviewers
	Locales      []authoring.LocaleStatus
	Strings      []sourceField
	Source       string   // protocol.yaml
	Problems     []string // field errors of the structure form
	TextProblems []string // field errors of the text form
	Errors       map[string]string
	Alert        string // a refused action's message
	Comment      string
	IsAuthor     bool
	CanEdit      bool
	CanSubmit    bool
	CanReview    bool // approve (in review) and return (in review or approved)
	CanReturn    bool
	CanPublish   bool
}

// sourceField is one source string as a form field: its path in protocol.yaml (the form field's
// name), its string id, its field name as the validator names it, and the text as typed.
type sourceField struct {
	N         int
	ID, Path  string
	Field     string
	Text      string
	Multiline bool
	Error     string
}

// draftPage is GET /console/drafts/{id}: the draft (authoring.Service.Draft, as GET
// /v1/authoring/drafts/{id}) with its status, review history, translation status per locale, the
// forms that edit its source text and structure, and the review actions the user may take.
func (c *Console) draftPage(r *request) error {
	return c.showDraft(r, fiber.StatusOK, strings.Clone(r.c.Params("id")), draftForm{})
}

// draftForm is what a refused post sends back to the draft page: the values as typed and the
// messages.
type draftForm struct {
	texts    map[string]string // path -> text, from the text form
	source   *string           // the structure form's protocol.yaml
	errors   map[string]string // form field or validator field name -> message
	problems []string
	alert    string
	comment  string
}

func (c *Console) showDraft(r *request, status int, id string, f draftForm) error {
	d, err := c.deps.Authoring.Draft(r.ctx(), r.p, id)
	if err != nil {
		return err
	}
	data := draftData{D: d, Title: d.Protocol.Title, Errors: f.errors, Problems: f.problems, Alert: f.alert, Comment: f.comment}
	if f.texts != nil {
		data.Problems, data.TextProblems = nil, f.problems
	}
	if data.Errors == nil {
		data.Errors = map[string]string{}
	}
	ids := append([]string{}, d.Authors...)
	for _, rv := range d.Review {
		ids = append(ids, rv.By)
	}
	if data.Names, err = c.deps.Identity.DisplayNames(r.ctx(), r.p.OrgID, ids); err != nil {
		return err
	}
	for _, l := range c.deps.Authoring.Locales() {
		st := c.deps.Authoring.LocaleStatus(&d, l)
		st.Strings = nil
		data.Locales = append(data.Locales, st)
	}
	tree := protocolTree(d.Protocol)
	for n, s := range d.Protocol.Strings() {
		sf := sourceField{N: n, ID: s.ID, Path: s.Path, Field: authoring.FieldName(tree, s.Path), Text: s.Text}
		if t, ok := f.texts[s.Path]; ok {
			sf.Text = t
		}
		sf.Multiline = strings.Contains(sf.Text, "\n") || len(sf.Text) > 120 || strings.HasSuffix(s.Path, "/body") || strings.HasSuffix(s.Path, "summary") || s.Path == "/notice"
		sf.Error = data.Errors[sf.Field]
		data.Strings = append(data.Strings, sf)
	}
	data.Source = sourceYAML(d)
	if f.source != nil {
		data.Source = *f.source
	}
	data.IsAuthor = slices.Contains(d.Authors, r.p.UserID)
	data.CanEdit = d.Status == authoring.StatusEditing
	data.CanSubmit = data.CanEdit
	data.CanReview = d.Status == authoring.StatusInReview && !data.IsAuthor
	data.CanReturn = (d.Status == authoring.StatusInReview || d.Status == authoring.StatusApproved) && !data.IsAuthor
	data.CanPublish = d.Status == authoring.StatusApproved
	notice := ""
	if n := r.c.Query("notice"); draftNotices[n] {
		notice = "console.editor.draft.notice." + n
	}
	return c.render(r, status, "editor_draft", "console.editor.draft.title", data, notice)
}

// draftNotices are the notices a draft page shows after a successful post (?notice=).
var draftNotices = map[string]bool{"saved": true, "submitted": true, "approved": true, "returned": true, "published": true}

// saveDraftText is POST /console/drafts/{id}/text: the source strings as edited (one form field per
// string, named by its path in protocol.yaml) applied to the draft's structure and saved through
// authoring.Service.SaveSource at the form's version (as PUT /v1/authoring/drafts/{id}). Validator
// messages are shown at their fields (400, nothing stored).
func (c *Console) saveDraftText(r *request) error {
	id := strings.Clone(r.c.Params("id"))
	d, err := c.deps.Authoring.Draft(r.ctx(), r.p, id)
	if err != nil {
		return err
	}
	tree := protocolTree(d.Protocol)
	texts := map[string]string{}
	for _, s := range d.Protocol.Strings() {
		if r.c.Request().PostArgs().Has("s:" + s.Path) {
			texts[s.Path] = formText(r.c.FormValue("s:" + s.Path))
			setPointer(tree, s.Path, texts[s.Path])
		}
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		return errorf("encoding draft %s: %w", id, err)
	}
	return c.saveSource(r, id, raw, draftForm{texts: texts})
}

// saveDraftSource is POST /console/drafts/{id}/source: the whole protocol.yaml (structure and
// source text) saved through authoring.Service.SaveSource. Validator messages are listed at the
// field (400, nothing stored).
func (c *Console) saveDraftSource(r *request) error {
	id := strings.Clone(r.c.Params("id"))
	src := formText(r.c.FormValue("source"))
	f := draftForm{source: &src}
	raw, err := yamlToJSON(src)
	if err != nil {
		f.errors = map[string]string{"source": c.deps.Catalog.Message(r.loc.Code, "console.editor.source.not_yaml", map[string]any{"Problem": err.Error()})}
		return c.showDraft(r, fiber.StatusBadRequest, id, f)
	}
	return c.saveSource(r, id, raw, f)
}

// saveSource saves raw as the draft's source at the form's version; a refusal shows the draft page
// again with f's values and the messages.
func (c *Console) saveSource(r *request, id string, raw json.RawMessage, f draftForm) error {
	_, err := c.deps.Authoring.SaveSource(r.ctx(), r.p, id, formVersion(r), raw)
	if e := apperr.As(err); e != nil && e.Kind == apperr.Invalid && len(e.Fields) > 0 {
		f.errors = map[string]string{}
		for _, fe := range e.Fields {
			msg := c.fieldMessage(r.loc.Code, fe)
			f.errors[fe.Field] = msg
			f.problems = append(f.problems, msg)
		}
		if f.source != nil {
			f.errors["source"] = c.deps.Catalog.Message(r.loc.Code, "console.editor.source.problems", nil)
		}
		return c.showDraft(r, fiber.StatusBadRequest, id, f)
	}
	if err != nil {
		return c.refused(r, id, err, f)
	}
	return r.c.Redirect(draftPath(id)+"?notice=saved", fiber.StatusSeeOther)
}

// refused shows the draft page with the message of a refused action (stale version 409, wrong
// status 400, own draft 403...), or returns err when it is not such a refusal.
func (c *Console) refused(r *request, id string, err error, f draftForm) error {
	e := apperr.As(err)
	if e == nil || (e.Kind != apperr.Invalid && e.Kind != apperr.Conflict && e.Kind != apperr.Forbidden) {
		return err
	}
	f.alert = c.deps.Catalog.Message(r.loc.Code, e.MessageID, c.labels(r.loc.Code, e.Data))
	if e.Kind == apperr.Conflict {
		f.texts, f.source = nil, nil // the page shows the draft as it now is
	}
	return c.showDraft(r, httpapi.StatusOf(e.Kind), id, f)
}

// sourceYAML is the draft's protocol.yaml, as the protocols/ folder holds it.
func sourceYAML(d authoring.Draft) string {
	doc := d.Document()
	files, err := doc.Files()
	if err != nil || len(files) == 0 {
		return ""
	}
	return string(files[0].Content)
}

// draftPath is the draft page's path.
func draftPath(id string) string { return Prefix + "/drafts/" + url.PathEscape(id) }

// formVersion reads the form's version field; a missing or bad one is -1, which no draft has, so the
// service answers that the draft changed.
func formVersion(r *request) int64 {
	v, err := strconv.ParseInt(r.c.FormValue("version"), 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// formText copies a form value, with the CRLF line ends browsers send turned into LF.
func formText(v string) string { return strings.Clone(strings.ReplaceAll(v, "\r\n", "\n")) }

// yamlToJSON decodes protocol.yaml as typed into JSON for the validator.
func yamlToJSON(src string) (json.RawMessage, error) {
	var tree any
	if err := yaml.Unmarshal([]byte(src), &tree); err != nil {
		return nil, err
	}
	return json.Marshal(tree)
}

// protocolTree is p as decoded JSON (maps and slices), the form validator field names are read from.
func protocolTree(p protocol.Protocol) any {
	var tree any
	b, _ := json.Marshal(p)
	_ = json.Unmarshal(b, &tree)
	return tree
}

// setPointer sets the string at JSON pointer ptr in tree; it reports whether the pointer led to a
// value.
func setPointer(tree any, ptr, value string) bool {
	segs := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	node := tree
	for i, seg := range segs {
		last := i == len(segs)-1
		switch n := node.(type) {
		case map[string]any:
			if last {
				if _, ok := n[seg]; !ok {
					return false
				}
				n[seg] = value
				return true
			}
			node = n[seg]
		case []any:
			k, err := strconv.Atoi(seg)
			if err != nil || k < 0 || k >= len(n) {
				return false
			}
			if last {
				n[k] = value
				return true
			}
			node = n[k]
		default:
			return false
		}
	}
	return false
}
