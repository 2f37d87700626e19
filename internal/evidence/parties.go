package evidence

import (
	"context"
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Directory tells whether a user of an organisation is enabled and has a role (*identity.Service
// satisfies it).
type Directory interface {
	// HasRole reports whether user userID of organisation orgID is enabled and has role.
	HasRole(ctx context.Context, orgID, userID string, role identity.Role) (bool, error)
}

// WithDirectory makes the Service check that every party a custody event names by user id (who
// performed it, released or received the item) is an enabled caseworker or supervisor of the case's
// organisation, and returns it. (Who acquired an item is always the caller.)
func (s *Service) WithDirectory(d Directory) *Service {
	s.users = d
	return s
}

// namedParty is a party and the path of its field.
type namedParty struct {
	field string
	party Party
}

// checkParties records unknown_handler for every party named by a user id that is not an enabled
// caseworker or supervisor of orgID; the caller, who passed the case's access check, is one. It
// returns the directory's error.
func (s *Service) checkParties(ctx context.Context, fe *fieldErrors, orgID, caller string, parties ...namedParty) error {
	if s.users == nil {
		return nil
	}
	for _, np := range parties {
		field, party := np.field, np.party
		if party.UserID == "" || party.UserID == caller {
			continue
		}
		handles := false
		for _, role := range []identity.Role{identity.RoleCaseworker, identity.RoleSupervisor} {
			ok, err := s.users.HasRole(ctx, orgID, party.UserID, role)
			if err != nil {
				return fmt.Errorf("checking %s: %w", field, err)
			}
			if handles = ok; handles {
				break
			}
		}
		if !handles {
			fe.Add(field+".user_id", "unknown_user", "field.unknown_handler", nil)
		}
	}
	return nil
}
