package identity

import "context"

// User returns one user of the admin's organisation (without the password hash), for the console's
// user page. It returns ErrForbidden when p is not an admin; an *apperr.Error NotFound (wrapping
// ErrNotFound) for an unknown user or another organisation's; or the store's error.
func (s *Service) User(ctx context.Context, p Principal, id string) (User, error) {
	if !p.HasRole(RoleAdmin) {
		return User{}, ErrForbidden
	}
	u, err := s.userOf(ctx, p.OrgID, id)
	if err != nil {
		return User{}, err
	}
	return u.public(), nil
}
