package httpapi

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

type healthView struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// healthz answers GET /healthz: the process is up.
func (s *Server) healthz(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(healthView{Status: "ok"})
}

// readyz answers GET /readyz: 200 when the database answers within two seconds, 503 otherwise.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	c.Set(fiber.HeaderCacheControl, "no-store")
	if err := s.deps.Database.Ping(ctx); err != nil {
		s.deps.Log.WarnContext(ctx, "readiness check failed", "request_id", requestID(c), "error", err.Error())
		return c.Status(fiber.StatusServiceUnavailable).JSON(healthView{Status: "unavailable", Checks: map[string]string{"database": "unreachable"}})
	}
	return c.JSON(healthView{Status: "ready", Checks: map[string]string{"database": "ok"}})
}

// staticAsset serves bytes fixed at start (the OpenAPI document, the schemas) with an ETag.
func (s *Server) staticAsset(content []byte, contentType string) fiber.Handler {
	b, err := newRawBody(content, contentType)
	return func(c *fiber.Ctx) error {
		if err != nil {
			return err
		}
		return send(c, b, revalidate)
	}
}

type keySet struct {
	Keys []map[string]any `json:"keys"`
}

// publicKeys answers GET /v1/keys: the public keys (JWK Set) that verify the service's signatures.
func (s *Server) publicKeys(c *fiber.Ctx) error {
	b, err := s.cache.get("keys", func() (*body, error) {
		return newBody(keySet{Keys: nonNil(s.deps.PublicKeys)}, "application/jwk-set+json")
	})
	if err != nil {
		return err
	}
	return send(c, b, revalidate)
}
