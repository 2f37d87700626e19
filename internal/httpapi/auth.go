package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

type loginRequest struct {
	Username   string `json:"username" validate:"required,max=64"`
	Password   string `json:"password" validate:"required,max=256"`
	DeviceID   string `json:"device_id" validate:"required,max=128,printascii"`
	DeviceName string `json:"device_name" validate:"max=100"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token" validate:"required,max=512"`
}

type tokensView struct {
	TokenType        string    `json:"token_type"`
	AccessToken      string    `json:"access_token"`
	ExpiresIn        int       `json:"expires_in"`
	AccessExpiresAt  time.Time `json:"access_expires_at"`
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
	SessionID        string    `json:"session_id"`
	// PasswordChangeRequired: every route but /v1/me, /v1/me/password and logout answers 403
	// password_change_required until the user chose their own password.
	PasswordChangeRequired bool     `json:"password_change_required"`
	User                   userView `json:"user"`
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password" validate:"required,max=1024"`
	NewPassword     string `json:"new_password" validate:"required,max=1024"`
}

type userView struct {
	ID          string   `json:"id"`
	OrgID       string   `json:"org_id"`
	Username    string   `json:"username"`
	DisplayName string   `json:"display_name"`
	Roles       []string `json:"roles"`
	Disabled    bool     `json:"disabled"`
	// PasswordChangeRequired: the user must choose their own password before anything else.
	PasswordChangeRequired bool      `json:"password_change_required"`
	CreatedAt              time.Time `json:"created_at"`
	UpdatedAt              time.Time `json:"updated_at"`
	Version                int64     `json:"version"`
}

type deviceView struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastSeenAt time.Time  `json:"last_seen_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func toUserView(u identity.User) userView {
	roles := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = string(r)
	}
	return userView{ID: u.ID, OrgID: u.OrgID, Username: u.Username, DisplayName: u.DisplayName, Roles: roles,
		Disabled: u.Disabled, PasswordChangeRequired: u.PasswordChangeRequired, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Version: u.Version}
}

func toDeviceView(d identity.Device) deviceView {
	return deviceView{ID: d.ID, UserID: d.UserID, Name: d.Name, CreatedAt: d.CreatedAt, LastSeenAt: d.LastSeenAt, RevokedAt: d.RevokedAt}
}

// sendTokens answers a sign-in or a refresh (or its error) with the tokens and the signed-in user.
func (s *Server) sendTokens(c *fiber.Ctx, t identity.Tokens, p identity.Principal, err error) error {
	if err != nil {
		return err
	}
	u, err := s.deps.Identity.Me(c.UserContext(), p)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, tokensView{TokenType: "Bearer", AccessToken: t.AccessToken, ExpiresIn: int(time.Until(t.AccessExpiresAt).Round(time.Second).Seconds()),
		AccessExpiresAt: t.AccessExpiresAt, RefreshToken: t.RefreshToken, RefreshExpiresAt: t.RefreshExpiresAt,
		SessionID: t.SessionID, PasswordChangeRequired: u.PasswordChangeRequired, User: toUserView(u)})
}

// login answers POST /v1/auth/login.
func (s *Server) login(c *fiber.Ctx) error {
	var req loginRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	t, p, err := s.deps.Identity.Login(c.UserContext(), identity.LoginRequest{Username: req.Username, Password: req.Password,
		DeviceID: req.DeviceID, DeviceName: req.DeviceName, ClientAddr: s.clientAddr(c)})
	return s.sendTokens(c, t, p, err)
}

// refresh answers POST /v1/auth/refresh: rotates the refresh token.
func (s *Server) refresh(c *fiber.Ctx) error {
	var req refreshRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	t, p, err := s.deps.Identity.Refresh(c.UserContext(), req.RefreshToken)
	return s.sendTokens(c, t, p, err)
}

// logout answers POST /v1/auth/logout: ends the caller's session.
func (s *Server) logout(c *fiber.Ctx) error {
	if err := s.deps.Identity.Logout(c.UserContext(), principal(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type meView struct {
	User     userView `json:"user"`
	DeviceID string   `json:"device_id"`
}

// me answers GET /v1/me.
func (s *Server) me(c *fiber.Ctx) error {
	p := principal(c)
	u, err := s.deps.Identity.Me(c.UserContext(), p)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, meView{User: toUserView(u), DeviceID: p.DeviceID})
}

type deviceList struct {
	Items []deviceView `json:"items"`
}

// listDevices answers GET /v1/devices: the caller's devices, or with all=true (admins and
// supervisors) every device of the organisation.
func (s *Server) listDevices(c *fiber.Ctx) error {
	all, err := s.allQuery(c)
	if err != nil {
		return err
	}
	ds, err := s.deps.Identity.Devices(c.UserContext(), principal(c), all)
	if err != nil {
		return err
	}
	list := deviceList{Items: make([]deviceView, len(ds))}
	for i, d := range ds {
		list.Items[i] = toDeviceView(d)
	}
	return s.sendPrivate(c, list)
}

// revokeDevice answers DELETE /v1/devices/{id}: its sessions end at once.
func (s *Server) revokeDevice(c *fiber.Ctx) error {
	d, err := s.deps.Identity.RevokeDevice(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toDeviceView(d))
}

// changePassword answers POST /v1/me/password: the caller replaces their own password (which also
// lifts a required password change).
func (s *Server) changePassword(c *fiber.Ctx) error {
	var req changePasswordRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	p := principal(c)
	u, err := s.deps.Identity.ChangePassword(c.UserContext(), p, req.CurrentPassword, req.NewPassword)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, meView{User: toUserView(u), DeviceID: p.DeviceID})
}
