package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/audit"
)

// Devices returns the caller's devices, or with all every device of the organisation (admins and
// supervisors only: ErrForbidden for other roles). It returns the store's error.
func (s *Service) Devices(ctx context.Context, p Principal, all bool) ([]Device, error) {
	userID := p.UserID
	if all {
		if !p.HasAnyRole(RoleAdmin, RoleSupervisor) {
			return nil, ErrForbidden
		}
		userID = ""
	}
	ds, err := s.store.ListDevices(ctx, p.OrgID, userID)
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	return ds, nil
}

// RevokeDevice revokes a device of the caller (admins: any device of their organisation) and all its
// sessions at once; the app on it is told to wipe its data on its next request. Revoking a revoked
// device changes nothing. It returns the device; an *apperr.Error NotFound (wrapping ErrNotFound)
// for an unknown device, another organisation's, or (non-admins) another user's; or the store's or
// recorder's error.
func (s *Service) RevokeDevice(ctx context.Context, p Principal, deviceID string) (Device, error) {
	now := s.clock()
	d, err := s.store.Device(ctx, p.OrgID, deviceID)
	if errors.Is(err, ErrNotFound) || (err == nil && d.UserID != p.UserID && !p.HasRole(RoleAdmin)) {
		return Device{}, errDeviceNotFound(deviceID)
	}
	if err != nil {
		return Device{}, fmt.Errorf("reading the device: %w", err)
	}
	wasRevoked := d.RevokedAt != nil
	defer s.auth.dropDevice(p.OrgID, deviceID)
	if !wasRevoked {
		if err := s.store.RevokeDevice(ctx, p.OrgID, deviceID, now); err != nil {
			return Device{}, fmt.Errorf("revoking the device: %w", err)
		}
	}
	if err := s.store.RevokeDeviceSessions(ctx, p.OrgID, deviceID, now); err != nil {
		return Device{}, fmt.Errorf("revoking the device's sessions: %w", err)
	}
	if !wasRevoked {
		if err := s.record(ctx, eventBy(p, ActionDeviceRevoked, ResourceDevice, deviceID, audit.OutcomeSuccess)); err != nil {
			return Device{}, err
		}
	}
	d, err = s.store.Device(ctx, p.OrgID, deviceID)
	if err != nil {
		return Device{}, fmt.Errorf("reading the device: %w", err)
	}
	return d, nil
}
