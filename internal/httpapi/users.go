package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

type newUserRequest struct {
	Username    string   `json:"username" validate:"required,min=3,max=64"`
	DisplayName string   `json:"display_name" validate:"required,max=200"`
	Roles       []string `json:"roles" validate:"required,min=1,max=5,dive,role"`
	Password    string   `json:"password" validate:"required,max=256"`
}

type updateUserRequest struct {
	Version     int64     `json:"version" validate:"required,min=1"`
	DisplayName *string   `json:"display_name" validate:"omitempty,max=200"`
	Roles       *[]string `json:"roles" validate:"omitempty,min=1,max=5,dive,role"`
	Disabled    *bool     `json:"disabled"`
}

type passwordRequest struct {
	Password string `json:"password" validate:"required,max=256"`
}

type userList struct {
	Items      []userView `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

func toRoles(codes []string) []identity.Role {
	roles := make([]identity.Role, len(codes))
	for i, c := range codes {
		roles[i] = identity.Role(c)
	}
	return roles
}

// listUsers answers GET /v1/users (admins): the organisation's users, paged.
func (s *Server) listUsers(c *fiber.Ctx) error {
	q := readQuery(c, "limit", "cursor")
	lq := pageQuery{Limit: q.integer("limit", defaultPageSize)}
	after := q.cursor()
	if err := q.done(s.validate, &lq); err != nil {
		return err
	}
	page, err := s.deps.Identity.ListUsers(c.UserContext(), principal(c), after, lq.Limit)
	if err != nil {
		return err
	}
	list := userList{Items: make([]userView, len(page.Users))}
	for i, u := range page.Users {
		list.Items[i] = toUserView(u)
	}
	list.NextCursor = cursorOrNil(page.Next)
	return s.sendPrivate(c, list)
}

// createUser answers POST /v1/users (admins).
func (s *Server) createUser(c *fiber.Ctx) error {
	var req newUserRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	u, err := s.deps.Identity.CreateUser(c.UserContext(), principal(c), identity.NewUser{Username: req.Username,
		DisplayName: req.DisplayName, Roles: toRoles(req.Roles), Password: req.Password})
	if err != nil {
		return err
	}
	c.Status(fiber.StatusCreated)
	return s.sendPrivate(c, toUserView(u))
}

// updateUser answers PATCH /v1/users/{id} (admins): display name, roles, disabled, at a version.
func (s *Server) updateUser(c *fiber.Ctx) error {
	var req updateUserRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	upd := identity.UserUpdate{DisplayName: req.DisplayName, Disabled: req.Disabled}
	if req.Roles != nil {
		roles := toRoles(*req.Roles)
		upd.Roles = &roles
	}
	u, err := s.deps.Identity.UpdateUser(c.UserContext(), principal(c), c.Params("id"), upd, req.Version)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toUserView(u))
}

// resetPassword answers POST /v1/users/{id}/password (admins): sets a new password and ends the
// user's sessions.
func (s *Server) resetPassword(c *fiber.Ctx) error {
	var req passwordRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	u, err := s.deps.Identity.ResetPassword(c.UserContext(), principal(c), c.Params("id"), req.Password)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toUserView(u))
}
