package httpapi

import (
	"context"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/access"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Authenticator turns the bearer token of a request into the calling principal. It returns an
// identity.Denial (401) for a missing, expired, tampered or revoked token.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (identity.Principal, error)
}

// policy says who may call a route (access.Policy, shared with the console).
type policy = access.Policy

var (
	public   = access.Public
	signedIn = access.SignedIn
)

func rolesOnly(roles ...identity.Role) policy { return access.Roles(roles...) }

// Route is one registered route and who may call it: the access matrix the tests walk.
type Route = access.Route

// handle registers a route with its access policy, enforced before the handler runs.
func (s *Server) handle(r fiber.Router, method, path string, pol policy, h fiber.Handler) {
	if method == fiber.MethodPost { // every POST honours Idempotency-Key (idempotency.go)
		r.Add(method, path, s.authorize(pol), s.idempotent, h)
	} else {
		r.Add(method, path, s.authorize(pol), h)
	}
	if method == fiber.MethodGet {
		r.Add(fiber.MethodHead, path, s.authorize(pol), h)
	}
	s.routes = append(s.routes, pol.Describe(method, path))
}

// Routes returns the access matrix of every registered route.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

const localPrincipal = "principal"

type ctxPrincipalKey struct{}

// PrincipalFrom returns the principal a request's context carries, if it was authenticated.
func PrincipalFrom(ctx context.Context) (identity.Principal, bool) {
	p, ok := ctx.Value(ctxPrincipalKey{}).(identity.Principal)
	return p, ok
}

// authorize enforces a policy in one place: authentication for every non-public route, then roles.
func (s *Server) authorize(pol policy) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if pol.Public {
			return c.Next()
		}
		p, err := s.authenticate(c)
		if err != nil {
			return err
		}
		if err := pol.Check(p); err != nil {
			return err
		}
		return c.Next()
	}
}

// authenticate verifies the bearer token and stores the principal for the handler and the context.
func (s *Server) authenticate(c *fiber.Ctx) (identity.Principal, error) {
	if p, ok := c.Locals(localPrincipal).(identity.Principal); ok {
		return p, nil
	}
	scheme, token, _ := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" || s.deps.Auth == nil {
		return identity.Principal{}, identity.ErrSessionInvalid
	}
	p, err := s.deps.Auth.Authenticate(c.UserContext(), strings.TrimSpace(token))
	if err != nil {
		return identity.Principal{}, err
	}
	c.Locals(localPrincipal, p)
	c.SetUserContext(context.WithValue(c.UserContext(), ctxPrincipalKey{}, p))
	return p, nil
}

// principal returns the request's principal; only call it behind a non-public policy.
func principal(c *fiber.Ctx) identity.Principal {
	p, _ := c.Locals(localPrincipal).(identity.Principal)
	return p
}

// allowedMethods lists the methods app answers at path (for the Allow header of a 405): those of
// the API's routes in the order they were declared, then those of the routes outside its table
// (health, metrics, the contract), and HEAD where GET is answered.
func (s *Server) allowedMethods(app *fiber.App, path string) string {
	var methods []string
	add := func(m string) {
		if !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	for _, r := range s.routes {
		if matchTemplate(r.Path, path) {
			add(r.Method)
		}
	}
	for _, r := range app.GetRoutes(true) {
		if r.Method != fiber.MethodHead && matchTemplate(r.Path, path) {
			add(r.Method)
		}
	}
	if slices.Contains(methods, fiber.MethodGet) {
		add(fiber.MethodHead)
	}
	return strings.Join(methods, ", ")
}

// matchTemplate reports whether path matches a route template whose ":name" segments match any segment.
func matchTemplate(template, path string) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(strings.TrimSuffix(path, "/"), "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if !strings.HasPrefix(ts[i], ":") && ts[i] != ps[i] {
			return false
		}
	}
	return true
}
