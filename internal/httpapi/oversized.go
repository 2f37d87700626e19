package httpapi

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// oversizedHeader marks, inside the server, a request whose Content-Length was over the body limit.
const oversizedHeader = "X-Caseguide-Oversized-Body"

// refuseOversizedEarly makes the server answer a request whose Content-Length is over limit with a 413
// from the handlers (localized, with its request id, in the access log and metrics) instead of from
// fasthttp's error path, and before any of its body is read: its Expect: 100-continue is dropped (no
// 100 Continue invites an upload that will be refused), its body is taken as empty, the length is
// kept in oversizedHeader for refuseOversized, and the connection closes after the answer.
func refuseOversizedEarly(app *fiber.App, limit int) {
	if limit <= 0 {
		return
	}
	app.Server().HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		h.Del(oversizedHeader) // only the server sets it
		if n := h.ContentLength(); n > limit {
			h.Del(fiber.HeaderExpect)
			h.SetContentLength(0)
			h.Set(oversizedHeader, strconv.Itoa(n))
			h.SetConnectionClose()
		}
		return fasthttp.RequestConfig{} // the server's own limits
	}
}

// refuseOversized answers 413 (body_too_large) to a request refuseOversizedEarly marked.
func (s *Server) refuseOversized(c *fiber.Ctx) error {
	if len(c.Request().Header.Peek(oversizedHeader)) > 0 {
		c.Set(fiber.HeaderConnection, "close")
		return fiber.ErrRequestEntityTooLarge
	}
	return c.Next()
}
