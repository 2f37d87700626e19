package identity

import (
	"slices"
	"strings"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// Field limits, in characters.
const (
	minUsernameLen    = 3
	maxUsernameLen    = 64
	maxDisplayNameLen = 200
	maxDeviceNameLen  = 100
	maxDeviceIDLen    = 128
)

// fieldErrors collects field errors for one *apperr.Error Invalid.
type fieldErrors struct{ apperr.FieldErrors }

// username checks a normalized username: 3 to 64 of a-z 0-9 . _ - @, starting with a letter or digit.
func (f *fieldErrors) username(field, u string) {
	if u == "" {
		f.Add(field, "required", "field.required", nil)
		return
	}
	ok := len(u) >= minUsernameLen && len(u) <= maxUsernameLen
	for i, r := range u {
		alnum := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		if !alnum && (i == 0 || !strings.ContainsRune("._-@", r)) {
			ok = false
		}
	}
	if !ok {
		f.Add(field, "format", "field.username_format", map[string]any{"Min": minUsernameLen, "Max": maxUsernameLen})
	}
}

// deviceID checks a device id chosen by an app: 1 to 128 of A-Z a-z 0-9 . _ : -.
func (f *fieldErrors) deviceID(field, id string) {
	if id == "" {
		f.Add(field, "required", "field.required", nil)
		return
	}
	ok := len(id) <= maxDeviceIDLen
	for _, r := range id {
		if !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && !(r >= '0' && r <= '9') && !strings.ContainsRune("._:-", r) {
			ok = false
		}
	}
	if !ok {
		f.Add(field, "invalid", "field.invalid", nil)
	}
}

// roles checks a role list (not empty, known roles) and returns it without duplicates, in the order
// of Roles.
func (f *fieldErrors) roles(field string, roles []Role) []Role {
	if len(roles) == 0 {
		f.Add(field, "required", "field.required", nil)
		return nil
	}
	known := Roles
	for _, r := range roles {
		if !slices.Contains(known, r) {
			f.Add(field, "oneof", "field.oneof", map[string]any{"Values": roleList(known)})
			return nil
		}
	}
	out := make([]Role, 0, len(roles))
	for _, r := range known {
		if slices.Contains(roles, r) {
			out = append(out, r)
		}
	}
	return out
}

// asFields returns the field errors of an *apperr.Error.
func asFields(err error) []apperr.FieldError {
	if e := apperr.As(err); e != nil {
		return e.Fields
	}
	return nil
}

func errUsernameTaken() error {
	e := apperr.Validation(apperr.FieldError{Field: "username", Code: "taken", MessageID: "field.username_taken"})
	e.Err = ErrUsernameTaken
	return e
}
