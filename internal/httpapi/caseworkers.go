package httpapi

import (
	"github.com/gofiber/fiber/v2"
)

// caseworkerView is what a supervisor reads of a caseworker: whom to assign.
type caseworkerView struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
}

type caseworkerList struct {
	Items      []caseworkerView `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

// listCaseworkers answers GET /v1/caseworkers (supervisors): the enabled caseworkers of the
// organisation (id and display name), paged, through identity.Service.Caseworkers (audited).
func (s *Server) listCaseworkers(c *fiber.Ctx) error {
	q := readQuery(c, "limit", "cursor")
	lq := pageQuery{Limit: q.integer("limit", defaultPageSize)}
	after := q.cursor()
	if err := q.done(s.validate, &lq); err != nil {
		return err
	}
	page, err := s.deps.Identity.Caseworkers(c.UserContext(), principal(c), after, lq.Limit)
	if err != nil {
		return err
	}
	list := caseworkerList{Items: make([]caseworkerView, len(page.Caseworkers))}
	for i, w := range page.Caseworkers {
		list.Items[i] = caseworkerView{ID: w.ID, DisplayName: w.DisplayName}
	}
	if page.Next != "" {
		next := encodeCursor(page.Next)
		list.NextCursor = &next
	}
	return s.sendPrivate(c, list)
}
