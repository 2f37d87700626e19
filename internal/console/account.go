package console

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// homeData is the home page: what the user's roles let them do.
type homeData struct {
	DisplayName string
	Roles       []string // role message ids
	Sections    []navItem
	Extra       any // the role's own home content (the supervisor's worklist)
}

// home is the console's start page: the user's roles and the sections they may open. A supervisor
// sees the worklist there (supervisor.go).
func (c *Console) home(r *request) error {
	if r.p.HasRole(identity.RoleSupervisor) && c.homeExtra != nil {
		return c.homeExtra(r)
	}
	u, err := c.deps.Identity.Me(r.ctx(), r.p)
	if err != nil {
		return err
	}
	d := homeData{DisplayName: u.DisplayName}
	for _, role := range identity.Roles {
		if slices.Contains(u.Roles, role) {
			d.Roles = append(d.Roles, "console.role."+string(role))
		}
	}
	for _, n := range c.navFor(r) {
		if n.Href != Prefix+"/" {
			d.Sections = append(d.Sections, n)
		}
	}
	notice := ""
	if r.c.Query("notice") == "password_changed" {
		notice = "console.password.changed"
	}
	return c.render(r, fiber.StatusOK, "home", "console.home.title", d, notice)
}

type passwordData struct {
	Required bool
	Errors   map[string]string // field -> localized message
}

// passwordPage shows the change-password form (the only page a user who must change it reaches).
func (c *Console) passwordPage(r *request) error {
	return c.render(r, fiber.StatusOK, "password", "console.password.title", passwordData{Required: r.p.PasswordChangeRequired}, "")
}

// changePassword changes the user's password through identity.Service.ChangePassword (as
// POST /v1/me/password does); field errors are shown at their fields.
func (c *Console) changePassword(r *request) error {
	current, next, confirm := r.c.FormValue("current_password"), r.c.FormValue("new_password"), r.c.FormValue("confirm_password")
	d := passwordData{Required: r.p.PasswordChangeRequired, Errors: map[string]string{}}
	if next != confirm {
		d.Errors["confirm_password"] = c.deps.Catalog.Message(r.loc.Code, "console.password.mismatch", nil)
		return c.render(r, fiber.StatusBadRequest, "password", "console.password.title", d, "")
	}
	_, err := c.deps.Identity.ChangePassword(r.ctx(), r.p, current, next)
	if e := apperr.As(err); e != nil && e.Kind == apperr.Invalid && len(e.Fields) > 0 {
		for _, f := range e.Fields {
			if _, seen := d.Errors[f.Field]; !seen {
				d.Errors[f.Field] = c.fieldMessage(r.loc.Code, f)
			}
		}
		return c.render(r, fiber.StatusBadRequest, "password", "console.password.title", d, "")
	}
	if err != nil {
		return err
	}
	return r.c.Redirect(Prefix+"/?notice=password_changed", fiber.StatusSeeOther)
}

// setLanguage stores the user's console language ("" follows the browser again) and goes back to
// the page the picker was on.
func (c *Console) setLanguage(r *request) error {
	code := r.c.FormValue("lang")
	if _, ok := c.deps.Catalog.Locale(code); !ok && code != "" {
		return apperr.Validation(apperr.FieldError{Field: "lang", Code: "oneof", MessageID: "console.language.unknown"})
	}
	if _, err := c.deps.Identity.SetLocale(r.ctx(), r.p, code); err != nil {
		return err
	}
	return r.c.Redirect(safeNext(r.c.FormValue("back")), fiber.StatusSeeOther)
}
