package console

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/childsafe-protocols/caseguide/internal/access"
	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// declareAdmin adds the administrators' pages: users (list, create, roles, disable, password
// reset) and devices (list, revoke). Every action goes through identity.Service as /v1/users and
// /v1/devices do, so its checks and security events are the API's.
func (c *Console) declareAdmin() {
	get, post := fiber.MethodGet, fiber.MethodPost
	admin := access.Roles(identity.RoleAdmin)
	c.routes = append(c.routes,
		route{method: get, path: Prefix + "/users", policy: admin, h: c.users, nav: &navEntry{label: "console.nav.users", order: 50}},
		route{method: post, path: Prefix + "/users", policy: admin, h: c.createUser},
		route{method: get, path: Prefix + "/users/:id", policy: admin, h: c.userPage},
		route{method: post, path: Prefix + "/users/:id", policy: admin, h: c.updateUser},
		route{method: post, path: Prefix + "/users/:id/password", policy: admin, h: c.resetPassword},
		route{method: get, path: Prefix + "/devices", policy: admin, h: c.devices, nav: &navEntry{label: "console.nav.devices", order: 55}},
		route{method: post, path: Prefix + "/devices/:id/revoke", policy: admin, h: c.revokeDevice},
	)
}

// userRow is a user as the admin pages show it.
type userRow struct {
	identity.User
	RoleIDs []string // role message ids, in display order
}

func toUserRow(u identity.User) userRow {
	row := userRow{User: u}
	for _, role := range identity.Roles {
		if slices.Contains(u.Roles, role) {
			row.RoleIDs = append(row.RoleIDs, "console.role."+string(role))
		}
	}
	return row
}

// roleChoice is one role checkbox of a user form.
type roleChoice struct {
	Code, Label string // role code, message id
	Checked     bool
}

func roleChoices(have []identity.Role) []roleChoice {
	out := make([]roleChoice, len(identity.Roles))
	for i, role := range identity.Roles {
		out[i] = roleChoice{Code: string(role), Label: "console.role." + string(role), Checked: slices.Contains(have, role)}
	}
	return out
}

// usersData is the users page: one page of users and the create form.
type usersData struct {
	Users  []userRow
	Next   string // id to continue after ("" on the last page)
	Form   newUserForm
	Errors map[string]string // create form field -> localized message
}

type newUserForm struct {
	Username, DisplayName string
	Roles                 []roleChoice
}

// users lists the organisation's users, 50 a page (?after=<user id>), with the create form.
func (c *Console) users(r *request) error {
	return c.renderUsers(r, fiber.StatusOK, newUserForm{Roles: roleChoices(nil)}, nil, r.c.Query("notice"))
}

func (c *Console) renderUsers(r *request, status int, form newUserForm, errs map[string]string, notice string) error {
	page, err := c.deps.Identity.ListUsers(r.ctx(), r.p, utils.CopyString(r.c.Query("after")), 50)
	if err != nil {
		return err
	}
	d := usersData{Next: page.Next, Form: form, Errors: errs}
	for _, u := range page.Users {
		d.Users = append(d.Users, toUserRow(u))
	}
	switch notice {
	case "created", "updated", "password_reset", "revoked":
		notice = "console.admin.notice." + notice
	default:
		notice = ""
	}
	return c.render(r, status, "admin_users", "console.admin.users.title", d, notice)
}

// formRoles reads the checked "roles" boxes of a form.
func formRoles(r *request) []identity.Role {
	var roles []identity.Role
	for _, v := range r.c.Request().PostArgs().PeekMulti("roles") {
		roles = append(roles, identity.Role(string(v)))
	}
	return roles
}

// fieldErrors turns a validation error into messages per field; ok is false for other errors.
func (c *Console) fieldErrors(r *request, err error) (map[string]string, bool) {
	e := apperr.As(err)
	if e == nil || e.Kind != apperr.Invalid || len(e.Fields) == 0 {
		return nil, false
	}
	out := map[string]string{}
	for _, f := range e.Fields {
		field := f.Field
		if i := strings.IndexByte(field, '['); i >= 0 {
			field = field[:i]
		}
		if _, seen := out[field]; !seen {
			out[field] = c.fieldMessage(r.loc.Code, f)
		}
	}
	return out, true
}

// createUser creates a user with the chosen roles and password through identity.Service.CreateUser
// (as POST /v1/users does). The user must choose their own password at first sign-in, since the
// admin knows this one. Field errors are shown at their fields.
func (c *Console) createUser(r *request) error {
	roles := formRoles(r)
	form := newUserForm{Username: r.c.FormValue("username"), DisplayName: r.c.FormValue("display_name"), Roles: roleChoices(roles)}
	nu := identity.NewUser{Username: form.Username, DisplayName: form.DisplayName, Roles: roles,
		Password: r.c.FormValue("password"), PasswordChangeRequired: true}
	if len(roles) == 0 {
		return c.renderUsers(r, fiber.StatusBadRequest, form, map[string]string{
			"roles": c.deps.Catalog.Message(r.loc.Code, "console.admin.roles_required", nil)}, "")
	}
	_, err := c.deps.Identity.CreateUser(r.ctx(), r.p, nu)
	if errs, ok := c.fieldErrors(r, err); ok {
		return c.renderUsers(r, fiber.StatusBadRequest, form, errs, "")
	}
	if err != nil {
		return err
	}
	return r.c.Redirect(Prefix+"/users?notice=created", fiber.StatusSeeOther)
}

// userPageData is one user's page: roles and status form, password reset, and their devices.
type userPageData struct {
	User    userRow
	Roles   []roleChoice
	Devices []deviceRow
	Self    bool
	Errors  map[string]string
}

// userPage shows one user of the organisation (404 for another organisation's).
func (c *Console) userPage(r *request) error {
	return c.renderUser(r, fiber.StatusOK, nil, r.c.Query("notice"))
}

func (c *Console) renderUser(r *request, status int, errs map[string]string, notice string) error {
	id := utils.CopyString(r.c.Params("id"))
	u, err := c.deps.Identity.User(r.ctx(), r.p, id)
	if err != nil {
		return err
	}
	ds, err := c.deps.Identity.Devices(r.ctx(), r.p, true)
	if err != nil {
		return err
	}
	d := userPageData{User: toUserRow(u), Roles: roleChoices(u.Roles), Self: u.ID == r.p.UserID, Errors: errs}
	for _, dev := range ds {
		if dev.UserID == u.ID {
			d.Devices = append(d.Devices, deviceRow{Device: dev, Username: u.Username, Console: isConsoleDevice(dev)})
		}
	}
	switch notice {
	case "updated", "password_reset", "revoked":
		notice = "console.admin.notice." + notice
	default:
		notice = ""
	}
	return c.render(r, status, "admin_user", "console.admin.user.title", d, notice)
}

// updateUser changes a user's display name, roles and disabled flag at the version the form was
// shown with (identity.Service.UpdateUser, as PATCH /v1/users/{id}): a change made meanwhile is a
// conflict page, field errors are shown at their fields.
func (c *Console) updateUser(r *request) error {
	id := utils.CopyString(r.c.Params("id"))
	version, err := strconv.ParseInt(r.c.FormValue("version"), 10, 64)
	if err != nil || version < 1 {
		return apperr.Validation(apperr.FieldError{Field: "version", Code: "min", MessageID: "field.min", Data: map[string]any{"Param": "1"}})
	}
	upd := identity.UserUpdate{}
	if name := r.c.FormValue("display_name"); name != "" {
		upd.DisplayName = &name
	}
	roles := formRoles(r)
	if len(roles) == 0 {
		return c.renderUser(r, fiber.StatusBadRequest, map[string]string{
			"roles": c.deps.Catalog.Message(r.loc.Code, "console.admin.roles_required", nil)}, "")
	}
	upd.Roles = &roles
	disabled := r.c.FormValue("disabled") == "true"
	upd.Disabled = &disabled
	_, err = c.deps.Identity.UpdateUser(r.ctx(), r.p, id, upd, version)
	if errs, ok := c.fieldErrors(r, err); ok {
		return c.renderUser(r, fiber.StatusBadRequest, errs, "")
	}
	if err != nil {
		return err
	}
	return r.c.Redirect(Prefix+"/users/"+id+"?notice=updated", fiber.StatusSeeOther)
}

// resetPassword sets a new password an admin chose (identity.Service.ResetPassword, as
// POST /v1/users/{id}/password): the user's sessions end and they must choose their own password
// at the next sign-in.
func (c *Console) resetPassword(r *request) error {
	id := utils.CopyString(r.c.Params("id"))
	_, err := c.deps.Identity.ResetPassword(r.ctx(), r.p, id, r.c.FormValue("password"))
	if errs, ok := c.fieldErrors(r, err); ok {
		return c.renderUser(r, fiber.StatusBadRequest, errs, "")
	}
	if err != nil {
		return err
	}
	return r.c.Redirect(Prefix+"/users/"+id+"?notice=password_reset", fiber.StatusSeeOther)
}

// deviceRow is a device with its user's name.
type deviceRow struct {
	identity.Device
	Username string
	Console  bool // a console sign-in rather than an app installation
}

func isConsoleDevice(d identity.Device) bool {
	return strings.HasPrefix(d.ID, devicePrefix)
}

type devicesData struct {
	Devices []deviceRow
	Active  int
}

// devices lists every device of the organisation (apps and console sessions), active ones first.
func (c *Console) devices(r *request) error {
	ds, err := c.deps.Identity.Devices(r.ctx(), r.p, true)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for after := ""; ; {
		page, err := c.deps.Identity.ListUsers(r.ctx(), r.p, after, identity.MaxPageSize)
		if err != nil {
			return err
		}
		for _, u := range page.Users {
			names[u.ID] = u.Username
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	d := devicesData{}
	for _, dev := range ds {
		d.Devices = append(d.Devices, deviceRow{Device: dev, Username: names[dev.UserID], Console: isConsoleDevice(dev)})
		if dev.RevokedAt == nil {
			d.Active++
		}
	}
	slices.SortStableFunc(d.Devices, func(a, b deviceRow) int {
		if (a.RevokedAt == nil) != (b.RevokedAt == nil) {
			if a.RevokedAt == nil {
				return -1
			}
			return 1
		}
		return b.LastSeenAt.Compare(a.LastSeenAt)
	})
	notice := ""
	if r.c.Query("notice") == "revoked" {
		notice = "console.admin.notice.revoked"
	}
	return c.render(r, fiber.StatusOK, "admin_devices", "console.admin.devices.title", d, notice)
}

// revokeDevice revokes a device of the organisation (identity.Service.RevokeDevice, as
// DELETE /v1/devices/{id}): its sessions, console ones included, end at once. The form's "back"
// (a console path) says where to return.
func (c *Console) revokeDevice(r *request) error {
	if _, err := c.deps.Identity.RevokeDevice(r.ctx(), r.p, utils.CopyString(r.c.Params("id"))); err != nil {
		return err
	}
	back := Prefix + "/devices"
	if b := r.c.FormValue("back"); strings.HasPrefix(b, Prefix+"/users/") {
		back = safeNext(b)
	}
	return r.c.Redirect(back+"?notice=revoked", fiber.StatusSeeOther)
}
