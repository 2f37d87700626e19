// Package httpapi is the HTTP layer, built on Fiber: routes, middleware (request ids, locale
// negotiation, access logs, metrics, timeouts), request parsing and validation, response views of the
// domain types, conditional and compressed responses, and the one error handler that turns typed
// errors into localized problem+json documents.
package httpapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// Pinger checks that a dependency answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps is what the HTTP layer needs.
type Deps struct {
	Log               *slog.Logger
	Catalog           *i18n.Catalog
	Protocols         *protocol.Service
	Database          Pinger
	OpenAPI           []byte // the contract, served at /openapi.yaml
	ProtocolSchema    []byte // served at /v1/schemas/protocol.schema.json
	TranslationSchema []byte // served at /v1/schemas/translation.schema.json
	BodyLimit         int
	RequestTimeout    time.Duration
}

// Server holds the HTTP layer's state.
type Server struct {
	deps     Deps
	metrics  *metrics
	cache    *bodyCache
	validate *validatorAdapter
}

// New builds the Fiber application with every route. extra, when given, registers additional routes
// after the API's (used by benchmarks for a baseline route).
func New(deps Deps, extra ...func(fiber.Router)) *fiber.App {
	s := &Server{deps: deps, metrics: newMetrics(), cache: newBodyCache(4096), validate: newValidatorAdapter()}
	app := fiber.New(fiber.Config{
		AppName:               "caseguide",
		BodyLimit:             deps.BodyLimit,
		ErrorHandler:          s.handleError,
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		ReadBufferSize:        16 * 1024,
	})
	app.Use(s.requestContext, s.accessLog, recover.New(), s.negotiateLocale)

	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", s.metrics.handler())
	app.Get("/openapi.yaml", s.staticAsset(deps.OpenAPI, "application/yaml"))

	v1 := app.Group("/v1")
	v1.Get("/locales", s.listLocales)
	v1.Get("/schemas/protocol.schema.json", s.staticAsset(deps.ProtocolSchema, "application/schema+json"))
	v1.Get("/schemas/translation.schema.json", s.staticAsset(deps.TranslationSchema, "application/schema+json"))
	v1.Get("/protocols", s.listProtocols)
	v1.Get("/protocols/bundle", s.bundle)
	v1.Get("/protocols/:id", s.getProtocol)
	v1.Get("/protocols/:id/versions", s.listVersions)
	v1.Get("/protocols/:id/versions/:version", s.getVersion)
	for _, register := range extra {
		register(app)
	}
	return app
}
