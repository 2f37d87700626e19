package httpapi

import (
	"mime"
	"strconv"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// The files of drafts and published versions, and their translations (edited as strings or exchanged
// as XLIFF).

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
