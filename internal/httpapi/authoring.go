package httpapi

import (
	"context"
	"encoding/json"
	"mime"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// authoringRoutes registers the content editors' workflow: drafts, translations, review, publishing,
// versions, differences, usage, files and retirement. Content editors only.
func (s *Server) authoringRoutes(app *fiber.App) {
	if s.deps.Authoring == nil {
		return
	}
	editors := rolesOnly(identity.RoleContentEditor)
	get, post := fiber.MethodGet, fiber.MethodPost
	s.handle(app, get, "/v1/authoring/drafts", editors, s.listDrafts)
	s.handle(app, post, "/v1/authoring/drafts", editors, s.createDraft)
	s.handle(app, post, "/v1/authoring/drafts/import", editors, s.importDraft)
	s.handle(app, get, "/v1/authoring/drafts/:id", editors, s.getDraft)
	s.handle(app, fiber.MethodPut, "/v1/authoring/drafts/:id", editors, s.saveDraft)
	s.handle(app, get, "/v1/authoring/drafts/:id/files", editors, s.draftFiles)
	s.handle(app, get, "/v1/authoring/drafts/:id/diff", editors, s.draftDiff)
	s.handle(app, get, "/v1/authoring/drafts/:id/translations/:locale", editors, s.getTranslations)
	s.handle(app, fiber.MethodPatch, "/v1/authoring/drafts/:id/translations/:locale", editors, s.patchTranslations)
	s.handle(app, get, "/v1/authoring/drafts/:id/translations/:locale/xliff", editors, s.exportXLIFF)
	s.handle(app, fiber.MethodPut, "/v1/authoring/drafts/:id/translations/:locale/xliff", editors, s.importXLIFF)
	s.handle(app, post, "/v1/authoring/drafts/:id/submit", editors, s.reviewAction(s.deps.Authoring.Submit))
	s.handle(app, post, "/v1/authoring/drafts/:id/approve", editors, s.reviewAction(s.deps.Authoring.Approve))
	s.handle(app, post, "/v1/authoring/drafts/:id/return", editors, s.reviewAction(s.deps.Authoring.Return))
	s.handle(app, post, "/v1/authoring/drafts/:id/publish", editors, s.publishDraft)
	s.handle(app, get, "/v1/authoring/protocols/:id/versions", editors, s.authoringVersions)
	s.handle(app, get, "/v1/authoring/protocols/:id/versions/:version/files", editors, s.versionFiles)
	s.handle(app, get, "/v1/authoring/protocols/:id/diff", editors, s.diffVersions)
	s.handle(app, get, "/v1/authoring/protocols/:id/usage", editors, s.protocolUsage)
	s.handle(app, post, "/v1/authoring/protocols/:id/retire", editors, s.retireProtocol)
}

type newDraftRequest struct {
	ID         string          `json:"id" validate:"required,uuid"`
	ProtocolID string          `json:"protocol_id" validate:"required,max_authoring_protocol_id"`
	Protocol   json.RawMessage `json:"protocol"`
}

type saveDraftRequest struct {
	Version  int64           `json:"version" validate:"required,min=1"`
	Protocol json.RawMessage `json:"protocol" validate:"required"`
}

type draftReviewRequest struct {
	Version int64  `json:"version" validate:"required,min=1"`
	Comment string `json:"comment" validate:"max_authoring_comment"`
}

type publishRequest struct {
	Version int64 `json:"version" validate:"required,min=1"`
}

type translationEditBody struct {
	ID   string `json:"id" validate:"required,max=300"`
	Text string `json:"text"`
}

type translationsRequest struct {
	Version int64                 `json:"version" validate:"required,min=1"`
	Strings []translationEditBody `json:"strings" validate:"required,min=1,max=2000,dive"`
}

type fileBody struct {
	Path    string `json:"path" validate:"required,max=200"`
	Content string `json:"content" validate:"max=1000000"`
}

type importRequest struct {
	ID         string     `json:"id" validate:"required,uuid"`
	ProtocolID string     `json:"protocol_id" validate:"required,max_authoring_protocol_id"`
	Files      []fileBody `json:"files" validate:"required,min=1,max_authoring_files,dive"`
}

type retireRequest struct {
	Reason string `json:"reason" validate:"required,max_authoring_comment"`
}

type localeSummaryView struct {
	Locale     string `json:"locale"`
	Total      int    `json:"total"`
	Translated int    `json:"translated"`
	Missing    int    `json:"missing"`
	Stale      int    `json:"stale"`
	Required   bool   `json:"required"`
	Complete   bool   `json:"complete"`
}

type reviewEntryView struct {
	Action  string    `json:"action"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Comment string    `json:"comment"`
}

type draftView struct {
	ID               string              `json:"id"`
	ProtocolID       string              `json:"protocol_id"`
	BaseVersion      int                 `json:"base_version"`
	Status           string              `json:"status"`
	Change           string              `json:"change"`
	ContentHash      string              `json:"content_hash"`
	Protocol         protocol.Protocol   `json:"protocol"`
	Translations     []localeSummaryView `json:"translations"`
	Authors          []string            `json:"authors"`
	Review           []reviewEntryView   `json:"review"`
	PublishedVersion *int                `json:"published_version"`
	CreatedAt        time.Time           `json:"created_at"`
	UpdatedAt        time.Time           `json:"updated_at"`
	CreatedBy        string              `json:"created_by"`
	Version          int64               `json:"version"`
}

type draftSummaryView struct {
	ID               string    `json:"id"`
	ProtocolID       string    `json:"protocol_id"`
	Title            string    `json:"title"`
	BaseVersion      int       `json:"base_version"`
	Status           string    `json:"status"`
	PublishedVersion *int      `json:"published_version"`
	UpdatedAt        time.Time `json:"updated_at"`
	Version          int64     `json:"version"`
}

func toLocaleSummaryView(st authoring.LocaleStatus) localeSummaryView {
	return localeSummaryView{Locale: st.Locale, Total: st.Total, Translated: st.Translated, Missing: st.Missing,
		Stale: st.Stale, Required: st.Required, Complete: st.Complete()}
}

// toDraftView renders a draft; change is its change from the base version ("" when not known).
func (s *Server) toDraftView(d authoring.Draft, change authoring.Change) draftView {
	doc := d.Document()
	hash, _ := doc.ContentHash()
	v := draftView{ID: d.ID, ProtocolID: d.ProtocolID, BaseVersion: d.BaseVersion, Status: string(d.Status), Change: string(change),
		ContentHash: hash, Protocol: d.Protocol, Authors: nonNil(d.Authors), Review: []reviewEntryView{},
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, CreatedBy: d.CreatedBy, Version: d.Version}
	if v.Change == "" {
		v.Change = string(authoring.ChangeNone)
	}
	for _, l := range s.deps.Authoring.Locales() {
		v.Translations = append(v.Translations, toLocaleSummaryView(s.deps.Authoring.LocaleStatus(&d, l)))
	}
	for _, r := range d.Review {
		v.Review = append(v.Review, reviewEntryView(r))
	}
	if d.PublishedVersion > 0 {
		n := d.PublishedVersion
		v.PublishedVersion = &n
	}
	return v
}

// sendDraft answers a draft with its change from its base version.
func (s *Server) sendDraft(c *fiber.Ctx, d authoring.Draft) error {
	change, err := s.deps.Authoring.ChangeFromBase(c.UserContext(), &d)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, s.toDraftView(d, change))
}

// listDrafts answers GET /v1/authoring/drafts: every draft, or those of one protocol.
func (s *Server) listDrafts(c *fiber.Ctx) error {
	q := readQuery(c, "protocol_id", "limit", "cursor")
	lq := struct {
		ProtocolID string `query:"protocol_id" validate:"max_authoring_protocol_id"`
		Limit      int    `query:"limit" validate:"min=1,max=200"`
	}{ProtocolID: q.str("protocol_id"), Limit: q.integer("limit", defaultPageSize)}
	after := q.cursor()
	if err := q.done(s.validate, &lq); err != nil {
		return err
	}
	page, err := s.deps.Authoring.ListDrafts(c.UserContext(), principal(c), lq.ProtocolID, after, lq.Limit)
	if err != nil {
		return err
	}
	ds := page.Drafts
	out := struct {
		Items      []draftSummaryView `json:"items"`
		NextCursor *string            `json:"next_cursor"`
	}{Items: make([]draftSummaryView, len(ds))}
	out.NextCursor = cursorOrNil(page.Next)
	for i, d := range ds {
		out.Items[i] = draftSummaryView{ID: d.ID, ProtocolID: d.ProtocolID, Title: d.Protocol.Title, BaseVersion: d.BaseVersion,
			Status: string(d.Status), UpdatedAt: d.UpdatedAt, Version: d.Version}
		if d.PublishedVersion > 0 {
			n := d.PublishedVersion
			out.Items[i].PublishedVersion = &n
		}
	}
	return s.sendPrivate(c, out)
}

// createDraft answers POST /v1/authoring/drafts: 201 with the new draft, 200 when the same create is
// repeated.
func (s *Server) createDraft(c *fiber.Ctx) error {
	var req newDraftRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	var src json.RawMessage
	if len(req.Protocol) > 0 && string(req.Protocol) != "null" {
		src = req.Protocol
	}
	d, created, err := s.deps.Authoring.CreateDraft(c.UserContext(), principal(c), authoring.NewDraft{ID: req.ID, ProtocolID: req.ProtocolID, Source: src})
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return s.sendDraft(c, d)
}

// importDraft answers POST /v1/authoring/drafts/import: a draft from protocols/ files.
func (s *Server) importDraft(c *fiber.Ctx) error {
	var req importRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	files := make([]protocol.File, len(req.Files))
	for i, f := range req.Files {
		files[i] = protocol.File{Path: f.Path, Content: []byte(f.Content)}
	}
	d, created, err := s.deps.Authoring.ImportFiles(c.UserContext(), principal(c), req.ID, req.ProtocolID, files)
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return s.sendDraft(c, d)
}

// getDraft answers GET /v1/authoring/drafts/{id}.
func (s *Server) getDraft(c *fiber.Ctx) error {
	d, err := s.deps.Authoring.Draft(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return s.sendDraft(c, d)
}

// saveDraft answers PUT /v1/authoring/drafts/{id}: the structure and source text at a version.
func (s *Server) saveDraft(c *fiber.Ctx) error {
	var req saveDraftRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	d, err := s.deps.Authoring.SaveSource(c.UserContext(), principal(c), c.Params("id"), req.Version, req.Protocol)
	if err != nil {
		return err
	}
	return s.sendDraft(c, d)
}

type fileView struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

type filesView struct {
	ProtocolID string     `json:"protocol_id"`
	Version    *int       `json:"version"`
	DraftID    *string    `json:"draft_id"`
	Files      []fileView `json:"files"`
}

func toFileViews(fs []protocol.File) []fileView {
	out := make([]fileView, len(fs))
	for i, f := range fs {
		out[i] = fileView{Path: f.Path, Content: string(f.Content)}
	}
	return out
}

// draftFiles answers GET /v1/authoring/drafts/{id}/files: the draft in the protocols/ file format.
func (s *Server) draftFiles(c *fiber.Ctx) error {
	id := c.Params("id")
	fs, err := s.deps.Authoring.ExportDraft(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	d, err := s.deps.Authoring.Draft(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, filesView{ProtocolID: d.ProtocolID, DraftID: &d.ID, Files: toFileViews(fs)})
}

// versionFiles answers GET /v1/authoring/protocols/{id}/versions/{version}/files.
func (s *Server) versionFiles(c *fiber.Ctx) error {
	number, err := versionParam(c, "version")
	if err != nil {
		return err
	}
	fs, err := s.deps.Authoring.ExportVersion(c.UserContext(), principal(c), c.Params("id"), number)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, filesView{ProtocolID: c.Params("id"), Version: &number, Files: toFileViews(fs)})
}

func versionParam(c *fiber.Ctx, name string) (int, error) {
	n, err := strconv.Atoi(c.Params(name))
	if err != nil {
		return 0, apperr.Validation(apperr.FieldError{Field: name, Code: "integer", MessageID: "field.integer"})
	}
	if n < 1 {
		return 0, apperr.Validation(apperr.FieldError{Field: name, Code: "min", MessageID: "field.min", Data: map[string]any{"Min": 1}})
	}
	return n, nil
}

type translationStringView struct {
	ID     string `json:"id"`
	Path   string `json:"path"`
	Source string `json:"source"`
	Text   string `json:"text"`
	State  string `json:"state"`
}

type translationsView struct {
	DraftID string `json:"draft_id"`
	Version int64  `json:"version"`
	localeSummaryView
	Strings []translationStringView `json:"strings"`
}

// getTranslations answers GET /v1/authoring/drafts/{id}/translations/{locale}: every string with its
// state (missing, stale, translated); ?state= keeps one state.
func (s *Server) getTranslations(c *fiber.Ctx) error {
	q := readQuery(c, "state")
	sq := struct {
		State string `query:"state" validate:"omitempty,oneof=missing stale translated"`
	}{State: q.str("state")}
	if err := q.done(s.validate, &sq); err != nil {
		return err
	}
	locale := c.Params("locale")
	d, err := s.deps.Authoring.Draft(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.deps.Authoring.CheckLocale(locale); err != nil {
		return err
	}
	st := s.deps.Authoring.LocaleStatus(&d, locale)
	v := translationsView{DraftID: d.ID, Version: d.Version, localeSummaryView: toLocaleSummaryView(st), Strings: []translationStringView{}}
	for _, str := range st.Strings {
		if sq.State != "" && string(str.State) != sq.State {
			continue
		}
		v.Strings = append(v.Strings, translationStringView{ID: str.ID, Path: str.Path, Source: str.Source, Text: str.Text, State: string(str.State)})
	}
	return s.sendPrivate(c, v)
}

// patchTranslations answers PATCH /v1/authoring/drafts/{id}/translations/{locale}.
func (s *Server) patchTranslations(c *fiber.Ctx) error {
	var req translationsRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	edits := make([]authoring.TranslationEdit, len(req.Strings))
	for i, e := range req.Strings {
		edits[i] = authoring.TranslationEdit{ID: e.ID, Text: e.Text}
	}
	d, err := s.deps.Authoring.Translate(c.UserContext(), principal(c), c.Params("id"), req.Version, c.Params("locale"), edits)
	if err != nil {
		return err
	}
	return s.sendDraft(c, d)
}

const xliffMIME = "application/xliff+xml"

// exportXLIFF answers GET /v1/authoring/drafts/{id}/translations/{locale}/xliff.
func (s *Server) exportXLIFF(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	b, err := s.deps.Authoring.ExportXLIFF(c.UserContext(), principal(c), c.Params("id"), c.Params("locale"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, xliffMIME)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+c.Params("locale")+`.xlf"`)
	return c.Send(b)
}

// importXLIFF answers PUT /v1/authoring/drafts/{id}/translations/{locale}/xliff?version=N: an XLIFF
// 2.0 document (Content-Type application/xliff+xml or application/xml) at the draft's version.
func (s *Server) importXLIFF(c *fiber.Ctx) error {
	q := readQuery(c, "version")
	vq := struct {
		Version int `query:"version" validate:"required,min=1"`
	}{Version: q.integer("version", 0)}
	if !q.values.Has("version") {
		q.errs = append(q.errs, apperr.FieldError{Field: "version", Code: "required", MessageID: "field.required"})
	}
	if err := q.done(s.validate, &vq); err != nil {
		return err
	}
	mt, _, _ := mime.ParseMediaType(string(c.Request().Header.ContentType()))
	if mt != xliffMIME && mt != fiber.MIMEApplicationXML && mt != fiber.MIMETextXML {
		return apperr.Validation(apperr.FieldError{Field: "body", Code: "content_type", MessageID: "authoring.field.xliff_content_type"})
	}
	if !utf8.Valid(c.Body()) {
		return errInvalidUTF8("body")
	}
	d, err := s.deps.Authoring.ImportXLIFF(c.UserContext(), principal(c), c.Params("id"), int64(vq.Version), c.Params("locale"), c.Body())
	if err != nil {
		return err
	}
	return s.sendDraft(c, d)
}

type reviewFunc func(ctx context.Context, p identity.Principal, id string, version int64, comment string) (authoring.Draft, error)

// reviewAction answers POST /v1/authoring/drafts/{id}/submit, /approve and /return.
func (s *Server) reviewAction(act reviewFunc) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req draftReviewRequest
		if err := s.decodeBody(c, &req); err != nil {
			return err
		}
		d, err := act(c.UserContext(), principal(c), c.Params("id"), req.Version, req.Comment)
		if err != nil {
			return err
		}
		return s.sendDraft(c, d)
	}
}

type publishView struct {
	Draft   draftView `json:"draft"`
	Version int       `json:"version"`
	Created bool      `json:"created"`
}

// publishDraft answers POST /v1/authoring/drafts/{id}/publish.
func (s *Server) publishDraft(c *fiber.Ctx) error {
	var req publishRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	res, err := s.deps.Authoring.Publish(c.UserContext(), principal(c), c.Params("id"), req.Version)
	if err != nil {
		return err
	}
	change, err := s.deps.Authoring.ChangeFromBase(c.UserContext(), &res.Draft)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, publishView{Draft: s.toDraftView(res.Draft, change), Version: res.Version, Created: res.Created})
}

type authoringVersionView struct {
	Version      int                 `json:"version"`
	Label        string              `json:"label"`
	Change       string              `json:"change"`
	ContentHash  string              `json:"content_hash"`
	PublishedAt  time.Time           `json:"published_at"`
	Completeness []localeSummaryView `json:"completeness"`
}

// authoringVersions answers GET /v1/authoring/protocols/{id}/versions.
func (s *Server) authoringVersions(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	vs, err := s.deps.Authoring.Versions(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	r, retired, err := s.deps.Authoring.Retirement(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	out := struct {
		ProtocolID string                 `json:"protocol_id"`
		RetiredAt  *time.Time             `json:"retired_at"`
		Items      []authoringVersionView `json:"items"`
	}{ProtocolID: c.Params("id"), Items: make([]authoringVersionView, len(vs))}
	if retired {
		out.RetiredAt = &r.RetiredAt
	}
	for i, v := range vs {
		out.Items[i] = authoringVersionView{Version: v.Number, Label: v.Label, Change: string(v.Change), ContentHash: v.ContentHash,
			PublishedAt: v.PublishedAt, Completeness: make([]localeSummaryView, len(v.Completeness))}
		for j, st := range v.Completeness {
			out.Items[i].Completeness[j] = toLocaleSummaryView(st)
		}
	}
	return s.sendPrivate(c, out)
}

type stepRefView struct {
	PhaseID string `json:"phase_id"`
	StepID  string `json:"step_id"`
}

type stepChangeView struct {
	PhaseID string   `json:"phase_id"`
	StepID  string   `json:"step_id"`
	Fields  []string `json:"fields"`
}

type phaseChangeView struct {
	PhaseID string   `json:"phase_id"`
	Fields  []string `json:"fields"`
}

type diffView struct {
	ProtocolID    string            `json:"protocol_id"`
	From          int               `json:"from"`
	To            int               `json:"to"`
	Change        string            `json:"change"`
	Fields        []string          `json:"fields"`
	PhasesAdded   []string          `json:"phases_added"`
	PhasesRemoved []string          `json:"phases_removed"`
	PhasesChanged []phaseChangeView `json:"phases_changed"`
	StepsAdded    []stepRefView     `json:"steps_added"`
	StepsRemoved  []stepRefView     `json:"steps_removed"`
	StepsChanged  []stepChangeView  `json:"steps_changed"`
}

// diffVersions answers GET /v1/authoring/protocols/{id}/diff?from=&to=.
func (s *Server) diffVersions(c *fiber.Ctx) error {
	q := readQuery(c, "from", "to")
	dq := struct {
		From int `query:"from" validate:"required,min=1"`
		To   int `query:"to" validate:"required,min=1"`
	}{From: q.integer("from", 0), To: q.integer("to", 0)}
	for _, name := range []string{"from", "to"} {
		if !q.values.Has(name) {
			q.errs = append(q.errs, apperr.FieldError{Field: name, Code: "required", MessageID: "field.required"})
		}
	}
	if err := q.done(s.validate, &dq); err != nil {
		return err
	}
	d, err := s.deps.Authoring.Diff(c.UserContext(), principal(c), c.Params("id"), dq.From, dq.To)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toDiffView(d))
}

// draftDiff answers GET /v1/authoring/drafts/{id}/diff: the draft against its base version.
func (s *Server) draftDiff(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	d, err := s.deps.Authoring.DraftDiff(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toDiffView(d))
}

func toDiffView(d authoring.Diff) diffView {
	v := diffView{ProtocolID: d.ProtocolID, From: d.From, To: d.To, Change: string(d.Change), Fields: nonNil(d.Fields),
		PhasesAdded: nonNil(d.PhasesAdded), PhasesRemoved: nonNil(d.PhasesRemoved), PhasesChanged: []phaseChangeView{},
		StepsAdded: []stepRefView{}, StepsRemoved: []stepRefView{}, StepsChanged: []stepChangeView{}}
	for _, p := range d.PhasesChanged {
		v.PhasesChanged = append(v.PhasesChanged, phaseChangeView{PhaseID: p.PhaseID, Fields: p.Fields})
	}
	for _, r := range d.StepsAdded {
		v.StepsAdded = append(v.StepsAdded, stepRefView(r))
	}
	for _, r := range d.StepsRemoved {
		v.StepsRemoved = append(v.StepsRemoved, stepRefView(r))
	}
	for _, sc := range d.StepsChanged {
		v.StepsChanged = append(v.StepsChanged, stepChangeView{PhaseID: sc.PhaseID, StepID: sc.StepID, Fields: sc.Fields})
	}
	return v
}

// protocolUsage answers GET /v1/authoring/protocols/{id}/usage: per version, the runs of the
// caller's organisation pinned to it and the open cases they belong to (counts only).
func (s *Server) protocolUsage(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	us, err := s.deps.Authoring.Usage(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	type usageView struct {
		Version   int `json:"version"`
		OpenCases int `json:"open_cases"`
		Runs      int `json:"runs"`
	}
	out := struct {
		ProtocolID string      `json:"protocol_id"`
		Items      []usageView `json:"items"`
	}{ProtocolID: c.Params("id"), Items: make([]usageView, len(us))}
	for i, u := range us {
		out.Items[i] = usageView(u)
	}
	return s.sendPrivate(c, out)
}

// retireProtocol answers POST /v1/authoring/protocols/{id}/retire.
func (s *Server) retireProtocol(c *fiber.Ctx) error {
	var req retireRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	r, err := s.deps.Authoring.Retire(c.UserContext(), principal(c), c.Params("id"), req.Reason)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, struct {
		ProtocolID string    `json:"protocol_id"`
		RetiredAt  time.Time `json:"retired_at"`
		RetiredBy  string    `json:"retired_by"`
		Reason     string    `json:"reason"`
	}{r.ProtocolID, r.RetiredAt, r.RetiredBy, r.Reason})
}
