package identity

import (
	"slices"
	"strings"
	"unicode/utf8"

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
type fieldErrors []apperr.FieldError

func (f *fieldErrors) add(field, code, messageID string, data map[string]any) {
	*f = append(*f, apperr.FieldError{Field: field, Code: code, MessageID: messageID, Data: data})
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return apperr.Validation(f...)
}

func (f *fieldErrors) required(field, value string) {
	if strings.TrimSpace(value) == "" {
		f.add(field, "required", "field.required", nil)
	}
}

func (f *fieldErrors) maxLength(field, value string, limit int) {
	if utf8.RuneCountInString(value) > limit {
		f.add(field, "max_length", "field.max_length", map[string]any{"Max": limit})
	}
}

// username checks a normalized username: 3 to 64 of a-z 0-9 . _ - @, starting with a letter or digit.
func (f *fieldErrors) username(field, u string) {
	if u == "" {
		f.add(field, "required", "field.required", nil)
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
		f.add(field, "format", "field.username_format", map[string]any{"Min": minUsernameLen, "Max": maxUsernameLen})
	}
}

// deviceID checks a device id chosen by an app: 1 to 128 of A-Z a-z 0-9 . _ : -.
func (f *fieldErrors) deviceID(field, id string) {
	if id == "" {
		f.add(field, "required", "field.required", nil)
		return
	}
	ok := len(id) <= maxDeviceIDLen
	for _, r := range id {
		if !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && !(r >= '0' && r <= '9') && !strings.ContainsRune("._:-", r) {
			ok = false
		}
	}
	if !ok {
		f.add(field, "invalid", "field.invalid", nil)
	}
}

// roles checks a role list (not empty, known roles) and returns it without duplicates, in the order
// of Roles.
func (f *fieldErrors) roles(field string, roles []Role) []Role {
	if len(roles) == 0 {
		f.add(field, "required", "field.required", nil)
		return nil
	}
	known := Roles
	for _, r := range roles {
		if !slices.Contains(known, r) {
			f.add(field, "oneof", "field.oneof", map[string]any{"Values": roleList(known)})
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
