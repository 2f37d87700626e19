//go:build benchsecurity

package httpapi

import (
	"github.com/gofiber/fiber/v2"
)

// In the benchsecurity test build only, the server also answers GET /bench/unguarded/cases/{id}: the
// same case read as GET /v1/cases/{id} (store read, decryption, view, JSON) with authentication,
// authorization and the audit entry switched off, so a benchmark can measure what they cost.
func init() {
	registerBenchRoutes = func(s *Server, app *fiber.App) {
		app.Get("/bench/unguarded/cases/:id", func(c *fiber.Ctx) error {
			cs, err := s.deps.CaseStore.Case(c.UserContext(), c.Params("id"))
			if err != nil {
				return err
			}
			return s.sendPrivate(c, toCaseView(cs))
		})
	}
}
