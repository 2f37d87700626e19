package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/access"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/console/assets"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/internal/referral"
	"github.com/childsafe-protocols/caseguide/internal/worklist"
)

// Prefix is the path the console is served under.
const Prefix = "/console"

// Cookie modes of Config.SecureCookie.
const (
	CookieSecureAuto   = "auto"   // Secure when the request came over TLS (directly or, per Fiber, from a proxy)
	CookieSecureAlways = "always" // always Secure (a TLS-terminating proxy in front)
	CookieSecureNever  = "never"  // never Secure (plain HTTP on a trusted network, tests)
)

// Config tunes the console's sessions.
type Config struct {
	IdleTimeout  time.Duration // a session unused this long ends (default 30 minutes)
	Lifetime     time.Duration // a session ends this long after sign-in (default 12 hours)
	SecureCookie string        // CookieSecureAuto (default), CookieSecureAlways or CookieSecureNever
}

// Deps is what the console needs: the same domain services the JSON API calls.
type Deps struct {
	Log        *slog.Logger
	Catalog    *i18n.Catalog
	Identity   *identity.Service
	Audit      *audit.Service
	Cases      *casework.Service
	Interviews *interview.Service
	Evidence   *evidence.Service
	Protocols  *protocol.Service
	Worklist   *worklist.Service // the supervisor's worklist, as GET /v1/worklist builds it
	Config     Config
	Authoring  *authoring.Service
	// DeploymentAuditOrg is the organisation whose auditors may read the deployment's audit log.
	DeploymentAuditOrg string
	// OIDC enables sign-in with the OpenID Connect provider (oidc.go); nil: passwords only.
	OIDC *OIDC
	// Referrals serves the supervisors' referral inbox (referrals.go); nil: no such page.
	Referrals *referral.Service
	// Care holds the services of working across agencies the case page, the calendar and the
	// reports page read (care.go); a nil field leaves its section or page out.
	Care CareDeps
}

// Console is the web console: its route table (with access policies), templates and assets.
type Console struct {
	deps   Deps
	routes []route
	pages  *pageSet
	assets *assets.Set
	// homeExtra replaces the home page for supervisors (their worklist); nil: the plain home page.
	homeExtra handler
	// pending holds the sign-ins sent to the OpenID Connect provider and not yet back (oidc.go).
	pending pendingSignIns
}

// handler serves one console request; an error it returns is rendered as a localized error page.
type handler func(r *request) error

// route is one console route: method, path, access policy, handler, and its navigation entry.
type route struct {
	method, path string
	policy       access.Policy
	h            handler
	nav          *navEntry
	asset        bool // serves an asset: no session, long caching
}

// navEntry puts a route in the header's navigation for the users its policy lets through.
type navEntry struct {
	label string // message id
	order int
}

// New builds the console: loads its templates and assets and declares its routes. It returns an
// error when a template or an asset cannot be read.
func New(deps Deps) (*Console, error) {
	if deps.Config.IdleTimeout <= 0 {
		deps.Config.IdleTimeout = 30 * time.Minute
	}
	if deps.Config.Lifetime <= 0 {
		deps.Config.Lifetime = 12 * time.Hour
	}
	if deps.Config.SecureCookie == "" {
		deps.Config.SecureCookie = CookieSecureAuto
	}
	set, err := assets.Load(Prefix + "/assets/")
	if err != nil {
		return nil, err
	}
	pages, err := loadPages()
	if err != nil {
		return nil, err
	}
	c := &Console{deps: deps, pages: pages, assets: set}
	c.declare()
	return c, nil
}

// declare lists every console route with its policy (see doc.go to add one).
func (c *Console) declare() {
	get, post := fiber.MethodGet, fiber.MethodPost
	open := access.SignedIn.PasswordChange()
	c.routes = append(c.routes,
		route{method: get, path: "/", policy: access.Public, h: c.rootRedirect},
		route{method: get, path: Prefix + "/assets/:name", policy: access.Public, h: c.asset, asset: true},
		route{method: get, path: Prefix + "/login", policy: access.Public, h: c.loginPage},
		route{method: post, path: Prefix + "/login", policy: access.Public, h: c.login},
		route{method: post, path: Prefix + "/logout", policy: open, h: c.logout},
		route{method: get, path: Prefix + "/password", policy: open, h: c.passwordPage},
		route{method: post, path: Prefix + "/password", policy: open, h: c.changePassword},
		route{method: post, path: Prefix + "/language", policy: open, h: c.setLanguage},
		route{method: get, path: Prefix + "/", policy: access.SignedIn, h: c.home, nav: &navEntry{label: "console.nav.home", order: 0}},
	)
	c.declareSupervisor()
	c.declareCases()
	c.declareEditor()
	c.declareAdmin()
	c.declareAuditor()
	c.declareOIDC()
	c.declareReferrals()
	c.declareCare()
	c.declareCareForms()
}

// Routes returns the access matrix of the console's routes (HEAD, which every GET also answers,
// left out as in the API's).
func (c *Console) Routes() []access.Route {
	out := make([]access.Route, 0, len(c.routes))
	for _, r := range c.routes {
		out = append(out, r.policy.Describe(r.method, r.path))
	}
	return out
}

// Register adds the console's routes to app (after the API's, sharing its request ids, access log,
// metrics and locale negotiation). Routing is not strict, so /console answers as /console/.
func (c *Console) Register(app fiber.Router) {
	for _, rt := range c.routes {
		h := c.serve(rt)
		app.Add(rt.method, rt.path, h)
		if rt.method == fiber.MethodGet {
			app.Add(fiber.MethodHead, rt.path, h)
		}
	}
}

// serve wraps a route's handler with the console's one chain: security headers, the session and
// the route's policy (redirect to sign-in, or a 403 page), the CSRF check of every state-changing
// request, then the handler, whose error becomes a localized error page.
func (c *Console) serve(rt route) fiber.Handler {
	return func(fc *fiber.Ctx) error {
		setSecurityHeaders(fc, rt.asset)
		if rt.asset {
			return c.asset(&request{c: fc})
		}
		r := c.newRequest(fc)
		if err := c.authorize(r, rt.policy); err != nil {
			return c.fail(r, err)
		}
		if r.c.Method() != fiber.MethodGet && r.c.Method() != fiber.MethodHead {
			if err := c.checkCSRF(r); err != nil {
				return c.fail(r, err)
			}
		}
		if err := rt.h(r); err != nil {
			return c.fail(r, err)
		}
		return nil
	}
}

// authorize reads the session cookie and applies pol: a request without a valid session is sent to
// the sign-in page (or, for a public route, served anonymously); a user who must change their
// password is sent to that page; a role the policy does not name gets ErrForbidden (a 403 page).
func (c *Console) authorize(r *request, pol access.Policy) error {
	if err := c.readSession(r); err != nil && !isSignInProblem(err) {
		return err
	}
	if pol.Public {
		return nil
	}
	if !r.signedIn {
		return errSignInFirst
	}
	err := pol.Check(r.p)
	if errors.Is(err, identity.ErrPasswordChangeRequired) {
		return errChangePasswordFirst
	}
	return err
}

// Internal redirects raised by authorize; fail turns them into 303 answers.
var (
	errSignInFirst         = errors.New("console: sign in first")
	errChangePasswordFirst = errors.New("console: change the password first")
)

// isSignInProblem reports whether err says the session is missing, expired or revoked (as opposed
// to the store failing).
func isSignInProblem(err error) bool {
	var d identity.Denial
	return errors.As(err, &d)
}

// navFor lists the navigation entries r's user may open, in order.
func (c *Console) navFor(r *request) []navItem {
	if !r.signedIn || r.p.PasswordChangeRequired {
		return nil
	}
	var items []navItem
	var orders []int
	for _, rt := range c.routes {
		if rt.nav == nil || rt.policy.Check(r.p) != nil {
			continue
		}
		items = append(items, navItem{Href: rt.path, Label: c.deps.Catalog.Message(r.loc.Code, rt.nav.label, nil),
			Current: r.c.Path() == rt.path})
		orders = append(orders, rt.nav.order)
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return orders[a] - orders[b] })
	out := make([]navItem, len(items))
	for i, j := range idx {
		out[i] = items[j]
	}
	return out
}

// ctx returns the request's context (request id, timeout, locale, principal).
func (r *request) ctx() context.Context { return r.c.UserContext() }

// rootRedirect sends / to the console.
func (c *Console) rootRedirect(r *request) error {
	return r.c.Redirect(Prefix+"/", fiber.StatusFound)
}

// asset serves a fingerprinted asset: immutable for a year, gzip when the client takes it.
func (c *Console) asset(r *request) error {
	f, ok := c.assets.Get(r.c.Params("name"))
	if !ok {
		r.c.Set(fiber.HeaderCacheControl, "no-store")
		return r.c.Status(fiber.StatusNotFound).SendString("not found")
	}
	r.c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	r.c.Set(fiber.HeaderContentType, f.ContentType)
	r.c.Set(fiber.HeaderETag, f.ETag)
	r.c.Vary(fiber.HeaderAcceptEncoding)
	if r.c.Get(fiber.HeaderIfNoneMatch) == f.ETag {
		return r.c.SendStatus(fiber.StatusNotModified)
	}
	if f.Gzip != nil && r.c.Context().Request.Header.HasAcceptEncoding("gzip") {
		r.c.Set(fiber.HeaderContentEncoding, "gzip")
		return r.c.Send(f.Gzip)
	}
	return r.c.Send(f.Body)
}

// setSecurityHeaders sets the headers of every console response: a strict Content-Security-Policy
// (no inline script or style, nothing from elsewhere, no framing), no referrer, no MIME sniffing;
// pages are never stored (they may show case data).
func setSecurityHeaders(fc *fiber.Ctx, asset bool) {
	fc.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	fc.Set("Referrer-Policy", "no-referrer")
	fc.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	fc.Set(fiber.HeaderXFrameOptions, "DENY")
	fc.Set("Cross-Origin-Opener-Policy", "same-origin")
	if !asset {
		fc.Set(fiber.HeaderCacheControl, "no-store")
	}
}

// errorf wraps an unexpected failure with what the console was doing.
func errorf(format string, args ...any) error { return fmt.Errorf("console: "+format, args...) }
