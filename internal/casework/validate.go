package casework

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// Field limits, in characters (or entries).
const (
	MaxReferenceLen   = 100
	MaxPseudonymLen   = 100
	MaxNotesLen       = 2000 // disability notes, step notes
	MaxReasonLen      = 500  // close/reopen and skip reasons
	MaxLanguageLen    = apperr.MaxLanguageLen
	MaxUserIDLen      = 128
	MaxCaseworkers    = 50
	MaxClientIDLen    = 128
	MaxStepIDLen      = 128
	MaxProtocolIDLen  = 128
	MaxFlagLen        = 64              // a flag kind in a list filter
	MaxClockSkew      = 5 * time.Minute // how far in the future a device time may be
	maxChildAgeYears  = 18
	maxRecordsPerRun  = 5000
	defaultPageSize   = 50
	maxPageSize       = 200
	fieldID           = "id"
	fieldCaseTypes    = "case_types"
	fieldCaseworkers  = "caseworker_ids"
	fieldSupervisorID = "supervisor_id"
)

// fieldErrors collects field errors for one *apperr.Error Invalid.
type fieldErrors struct{ apperr.FieldErrors }

// text checks an optional free-text value: at most limit characters, valid UTF-8, no control
// characters other than tab and newlines.
func (f *fieldErrors) text(field, value string, limit int) {
	if !utf8.ValidString(value) || strings.ContainsFunc(value, func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f
	}) {
		f.Add(field, "invalid", "field.invalid", nil)
		return
	}
	f.MaxLength(field, value, limit)
}

// token checks an identifier chosen elsewhere (user ids, client ids, step ids): 1 to limit of
// A-Z a-z 0-9 . _ : -.
func (f *fieldErrors) token(field, id string, limit int) bool {
	if id == "" {
		f.Add(field, "required", "field.required", nil)
		return false
	}
	ok := len(id) <= limit && !strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && !(r >= '0' && r <= '9') && !strings.ContainsRune("._:-", r)
	})
	if !ok {
		f.Add(field, "invalid", "field.invalid", nil)
	}
	return ok
}

// child checks and normalizes a child; now decides the allowed birth years.
func (f *fieldErrors) child(c Child, now time.Time) Child {
	c.Pseudonym = strings.TrimSpace(c.Pseudonym)
	if f.Required("child.pseudonym", c.Pseudonym) {
		f.text("child.pseudonym", c.Pseudonym, MaxPseudonymLen)
	}
	if c.AgeBand == "" {
		f.Add("child.age_band", "required", "field.required", nil)
	} else {
		apperr.OneOf(&f.FieldErrors, "child.age_band", c.AgeBand, protocol.AgeBands)
	}
	if c.BirthYear != 0 {
		year := now.Year()
		if c.BirthYear > year || c.BirthYear < year-maxChildAgeYears {
			f.Add("child.birth_year", "range", "field.birth_year_range", map[string]any{"Min": year - maxChildAgeYears, "Max": year})
		}
	}
	if c.Gender != "" {
		apperr.OneOf(&f.FieldErrors, "child.gender", c.Gender, Genders)
	}
	c.PreferredLanguage = f.Language("child.preferred_language", c.PreferredLanguage)
	c.Needs.InterpreterLanguage = f.Language("child.needs.interpreter_language", c.Needs.InterpreterLanguage)
	c.Needs.DisabilityNotes = strings.TrimSpace(c.Needs.DisabilityNotes)
	f.text("child.needs.disability_notes", c.Needs.DisabilityNotes, MaxNotesLen)
	return c
}

// caseTypes checks a case type list (not empty, known types) and returns it without duplicates, in
// the order of protocol.CaseTypes.
func (f *fieldErrors) caseTypes(types []protocol.CaseType) []protocol.CaseType {
	if len(types) == 0 {
		f.Add(fieldCaseTypes, "required", "field.required", nil)
		return nil
	}
	for _, t := range types {
		if !apperr.OneOf(&f.FieldErrors, fieldCaseTypes, t, protocol.CaseTypes) {
			return nil
		}
	}
	out := make([]protocol.CaseType, 0, len(types))
	for _, t := range protocol.CaseTypes {
		if slices.Contains(types, t) {
			out = append(out, t)
		}
	}
	return out
}

// userIDs checks a list of user ids and returns it without duplicates, in the given order.
func (f *fieldErrors) userIDs(field string, ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !f.token(field, id, MaxUserIDLen) {
			return nil
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > MaxCaseworkers {
		f.Add(field, "max_items", "field.max_items", map[string]any{"Max": MaxCaseworkers})
	}
	return out
}

// reason checks a required reason of at most MaxReasonLen characters and returns it trimmed.
func (f *fieldErrors) reason(field, reason string) string {
	reason = strings.TrimSpace(reason)
	if f.Required(field, reason) {
		f.text(field, reason, MaxReasonLen)
	}
	return reason
}
