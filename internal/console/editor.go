package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/childsafe-protocols/caseguide/internal/access"
	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// declareEditor adds the content editors' pages: the published library and, per protocol, its
// versions with their translation completeness and the differences between two versions, read
// through the authoring service as /v1/authoring/protocols does.
func (c *Console) declareEditor() {
	get := fiber.MethodGet
	editors := access.Roles(identity.RoleContentEditor)
	c.routes = append(c.routes,
		route{method: get, path: Prefix + "/library", policy: editors, h: c.library, nav: &navEntry{label: "console.nav.library", order: 40}},
		route{method: get, path: Prefix + "/library/:id", policy: editors, h: c.libraryProtocol},
		route{method: get, path: Prefix + "/drafts", policy: editors, h: c.drafts, nav: &navEntry{label: "console.nav.drafts", order: 41}},
	)
	c.declareDrafts()
}

type libraryData struct{ Protocols []protocol.Version }

// library lists the latest published version of every protocol, retired ones marked.
func (c *Console) library(r *request) error {
	return c.render(r, fiber.StatusOK, "editor_library", "console.editor.library.title", libraryData{Protocols: c.deps.Protocols.Snapshot().Latest}, "")
}

type libraryProtocolData struct {
	ID       string
	Title    string
	Retired  bool
	Versions []authoring.VersionInfo
	From, To int
	Diff     *authoring.Diff
	Errors   map[string]string
}

// libraryProtocol shows a protocol's published versions, oldest first, with the kind of change and
// translation completeness per locale; ?from=&to= adds the differences between two versions.
func (c *Console) libraryProtocol(r *request) error {
	id := utils.CopyString(r.c.Params("id"))
	vs, err := c.deps.Authoring.Versions(r.ctx(), r.p, id)
	if err != nil {
		return err
	}
	_, retired, err := c.deps.Authoring.Retirement(r.ctx(), id)
	if err != nil {
		return err
	}
	d := libraryProtocolData{ID: id, Retired: retired, Versions: vs, Errors: map[string]string{}}
	if latest, err := c.deps.Protocols.Latest(id); err == nil {
		d.Title = latest.Document.Protocol.Title
	}
	from, to := r.c.Query("from"), r.c.Query("to")
	if from == "" && to == "" {
		if n := len(vs); n > 1 {
			d.From, d.To = vs[n-2].Number, vs[n-1].Number
		}
		return c.render(r, fiber.StatusOK, "editor_protocol", "console.editor.protocol.title", d, "")
	}
	var errs []apperr.FieldError
	num := func(name, v string) int {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, apperr.FieldError{Field: name, Code: "min", MessageID: "field.min", Data: map[string]any{"Param": "1"}})
		}
		return n
	}
	d.From, d.To = num("from", from), num("to", to)
	if len(errs) > 0 {
		for _, e := range errs {
			d.Errors[e.Field] = c.fieldMessage(r.loc.Code, e)
		}
		return c.render(r, fiber.StatusBadRequest, "editor_protocol", "console.editor.protocol.title", d, "")
	}
	diff, err := c.deps.Authoring.Diff(r.ctx(), r.p, id, d.From, d.To)
	if err != nil {
		return err
	}
	d.Diff = &diff
	return c.render(r, fiber.StatusOK, "editor_protocol", "console.editor.protocol.title", d, "")
}
