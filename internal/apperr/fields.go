package apperr

import (
	"strings"
	"unicode/utf8"
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
