package console

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/childsafe-protocols/caseguide/internal/authoring"
)

type draftsData struct {
	Drafts []authoring.Draft
	Next   string
}

// drafts lists the drafts (oldest first, 50 a page, ?after= the next page's cursor) through
// authoring.Service.ListDrafts, as GET /v1/authoring/drafts does; a bad cursor answers its
// localized 400 page.
func (c *Console) drafts(r *request) error {
	page, err := c.deps.Authoring.ListDrafts(r.ctx(), r.p, "", utils.CopyString(r.c.Query("after")), 50)
	if err != nil {
		return err
	}
	return c.render(r, fiber.StatusOK, "editor_drafts", "console.editor.drafts.title", draftsData{Drafts: page.Drafts, Next: page.Next}, "")
}
