package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// decodeBody reads a JSON request body into dst strictly: the content type must be JSON, the body one
// JSON object, no unknown field, no key that starts with "$" or contains "." anywhere (operator
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
	if path, ok := forbiddenKey(tree, ""); ok {
		return apperr.Validation(apperr.FieldError{Field: path, Code: "forbidden_key", MessageID: "field.forbidden_key"})
	}
	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	if err := strict.Decode(dst); err != nil {
		return malformed(err)
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
