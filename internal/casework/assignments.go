package casework

import (
	"context"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// AssignmentHistory returns the assignment history of case id, oldest first. Errors: as Get's.
func (s *Service) AssignmentHistory(ctx context.Context, p identity.Principal, id string) ([]AssignmentChange, error) {
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return c.Assignments, nil
}
