package apperr

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/language"
)

// FieldErrors collects the field errors of one request; Err turns them into one Invalid error.
type FieldErrors []FieldError

// Add records a field error with its stable code, message id and template data.
func (f *FieldErrors) Add(field, code, messageID string, data map[string]any) {
	*f = append(*f, FieldError{Field: field, Code: code, MessageID: messageID, Data: data})
}

// Err returns nil when nothing was recorded, else a Validation error carrying every field error.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return Validation(f...)
}

// Required records "required" for a value that is empty or blank, and reports whether it was present.
func (f *FieldErrors) Required(field, value string) bool {
	if strings.TrimSpace(value) == "" {
		f.Add(field, "required", "field.required", nil)
		return false
	}
	return true
}

// MaxLength records "max_length" for a value of more than limit characters.
func (f *FieldErrors) MaxLength(field, value string, limit int) {
	if utf8.RuneCountInString(value) > limit {
		f.Add(field, "max_length", "field.max_length", map[string]any{"Max": limit})
	}
}

// UUID records "required" for an empty id and "uuid" for one that is not a UUID in canonical
// lower-case form or is the nil UUID (client-generated ids), and reports whether id is valid.
func (f *FieldErrors) UUID(field, id string) bool {
	if id == "" {
		f.Add(field, "required", "field.required", nil)
		return false
	}
	if !ValidUUID(id) {
		f.Add(field, "uuid", "field.uuid", nil)
		return false
	}
	return true
}

// ValidUUID reports whether id is a UUID in canonical lower-case form and not the nil UUID: the form
// of every record id (clients generate them offline), so an id that is not one names no record.
func ValidUUID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id && u != uuid.Nil
}

// OneOf records "oneof" (with the allowed values, comma-separated, as the message's Values) when
// value is not among values, and reports whether it is.
func OneOf[T ~string](f *FieldErrors, field string, value T, values []T) bool {
	if slices.Contains(values, value) {
		return true
	}
	list := make([]string, len(values))
	for i, v := range values {
		list[i] = string(v)
	}
	f.Add(field, "oneof", "field.oneof", map[string]any{"Values": strings.Join(list, ", ")})
	return false
}

// MaxLanguageLen is the longest BCP 47 language tag accepted, in characters.
const MaxLanguageLen = 35

// Language checks an optional BCP 47 tag: it records "max_length" beyond MaxLanguageLen characters and "bcp47"
// for a tag that does not parse, and returns the tag's canonical form ("" for a blank one).
func (f *FieldErrors) Language(field, tag string) string {
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return ""
	}
	if len(tag) > MaxLanguageLen {
		f.Add(field, "max_length", "field.max_length", map[string]any{"Max": MaxLanguageLen})
		return tag
	}
	t, err := language.Parse(tag)
	if err != nil {
		f.Add(field, "bcp47", "field.bcp47", nil)
		return tag
	}
	return t.String()
}
