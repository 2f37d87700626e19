package httpapi

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
)

// Keys of values kept in fiber locals for the duration of a request.
const (
	localRequestID = "request_id"
	localLocale    = "locale"
	localRoute     = "route"
)

type ctxKey int

const (
	ctxLocale ctxKey = iota
)

// Locale returns the locale code negotiated for the request whose context ctx is, or "".
func Locale(ctx context.Context) string {
	code, _ := ctx.Value(ctxLocale).(string)
	return code
}

// requestContext accepts or generates the request id, echoes it, and sets the request's
// UserContext with a timeout and the request id (audit.WithRequestID: the audit entries of the
// request carry it).
func (s *Server) requestContext(c *fiber.Ctx) error {
	id := assignRequestID(c)
	ctx, cancel := context.WithTimeout(audit.WithRequestID(context.Background(), id), s.deps.RequestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// assignRequestID takes the client's X-Request-ID when it is acceptable, or generates one, and
// echoes it.
func assignRequestID(c *fiber.Ctx) string {
	id := c.Get(fiber.HeaderXRequestID)
	if validRequestID(id) {
		id = utils.CopyString(id)
	} else {
		id = uuid.Must(uuid.NewV7()).String()
	}
	c.Locals(localRequestID, id)
	c.Set(fiber.HeaderXRequestID, id)
	return id
}

// validRequestID accepts client ids of 1 to 64 characters from [A-Za-z0-9._-].
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// negotiateLocale picks the response locale: ?lang= when given, else Accept-Language, else the
// source locale. Every response says which it used. An unsupported ?lang= is refused (406) on /v1,
// and ignored on operational routes (health checks must not fail over a language).
func (s *Server) negotiateLocale(c *fiber.Ctx) error {
	loc, err := s.deps.Catalog.Negotiate(c.Query("lang"), c.Get(fiber.HeaderAcceptLanguage))
	if err != nil && !strings.HasPrefix(c.Path(), "/v1/") {
		loc, err = s.deps.Catalog.Negotiate("", c.Get(fiber.HeaderAcceptLanguage))
	}
	c.Locals(localLocale, loc)
	c.SetUserContext(context.WithValue(c.UserContext(), ctxLocale, loc.Code))
	c.Set(fiber.HeaderContentLanguage, loc.Code)
	c.Vary(fiber.HeaderAcceptLanguage)
	if err != nil {
		var codes []string
		for _, l := range s.deps.Catalog.Locales() {
			codes = append(codes, l.Code)
		}
		return apperr.New(apperr.NotAcceptable, "language_not_supported", "ErrLanguageNotSupported",
			map[string]any{"Lang": c.Query("lang"), "Available": i18n.List(codes)})
	}
	return c.Next()
}

// locale returns the locale negotiated for the request. Outside /v1 (and for errors raised before
// routing) it negotiates from Accept-Language alone, never failing.
func (s *Server) locale(c *fiber.Ctx) i18n.Locale {
	if l, ok := c.Locals(localLocale).(i18n.Locale); ok {
		return l
	}
	l, _ := s.deps.Catalog.Negotiate("", c.Get(fiber.HeaderAcceptLanguage))
	return l
}

// accessLog writes one JSON line per request: request id, method, route template, status, duration,
// response size and the names (never the values) of the query parameters.
func (s *Server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	status := c.Response().StatusCode()
	route := routeOf(c)
	elapsed := time.Since(start)
	s.metrics.observe(c.Method(), route, status, elapsed)
	var params []string
	c.Request().URI().QueryArgs().VisitAll(func(k, _ []byte) { params = append(params, string(k)) })
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.deps.Log.LogAttrs(c.UserContext(), level, "request",
		slog.String("request_id", c.Locals(localRequestID).(string)),
		slog.String("method", c.Method()),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.Int("bytes", len(c.Response().Body())),
		slog.Any("query_params", params),
	)
	return nil
}

// routeOf returns the matched route template, or "unmatched" for requests no route took.
func routeOf(c *fiber.Ctx) string {
	if r, ok := c.Locals(localRoute).(string); ok {
		return r
	}
	return c.Route().Path
}
