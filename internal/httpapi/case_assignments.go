package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"
)

type assignmentChangeView struct {
	At            time.Time `json:"at"`
	By            string    `json:"by"`
	CaseworkerIDs []string  `json:"caseworker_ids"`
	SupervisorID  string    `json:"supervisor_id"`
	Reason        string    `json:"reason"`
}

type assignmentHistory struct {
	Items []assignmentChangeView `json:"items"`
}

// caseAssignments answers GET /v1/cases/{id}/assignments: who was assigned to the case, since when,
// by whom and why, oldest first.
func (s *Server) caseAssignments(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	list, err := s.deps.Cases.AssignmentHistory(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	out := assignmentHistory{Items: make([]assignmentChangeView, len(list))}
	for i, a := range list {
		out.Items[i] = assignmentChangeView{At: a.At, By: a.By, CaseworkerIDs: nonNil(a.CaseworkerIDs), SupervisorID: a.SupervisorID, Reason: a.Reason}
	}
	return s.sendPrivate(c, out)
}
