package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// organisationView is an organisation of the directory as the API shows it.
type organisationView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

type organisationList struct {
	Items      []organisationView `json:"items"`
	NextCursor *string            `json:"next_cursor"`
}

// toOrganisationView converts a directory entry.
func toOrganisationView(o identity.Organisation) organisationView {
	return organisationView{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt.UTC()}
}

// listOrganisations answers GET /v1/organisations (every signed-in user): the deployment's directory.
func (s *Server) listOrganisations(c *fiber.Ctx) error {
	q := readQuery(c, "limit", "cursor")
	lq := pageQuery{Limit: q.integer("limit", defaultPageSize)}
	after := q.cursor()
	if err := q.done(s.validate, &lq); err != nil {
		return err
	}
	page, err := s.deps.Identity.ListOrganisations(c.UserContext(), principal(c), after, lq.Limit)
	if err != nil {
		return err
	}
	list := organisationList{Items: make([]organisationView, len(page.Organisations))}
	for i, o := range page.Organisations {
		list.Items[i] = toOrganisationView(o)
	}
	list.NextCursor = cursorOrNil(page.Next)
	return s.sendPrivate(c, list)
}
