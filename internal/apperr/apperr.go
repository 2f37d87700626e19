// Package apperr defines the service's typed errors: every error a client may see is created here once,
// with a kind (which decides the HTTP status) and a go-i18n message id (which decides the localized text).
// The HTTP layer maps them to problem+json responses in one place.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the client; the HTTP layer maps each kind to one status code.
type Kind int

// The kinds of error. Internal is the zero value so an unclassified error never leaks as a 4xx.
const (
	Internal Kind = iota
	Invalid
	NotFound
	NotAcceptable
	TooLarge
	MethodNotAllowed
	Conflict
	Unavailable
	Unauthorized
	Forbidden
	TooManyRequests
	Unprocessable // well-formed but refused as a whole, such as an Idempotency-Key reused for another request
)

// String returns the stable code used in problem documents for the kind.
func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not_found"
	case NotAcceptable:
		return "not_acceptable"
	case TooLarge:
		return "too_large"
	case MethodNotAllowed:
		return "method_not_allowed"
	case Conflict:
		return "conflict"
	case Unavailable:
		return "unavailable"
	case Unauthorized:
		return "unauthorized"
	case Forbidden:
		return "forbidden"
	case TooManyRequests:
		return "too_many_requests"
	case Unprocessable:
		return "unprocessable"
	default:
		return "internal"
	}
}

// FieldError is one invalid field or parameter: its name as the client sent it, a stable code,
// Label is a value of an error's Data (or a field error's) that is itself a message id: the HTTP
// layer shows it translated, like a status name ("draft.status.in_review") inside a message.
type Label string

// the message id that explains it and the template data for that message.
type FieldError struct {
	Field     string
	Code      string
	MessageID string
	Data      map[string]any
}

// Error is a typed error. Code is a stable machine-readable code; MessageID and Data produce the
// localized detail; Fields lists field errors for validation failures; Err is the wrapped cause.
type Error struct {
	Kind      Kind
	Code      string
	MessageID string
	Data      map[string]any
	Fields    []FieldError
	Err       error
}

// Error returns a developer-facing description (never shown to clients as is).
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Code, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Code)
}

// Unwrap returns the wrapped cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error of the given kind with a stable code and the message id of its localized detail.
func New(kind Kind, code, messageID string, data map[string]any) *Error {
	return &Error{Kind: kind, Code: code, MessageID: messageID, Data: data}
}

// Validation returns an Invalid error carrying field errors.
func Validation(fields ...FieldError) *Error {
	return &Error{Kind: Invalid, Code: "validation_failed", MessageID: "ErrValidationFailed", Fields: fields}
}

// As returns the *Error in err's chain, or nil when there is none.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns the kind of err, Internal when err carries no *Error.
func KindOf(err error) Kind {
	if e := As(err); e != nil {
		return e.Kind
	}
	return Internal
}
