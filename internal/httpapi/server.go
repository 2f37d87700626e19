// Package httpapi is the HTTP layer, built on Fiber: routes, middleware (request ids, locale
// negotiation, access logs, metrics, timeouts), request parsing and validation, response views of the
// domain types, conditional and compressed responses, and the one error handler that turns typed
// errors into localized problem+json documents.
package httpapi

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/childsafe-protocols/caseguide/internal/appointment"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/caseflag"
	"github.com/childsafe-protocols/caseguide/internal/caseservice"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/erasure"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/idempotency"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/internal/referral"
	"github.com/childsafe-protocols/caseguide/internal/report"
	"github.com/childsafe-protocols/caseguide/internal/worklist"
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
	TrustedProxies    []netip.Prefix    // peers whose X-Forwarded-For names the client (see clientAddr)
	Identity          *identity.Service // sign-in, devices, users
	Auth              Authenticator     // bearer tokens to principals
	Audit             *audit.Service
	Cases             *casework.Service
	CaseStore         casework.Store   // read directly only by the benchsecurity build's unguarded route
	PublicKeys        []map[string]any // JWKs of the token-signing keys, served at /v1/keys
	// DeploymentAuditOrg is the organisation whose auditors may read the deployment's own audit log
	// (audit.DeploymentLog): security events that belong to no organisation.
	DeploymentAuditOrg string

	// Interviews serves interview sessions, the review queue and coaching reports (nil: no such routes).
	Interviews *interview.Service
	// Evidence serves evidence items, custody chains, verification and exports.
	Evidence *evidence.Service

	Sync                 *devicesync.Service // device pull and push
	Idempotency          idempotency.Store   // responses kept for Idempotency-Key retries
	IdempotencyRetention time.Duration       // how long they are kept (0: idempotency.DefaultRetention)
	// Authoring is the content editors' workflow: drafts, review, publishing (nil: no such routes).
	Authoring *authoring.Service
	// MetricsToken, when set, is the bearer token /metrics requires (METRICS_TOKEN).
	MetricsToken string
	// HSTS sends Strict-Transport-Security on every answer (the service speaks HTTPS itself).
	HSTS bool
	// Worklist builds supervisors' worklists (GET /v1/worklist).
	Worklist *worklist.Service
	// Erasure serves the retention policy and two-person erasure (nil: no such routes).
	Erasure *erasure.Service

	// Working across agencies (nil: no such routes): case flags, services and outcomes,
	// appointments with case review meetings and time standards, and statistics.
	Flags        *caseflag.Service
	Services     *caseservice.Service
	Appointments *appointment.Service
	Reports      *report.Service
	// Consents and Referrals serve working across agencies: consents and legal bases of a case,
	// referrals and transfers between organisations (nil: no such routes).
	Consents  *consent.Service
	Referrals *referral.Service
}

// Server holds the HTTP layer's state.
type Server struct {
	deps     Deps
	metrics  *metrics
	cache    *bodyCache
	validate *validatorAdapter
	routes   []Route
}

// registerBenchRoutes is set by the benchsecurity test build (unguarded.go) and nil otherwise.
var registerBenchRoutes func(s *Server, app *fiber.App)

// New builds the Fiber application with every route and returns it with the server, whose Routes
// is the access matrix. extra, when given, registers additional routes after the API's (used by
// benchmarks for a baseline route).
func New(deps Deps, extra ...func(fiber.Router)) (*fiber.App, *Server) {
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
	refuseOversizedEarly(app, deps.BodyLimit)
	if deps.HSTS {
		app.Use(strictTransportSecurity)
	}
	app.Use(s.requestContext, s.accessLog, recover.New(), s.negotiateLocale, s.refuseOversized)

	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", metricsGuard(deps.MetricsToken), s.metrics.handler())
	app.Get("/openapi.yaml", s.staticAsset(deps.OpenAPI, "application/yaml"))

	get, post := fiber.MethodGet, fiber.MethodPost
	s.handle(app, get, "/v1/locales", public, s.listLocales)
	s.handle(app, get, "/v1/schemas/protocol.schema.json", public, s.staticAsset(deps.ProtocolSchema, "application/schema+json"))
	s.handle(app, get, "/v1/schemas/translation.schema.json", public, s.staticAsset(deps.TranslationSchema, "application/schema+json"))
	s.handle(app, get, "/v1/protocols", public, s.listProtocols)
	s.handle(app, get, "/v1/protocols/bundle", public, s.bundle)
	s.handle(app, get, "/v1/protocols/:id", public, s.getProtocol)
	s.handle(app, get, "/v1/protocols/:id/versions", public, s.listVersions)
	s.handle(app, get, "/v1/protocols/:id/versions/:version", public, s.getVersion)

	s.handle(app, get, "/v1/keys", public, s.publicKeys)
	s.handle(app, post, "/v1/auth/login", public, s.login)
	s.handle(app, post, "/v1/auth/refresh", public, s.refresh)
	s.handle(app, post, "/v1/auth/logout", signedIn.PasswordChange(), s.logout)
	s.handle(app, get, "/v1/me", signedIn.PasswordChange(), s.me)
	s.handle(app, post, "/v1/me/password", signedIn.PasswordChange(), s.changePassword)
	s.handle(app, get, "/v1/devices", signedIn, s.listDevices)
	s.handle(app, fiber.MethodDelete, "/v1/devices/:id", signedIn, s.revokeDevice)
	s.handle(app, get, "/v1/organisations", signedIn, s.listOrganisations)
	s.handle(app, post, "/v1/organisations", rolesOnly(identity.RoleAdmin), s.createOrganisation)
	s.handle(app, fiber.MethodPatch, "/v1/organisations/:id", rolesOnly(identity.RoleAdmin), s.updateOrganisation)
	s.handle(app, get, "/v1/users", rolesOnly(identity.RoleAdmin), s.listUsers)
	s.handle(app, post, "/v1/users", rolesOnly(identity.RoleAdmin), s.createUser)
	s.handle(app, fiber.MethodPatch, "/v1/users/:id", rolesOnly(identity.RoleAdmin), s.updateUser)
	s.handle(app, post, "/v1/users/:id/password", rolesOnly(identity.RoleAdmin), s.resetPassword)
	s.handle(app, get, "/v1/caseworkers", rolesOnly(identity.RoleSupervisor), s.listCaseworkers)
	caseRoles := rolesOnly(identity.RoleCaseworker, identity.RoleSupervisor)
	s.handle(app, post, "/v1/cases", caseRoles, s.createCase)
	s.handle(app, get, "/v1/cases", caseRoles, s.listCases)
	s.handle(app, get, "/v1/cases/:id", caseRoles, s.getCase)
	s.handle(app, fiber.MethodPatch, "/v1/cases/:id", caseRoles, s.updateCase)
	s.handle(app, post, "/v1/cases/:id/close", caseRoles, s.closeCase)
	s.handle(app, post, "/v1/cases/:id/reopen", caseRoles, s.reopenCase)
	s.handle(app, post, "/v1/cases/:id/runs", caseRoles, s.startRun)
	s.handle(app, get, "/v1/cases/:id/runs", caseRoles, s.listRuns)
	s.handle(app, get, "/v1/cases/:id/runs/:run", caseRoles, s.getRun)
	s.handle(app, post, "/v1/cases/:id/runs/:run/steps", caseRoles, s.recordStep)
	s.handle(app, get, "/v1/audit", rolesOnly(identity.RoleAuditor, identity.RoleSupervisor), s.listAudit)
	s.handle(app, get, "/v1/audit/verify", rolesOnly(identity.RoleAuditor, identity.RoleSupervisor), s.verifyAudit)
	s.handle(app, get, "/v1/audit/checkpoints", rolesOnly(identity.RoleAuditor, identity.RoleSupervisor), s.listAuditCheckpoints)
	s.handle(app, post, "/v1/audit/checkpoints", rolesOnly(identity.RoleAuditor, identity.RoleSupervisor), s.makeAuditCheckpoint)
	s.handle(app, post, "/v1/audit/verify-jobs", rolesOnly(identity.RoleAuditor, identity.RoleSupervisor), s.startAuditVerifyJob)
	s.handle(app, get, "/v1/audit/verify-jobs/:id", rolesOnly(identity.RoleAuditor, identity.RoleSupervisor), s.getAuditVerifyJob)
	s.handle(app, get, "/v1/worklist", rolesOnly(identity.RoleSupervisor), s.worklist)
	s.interviewRoutes(app)
	s.evidenceRoutes(app)
	s.syncRoutes(app)
	s.authoringRoutes(app)
	s.erasureRoutes(app)
	s.careRoutes(app)
	s.sharingRoutes(app)
	if registerBenchRoutes != nil {
		registerBenchRoutes(s, app)
	}
	for _, register := range extra {
		register(app)
	}
	return app, s
}
