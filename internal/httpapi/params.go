package httpapi

import (
	"encoding/base64"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// validatorAdapter validates parsed request structs with go-playground/validator and turns its
// errors into field errors whose messages are localized by the error handler.
type validatorAdapter struct{ v *validator.Validate }

func newValidatorAdapter() *validatorAdapter {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		tag := f.Tag.Get("query")
		if tag == "" {
			tag = f.Tag.Get("json")
		}
		name, _, _ := strings.Cut(tag, ",")
		return name
	})
	registerLimits(v)
	for tag, values := range vocabularies {
		v.RegisterValidation(tag, func(fl validator.FieldLevel) bool { return slices.Contains(values, fl.Field().String()) })
	}
	return &validatorAdapter{v: v}
}

// vocabularies are the enumerations request fields are checked against, by validation tag.
var vocabularies = map[string][]string{
	"kind":      codes(protocol.Kinds),
	"age_band":  codes(protocol.AgeBands),
	"case_type": codes(protocol.CaseTypes),
	"need":      codes(protocol.Needs),
	"role":      codes(identity.Roles),
	// working across agencies (organisations, consents, referrals)
	"service_kind": codes(identity.ServiceKinds),
}

func fieldOneOf(field, values string) apperr.FieldError {
	return apperr.FieldError{Field: field, Code: "oneof", MessageID: "field.oneof", Data: map[string]any{"Values": values}}
}

func codes[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// check validates s; the returned field errors are empty when s is valid.
func (va *validatorAdapter) check(s any) []apperr.FieldError {
	err := va.v.Struct(s)
	if err == nil {
		return nil
	}
	verrs, ok := err.(validator.ValidationErrors)
	if !ok {
		return []apperr.FieldError{{Field: "request", Code: "invalid", MessageID: "field.invalid"}}
	}
	out := make([]apperr.FieldError, 0, len(verrs))
	for _, fe := range verrs {
		out = append(out, fieldError(fe))
	}
	return out
}

func fieldError(fe validator.FieldError) apperr.FieldError {
	// The namespace without the root struct names nested fields as the client does: child.age_band,
	// entries[3].kind.
	_, path, _ := strings.Cut(fe.Namespace(), ".")
	// The actual tag: a domain limit (domainLimits) is an alias of max.
	tag := fe.ActualTag()
	f := apperr.FieldError{Field: path, Code: tag}
	if values, ok := vocabularies[tag]; ok {
		f.Code, f.MessageID, f.Data = "oneof", "field.oneof", map[string]any{"Values": strings.Join(values, ", ")}
		return f
	}
	switch tag {
	case "required":
		f.MessageID = "field.required"
	case "oneof":
		f.MessageID = "field.oneof"
		f.Data = map[string]any{"Values": strings.Join(strings.Fields(fe.Param()), ", ")}
	case "min", "gte":
		f.Code, f.MessageID, f.Data = "min", "field.min", map[string]any{"Min": fe.Param()}
	case "max", "lte":
		f.Code, f.MessageID, f.Data = "max", "field.max", map[string]any{"Max": fe.Param()}
		if fe.Kind() == reflect.String {
			f.MessageID = "field.max_length"
		}
	case "uuid":
		f.MessageID = "field.uuid"
	default:
		f.Code, f.MessageID = "invalid", "field.invalid"
	}
	return f
}

// query reads the query string, refusing parameters the route does not take and repeated ones.
// lang is accepted everywhere.
type query struct {
	values url.Values
	errs   []apperr.FieldError
}

func readQuery(c *fiber.Ctx, allowed ...string) *query {
	q := &query{}
	c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) {
		if string(k) == "lang" {
			return
		}
		key := string(k)
		switch {
		case !slices.Contains(allowed, key):
			q.errs = append(q.errs, apperr.FieldError{Field: key, Code: "unknown", MessageID: "field.unknown"})
		case q.values.Has(key):
			q.errs = append(q.errs, apperr.FieldError{Field: key, Code: "repeated", MessageID: "field.repeated"})
		default:
			if q.values == nil {
				q.values = url.Values{}
			}
			q.values.Set(key, string(v))
		}
	})
	return q
}

// str returns a parameter's value ("" when absent).
func (q *query) str(name string) string { return q.values.Get(name) }

// list returns a comma-separated parameter as a list: nil when absent, empty when given empty.
func (q *query) list(name string) []string {
	if !q.values.Has(name) {
		return nil
	}
	out := []string{}
	for _, v := range strings.Split(q.values.Get(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// integer returns a whole-number parameter, def when absent; a non-number is a field error.
func (q *query) integer(name string, def int) int {
	if !q.values.Has(name) {
		return def
	}
	n, err := strconv.Atoi(q.values.Get(name))
	if err != nil {
		q.errs = append(q.errs, apperr.FieldError{Field: name, Code: "integer", MessageID: "field.integer"})
		return def
	}
	return n
}

// time returns an RFC 3339 parameter, the zero time when absent; a malformed one is a field error.
func (q *query) time(name string) time.Time {
	if !q.values.Has(name) {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, q.values.Get(name))
	if err != nil {
		q.errs = append(q.errs, apperr.FieldError{Field: name, Code: "datetime", MessageID: "field.datetime"})
	}
	return t
}

// done validates dst (a struct filled from q) and returns the combined validation error, or nil.
func (q *query) done(va *validatorAdapter, dst any) error {
	if len(q.errs) == 0 && len(q.values) == 0 {
		return nil // nothing was sent: the defaults are valid by construction
	}
	errs := q.errs
	for _, fe := range va.check(dst) {
		if !slices.ContainsFunc(errs, func(e apperr.FieldError) bool { return e.Field == fe.Field }) {
			errs = append(errs, fe)
		}
	}
	if len(errs) > 0 {
		return apperr.Validation(errs...)
	}
	return nil
}

// cursor returns the key the "cursor" parameter carries ("" when absent); a cursor this service did
// not issue is a field error.
func (q *query) cursor() string {
	cur := q.str("cursor")
	if cur == "" {
		return ""
	}
	key, ok := decodeCursor(cur)
	if !ok {
		q.errs = append(q.errs, apperr.FieldError{Field: "cursor", Code: "cursor", MessageID: "field.cursor"})
	}
	return key
}

// allQuery reads the query of a list whose only parameter is all ("true" or "false"; absent:
// false), refusing others. It returns the validation error of a bad query.
func (s *Server) allQuery(c *fiber.Ctx) (bool, error) {
	q := readQuery(c, "all")
	if v := q.str("all"); v != "" && v != "true" && v != "false" {
		q.errs = append(q.errs, fieldOneOf("all", "true, false"))
	}
	if err := q.done(s.validate, &struct{}{}); err != nil {
		return false, err
	}
	return q.str("all") == "true", nil
}

// pageQuery is the page size of a list that takes no other query parameter.
type pageQuery struct {
	Limit int `query:"limit" validate:"min=1,max=200"`
}

// cursorOrNil returns the cursor of the page after key, or nil (next_cursor null: the last page)
// when key is empty.
func cursorOrNil(key string) *string {
	if key == "" {
		return nil
	}
	c := encodeCursor(key)
	return &c
}

// seqCursorOrNil is cursorOrNil for a page after sequence number n: nil when n is not positive.
func seqCursorOrNil(n int64) *string {
	if n <= 0 {
		return nil
	}
	return cursorOrNil(strconv.FormatInt(n, 10))
}

// encodeCursor and decodeCursor make an opaque cursor from the last key of a page.
func encodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte("k:" + key)) }

func decodeCursor(cursor string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !strings.HasPrefix(string(b), "k:") {
		return "", false
	}
	return string(b[2:]), true
}
