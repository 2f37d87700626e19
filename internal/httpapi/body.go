package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// decodeBody reads a JSON request body into dst strictly: the content type must be JSON, the body one
// JSON object, every string valid UTF-8 (the decoder would turn other bytes into U+FFFD), no unknown
// field, no key that starts with "$" or contains "." anywhere (operator
// injection), values of the right types; then dst is validated. Every problem is a field error.
func (s *Server) decodeBody(c *fiber.Ctx, dst any) error {
	if mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType)); err != nil || mt != fiber.MIMEApplicationJSON {
		return apperr.Validation(apperr.FieldError{Field: "body", Code: "content_type", MessageID: "field.content_type"})
	}
	raw := c.Body()
	var tree any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return malformed(err)
	}
	if dec.More() || trailingData(dec) {
		return apperr.Validation(apperr.FieldError{Field: "body", Code: "malformed", MessageID: "field.malformed"})
	}
	if _, ok := tree.(map[string]any); !ok {
		return apperr.Validation(apperr.FieldError{Field: "body", Code: "not_object", MessageID: "field.not_object"})
	}
	if path, ok := invalidUTF8(raw); ok {
		return errInvalidUTF8(path)
	}
	if path, ok := forbiddenKey(tree, ""); ok {
		return apperr.Validation(apperr.FieldError{Field: path, Code: "forbidden_key", MessageID: "field.forbidden_key"})
	}
	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	if err := strict.Decode(dst); err != nil {
		return malformedIn(err, tree, dst)
	}
	if errs := s.validate.check(dst); len(errs) > 0 {
		return apperr.Validation(errs...)
	}
	return nil
}

func trailingData(dec *json.Decoder) bool {
	_, err := dec.Token()
	return !errors.Is(err, io.EOF)
}

// forbiddenKey finds the first object key, at any depth, that could act as a query operator or path.
func forbiddenKey(v any, path string) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if strings.HasPrefix(k, "$") || strings.Contains(k, ".") {
				return p, true
			}
			if found, ok := forbiddenKey(child, p); ok {
				return found, true
			}
		}
	case []any:
		for i, child := range v {
			if found, ok := forbiddenKey(child, fmt.Sprintf("%s[%d]", path, i)); ok {
				return found, true
			}
		}
	}
	return "", false
}

// malformed turns a JSON decoding error into a field error.
func malformed(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return apperr.Validation(apperr.FieldError{Field: field, Code: "type", MessageID: "field.type", Data: map[string]any{"Type": typeErr.Type.String()}})
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return apperr.Validation(apperr.FieldError{Field: strings.Trim(name, `"`), Code: "unknown", MessageID: "field.unknown_field"})
	}
	return apperr.Validation(apperr.FieldError{Field: "body", Code: "malformed", MessageID: "field.malformed"})
}

// errInvalidUTF8 is the field error of a string, or of a body, that is not valid UTF-8 text.
func errInvalidUTF8(field string) error {
	return apperr.Validation(apperr.FieldError{Field: field, Code: "utf8", MessageID: "field.utf8"})
}

// invalidUTF8 finds the first string of a well-formed JSON document that holds bytes which are not
// UTF-8 and returns its path as field errors name it (child.needs.disability_notes, prompts[1].words;
// an object key that is not UTF-8 is named by its own path). It reads the tokens again only when the
// document is not valid UTF-8 as a whole.
func invalidUTF8(raw []byte) (string, bool) {
	if utf8.Valid(raw) {
		return "", false
	}
	type frame struct {
		object  bool
		key     string
		index   int
		wantKey bool // in an object, the next string is a key
	}
	var stack []*frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case f.object && f.key != "":
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			case !f.object:
				fmt.Fprintf(&b, "[%d]", f.index)
			}
		}
		if b.Len() == 0 {
			return "body"
		}
		return b.String()
	}
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return "body", true // not reached for a document that decoded
		}
		end := dec.InputOffset()
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				stack = append(stack, &frame{object: v == '{', wantKey: v == '{'})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
			continue
		case string:
			isKey := top != nil && top.object && top.wantKey
			if isKey {
				top.key, top.wantKey = v, false
			}
			if !utf8.Valid(raw[start:end]) {
				return path(), true
			}
			if !isKey {
				valueDone()
			}
			continue
		}
		valueDone()
	}
}

// malformedIn is malformed for a document (decoded as tree) that failed to decode into dst: a value
// that a field's own decoder refused (a time that is not RFC 3339, which encoding/json reports with no
// field) is named by its path, with the form expected.
func malformedIn(err error, tree, dst any) error {
	var perr *time.ParseError
	if errors.As(err, &perr) {
		if path, ok := badTime(reflect.TypeOf(dst), tree, ""); ok {
			return apperr.Validation(apperr.FieldError{Field: path, Code: "datetime", MessageID: "field.datetime"})
		}
	}
	return malformed(err)
}

var timeType = reflect.TypeFor[time.Time]()

// badTime finds, in tree (a decoded JSON value) read as type t, the first string meant for a
// time.Time that is not an RFC 3339 time, and returns its path.
func badTime(t reflect.Type, tree any, path string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	join := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	switch {
	case t == timeType:
		if s, ok := tree.(string); ok {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				return path, true
			}
		}
	case t.Kind() == reflect.Struct:
		obj, ok := tree.(map[string]any)
		if !ok {
			return "", false
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if f.Anonymous && name == "" {
				if p, ok := badTime(f.Type, tree, path); ok {
					return p, true
				}
				continue
			}
			if name == "" {
				name = f.Name
			}
			if v, ok := obj[name]; ok {
				if p, ok := badTime(f.Type, v, join(name)); ok {
					return p, true
				}
			}
		}
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		list, ok := tree.([]any)
		if !ok {
			return "", false
		}
		for i, v := range list {
			if p, ok := badTime(t.Elem(), v, fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	case t.Kind() == reflect.Map:
		obj, ok := tree.(map[string]any)
		if !ok {
			return "", false
		}
		for k, v := range obj {
			if p, ok := badTime(t.Elem(), v, join(k)); ok {
				return p, true
			}
		}
	}
	return "", false
}
