package httpapi

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

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
