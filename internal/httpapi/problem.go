package httpapi

import (
	"context"
	"errors"
	"maps"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/referral"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail"`
	Instance  string         `json:"instance"`
	Code      string         `json:"code"`
	RequestID string         `json:"request_id"`
	Errors    []problemField `json:"errors,omitempty"`
	// WipeLocalData tells a device that was revoked to delete what it holds.
	WipeLocalData bool `json:"wipe_local_data,omitempty"`
	// Current is the record as it is now, with a 409 for a write at a stale version.
	Current any `json:"current,omitempty"`
}

type problemField struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// StatusOf returns the HTTP status of an error kind (500 for a kind it does not know): the one mapping
// the API and the console answer with.
func StatusOf(k apperr.Kind) int {
	if st, ok := statusOfKind[k]; ok {
		return st
	}
	return fiber.StatusInternalServerError
}

var statusOfKind = map[apperr.Kind]int{
	apperr.Invalid:          fiber.StatusBadRequest,
	apperr.NotFound:         fiber.StatusNotFound,
	apperr.NotAcceptable:    fiber.StatusNotAcceptable,
	apperr.TooLarge:         fiber.StatusRequestEntityTooLarge,
	apperr.MethodNotAllowed: fiber.StatusMethodNotAllowed,
	apperr.Conflict:         fiber.StatusConflict,
	apperr.Unavailable:      fiber.StatusServiceUnavailable,
	apperr.Internal:         fiber.StatusInternalServerError,
	apperr.Unauthorized:     fiber.StatusUnauthorized,
	apperr.Forbidden:        fiber.StatusForbidden,
	apperr.TooManyRequests:  fiber.StatusTooManyRequests,
	apperr.Unprocessable:    fiber.StatusUnprocessableEntity,
}

// handleError is the one place errors become responses: typed errors keep their kind, Fiber's own
// errors are typed here, anything else is a 500 that shows no internals (and is logged with the id).
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	e := s.classify(c, err)
	loc := s.locale(c)
	id := requestID(c)
	if id == "" { // errors raised before the middleware ran (an oversized body)
		id = assignRequestID(c)
	}
	status := statusOfKind[e.Kind]
	if status >= 500 {
		s.deps.Log.ErrorContext(c.UserContext(), "request failed", "request_id", id, "route", routeOf(c), "error", err.Error())
	}
	p := s.buildProblem(loc.Code, err, e, string(c.Request().URI().Path()), id)
	c.Set(fiber.HeaderContentLanguage, loc.Code)
	c.Vary(fiber.HeaderAcceptLanguage)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Response().Header.Del(fiber.HeaderETag)
	c.Response().Header.Del(fiber.HeaderContentEncoding)
	switch e.Kind {
	case apperr.MethodNotAllowed:
		c.Set(fiber.HeaderAllow, s.allowedMethods(c.App(), string(c.Request().URI().Path())))
	case apperr.Unauthorized:
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="caseguide", error="invalid_token"`)
		p.WipeLocalData = errors.Is(err, identity.ErrDeviceRevoked)
	}
	body, merr := jsonEncode(p)
	if merr != nil {
		return merr
	}
	c.Status(status)
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.Send(body)
}

// buildProblem renders err, classified as e, as a localized problem document of a request to
// instance with request id: the kind's title, the message with its labels translated, the field
// errors localized, and the current record of a stale write. The error handler and the results of
// pushed sync operations both use it.
func (s *Server) buildProblem(loc string, err error, e *apperr.Error, instance, requestID string) problem {
	cat := s.deps.Catalog
	p := problem{
		Type:      "urn:caseguide:problem:" + e.Code,
		Title:     cat.Message(loc, "problem."+e.Kind.String(), nil),
		Status:    statusOfKind[e.Kind],
		Detail:    cat.Message(loc, e.MessageID, s.labels(loc, e.Data)),
		Instance:  instance,
		Code:      e.Code,
		RequestID: requestID,
	}
	p.Errors = s.problemFields(loc, e.Fields)
	if e.Kind == apperr.Conflict {
		var staleUser *identity.StaleError
		var staleCase *casework.StaleError
		var staleInterview *interview.StaleError
		var staleDraft *authoring.StaleError
		var staleOrg *identity.OrgStaleError
		var staleConsent *consent.StaleError
		var staleReferral *referral.StaleError
		switch {
		case errors.As(err, &staleConsent):
			p.Current = toConsentView(staleConsent.Current, labeler{cat, loc}, time.Now())
		case errors.As(err, &staleReferral):
			viewer := staleReferral.Current.FromOrgID
			if staleReferral.Receiver {
				viewer = staleReferral.Current.ToOrgID
			}
			p.Current = toReferralView(staleReferral.Current, labeler{cat, loc}, viewer)
		case errors.As(err, &staleOrg):
			p.Current = toOrganisationView(staleOrg.Current, labeler{cat, loc})
		case errors.As(err, &staleDraft):
			p.Current = s.toDraftView(staleDraft.Current, "")
		case errors.As(err, &staleUser):
			p.Current = toUserView(staleUser.Current)
		case errors.As(err, &staleCase):
			p.Current = toCaseView(staleCase.Current)
		case errors.As(err, &staleInterview):
			p.Current = s.toInterviewView(staleInterview.Current, loc)
		default:
			p.Current = s.careCurrent(err, loc)
		}
	}
	return p
}

// problemFields localizes field errors: each message names its field by the label of its path with
// list positions left out (child.needs.interpreter_language, or for prompts[3].type prompts.type),
// else of its last name (kind), else of the nearest enclosing field that has one followed by the rest
// of the path as sent (“protocol › step.greet.title”), else as sent.
func (s *Server) problemFields(locale string, fields []apperr.FieldError) []problemField {
	cat := s.deps.Catalog
	out := make([]problemField, 0, len(fields))
	for _, f := range fields {
		path := listPositions.ReplaceAllString(f.Field, "")
		keys := []string{path, path[strings.LastIndex(path, ".")+1:]}
		for p := path; strings.Contains(p, "."); {
			p = p[:strings.LastIndex(p, ".")]
			keys = append(keys, p)
		}
		name := f.Field
		for i, key := range keys {
			if label := cat.Message(locale, "fieldname."+key, nil); label != "fieldname."+key {
				name = label
				if i >= 2 { // an enclosing field's label: say which part of it too (protocol › step.greet.title)
					name += " › " + strings.Join(strings.Split(f.Field, ".")[strings.Count(key, ".")+1:], ".")
				}
				break
			}
		}
		data := map[string]any{"Field": name}
		for k, v := range s.labels(locale, f.Data) {
			data[k] = v
		}
		out = append(out, problemField{Field: f.Field, Code: f.Code, Message: cat.Message(locale, f.MessageID, data)})
	}
	return out
}

// listPositions matches the list positions in a field path ("[3]" in "entries[3].kind").
var listPositions = regexp.MustCompile(`\[\d+\]`)

// labels returns data with every apperr.Label value translated into locale (data itself when it
// holds none).
func (s *Server) labels(locale string, data map[string]any) map[string]any {
	var out map[string]any
	for k, v := range data {
		if l, ok := v.(apperr.Label); ok {
			if out == nil {
				out = maps.Clone(data)
			}
			out[k] = s.deps.Catalog.Message(locale, string(l), nil)
		}
	}
	if out == nil {
		return data
	}
	return out
}

// classify turns any error into a typed one.
func (s *Server) classify(c *fiber.Ctx, err error) *apperr.Error {
	if e := apperr.As(err); e != nil {
		return e
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusNotFound:
			c.Locals(localRoute, "unmatched")
			return apperr.New(apperr.NotFound, "route_not_found", "ErrRouteNotFound", nil)
		case fiber.StatusMethodNotAllowed:
			c.Locals(localRoute, "unmatched")
			return apperr.New(apperr.MethodNotAllowed, "method_not_allowed", "ErrMethodNotAllowed", map[string]any{"Method": c.Method()})
		case fiber.StatusRequestEntityTooLarge:
			return apperr.New(apperr.TooLarge, "body_too_large", "ErrBodyTooLarge", map[string]any{"Limit": s.deps.BodyLimit})
		}
		if fe.Code >= 400 && fe.Code < 500 {
			return &apperr.Error{Kind: apperr.Invalid, Code: "bad_request", MessageID: "ErrValidationFailed", Err: err}
		}
	}
	e := classifyError(err)
	if seconds, ok := e.Data["Seconds"].(int); ok && e.Kind == apperr.TooManyRequests {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(seconds))
	}
	return e
}

// classifyError maps an error that is not the HTTP layer's own to its typed form: the error's own
// *apperr.Error, an identity denial (401, or 403 for ErrForbidden), a sign-in lock (429, with the
// seconds to wait), a deadline (503 timeout), anything else internal (500, no details shown).
func classifyError(err error) *apperr.Error {
	if e := apperr.As(err); e != nil {
		return e
	}
	var denial identity.Denial
	if errors.As(err, &denial) {
		kind := apperr.Unauthorized
		if denial == identity.ErrForbidden || denial == identity.ErrPasswordChangeRequired {
			kind = apperr.Forbidden
		}
		return &apperr.Error{Kind: kind, Code: denial.Code(), MessageID: denial.MessageID(), Err: err}
	}
	var locked *identity.LockedError
	if errors.As(err, &locked) {
		seconds := int(math.Ceil(locked.RetryAfter.Seconds()))
		return &apperr.Error{Kind: apperr.TooManyRequests, Code: locked.Code(), MessageID: locked.MessageID(), Data: map[string]any{"Seconds": seconds}, Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &apperr.Error{Kind: apperr.Unavailable, Code: "timeout", MessageID: "ErrTimeout", Err: err}
	}
	return &apperr.Error{Kind: apperr.Internal, Code: "internal", MessageID: "ErrInternal", Err: err}
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}
