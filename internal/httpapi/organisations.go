package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// organisationView is an organisation of the directory as the API shows it; service kinds carry
// their labels in the response's language.
type organisationView struct {
	ID           string      `json:"id"`
	Name         string      `json:"name"`
	ServiceKinds []codeLabel `json:"service_kinds"`
	Contact      string      `json:"contact"`
	CreatedAt    time.Time   `json:"created_at"`
	UpdatedAt    time.Time   `json:"updated_at"`
	Version      int64       `json:"version"`
}

type organisationList struct {
	Items      []organisationView `json:"items"`
	NextCursor *string            `json:"next_cursor"`
}

// newOrganisationRequest and updateOrganisationRequest are what a deployment administrator writes
// about an organisation (the same fields, spelled out in each so field errors name them plainly).
type newOrganisationRequest struct {
	ID           string   `json:"id" validate:"required,max=64"`
	Name         string   `json:"name" validate:"required,max=200"`
	ServiceKinds []string `json:"service_kinds" validate:"max=9,dive,service_kind"`
	Contact      string   `json:"contact" validate:"max=500"`
}

type updateOrganisationRequest struct {
	Version      int64    `json:"version" validate:"required,min=1"`
	Name         string   `json:"name" validate:"required,max=200"`
	ServiceKinds []string `json:"service_kinds" validate:"max=9,dive,service_kind"`
	Contact      string   `json:"contact" validate:"max=500"`
}

func directoryEntry(name string, kinds []string, contact string) identity.DirectoryEntry {
	e := identity.DirectoryEntry{Name: name, Contact: contact}
	for _, k := range kinds {
		e.ServiceKinds = append(e.ServiceKinds, identity.ServiceKind(k))
	}
	return e
}

// toOrganisationView converts a directory entry, labelling its service kinds with l.
func toOrganisationView(o identity.Organisation, l labeler) organisationView {
	return organisationView{ID: o.ID, Name: o.Name, ServiceKinds: labels(l, "service", o.ServiceKinds), Contact: o.Contact,
		CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(), Version: o.Version}
}

func (s *Server) labeler(c *fiber.Ctx) labeler { return labeler{s.deps.Catalog, s.locale(c).Code} }

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
	l := s.labeler(c)
	list := organisationList{Items: make([]organisationView, len(page.Organisations))}
	for i, o := range page.Organisations {
		list.Items[i] = toOrganisationView(o, l)
	}
	list.NextCursor = cursorOrNil(page.Next)
	return s.sendPrivate(c, list)
}

// createOrganisation answers POST /v1/organisations (deployment administrators): 201 with the entry.
func (s *Server) createOrganisation(c *fiber.Ctx) error {
	var req newOrganisationRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	o, err := s.deps.Identity.CreateOrganisation(c.UserContext(), principal(c), req.ID, directoryEntry(req.Name, req.ServiceKinds, req.Contact))
	if err != nil {
		return err
	}
	c.Status(fiber.StatusCreated)
	return s.sendPrivate(c, toOrganisationView(o, s.labeler(c)))
}

// updateOrganisation answers PATCH /v1/organisations/{id} (deployment administrators): the name,
// service kinds and contact at a version (409 with the current entry when stale).
func (s *Server) updateOrganisation(c *fiber.Ctx) error {
	var req updateOrganisationRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	o, err := s.deps.Identity.UpdateOrganisation(c.UserContext(), principal(c), c.Params("id"), directoryEntry(req.Name, req.ServiceKinds, req.Contact), req.Version)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toOrganisationView(o, s.labeler(c)))
}
