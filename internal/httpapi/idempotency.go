package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/idempotency"
)

// HeaderIdempotencyKey names the header that makes a POST safe to retry; HeaderIdempotentReplayed
// marks a response that is the stored answer to an earlier request with the same key.
const (
	HeaderIdempotencyKey     = "Idempotency-Key"
	HeaderIdempotentReplayed = "Idempotent-Replayed"
	maxIdempotencyKeyLen     = 255
)

// idempotent runs after authorization on every POST route. Without an Idempotency-Key header it
// does nothing; on the /v1/auth routes (whose answers are credentials) it only checks the key. With one, the first request with that key (per caller) runs and its response is
// kept (encrypted) for the configured retention; a retry with the same key and the same request
// gets that response again (Idempotent-Replayed: true) and changes nothing; the same key with
// another request is refused (422 idempotency_key_reused, as the IETF Idempotency-Key draft says), and while the first is still running,
// a retry gets 409 idempotency_in_progress. Responses that say the request did not run (401, 408,
// 429, 5xx) are not kept, so a retry runs it.
func (s *Server) idempotent(c *fiber.Ctx) error {
	key := c.Get(HeaderIdempotencyKey)
	if key == "" || s.deps.Idempotency == nil {
		return c.Next()
	}
	if len(key) > maxIdempotencyKeyLen || !printableASCII(key) {
		return apperr.Validation(apperr.FieldError{Field: HeaderIdempotencyKey, Code: "invalid", MessageID: "field.idempotency_key"})
	}
	if strings.HasPrefix(c.Route().Path, "/v1/auth/") {
		// Sign-in and refresh answer credentials, which are never stored (refresh tokens only as
		// hashes): a retry signs in again, and a retried refresh is caught by reuse detection.
		return c.Next()
	}
	scope := "route:" + c.Route().Path // a public route: the body must match too
	if p := principal(c); p.UserID != "" {
		scope = "user:" + p.OrgID + ":" + p.UserID
	}
	id := hash(scope, key)
	fingerprint := hash(c.Method(), string(c.Request().URI().Path()), string(c.Body())) // ?lang= aside
	now := time.Now().UTC()
	retention := s.deps.IdempotencyRetention
	if retention <= 0 {
		retention = idempotency.DefaultRetention
	}
	entry := idempotency.Entry{ID: id, Fingerprint: fingerprint, CreatedAt: now, ExpiresAt: now.Add(retention)}
	held, claimed, err := s.deps.Idempotency.Claim(c.UserContext(), entry)
	if err == nil && !claimed && !held.Done && held.CreatedAt.Before(now.Add(-2*s.requestTimeout())) {
		// A claim older than any request may run was left by a process that died: take it over.
		if err = s.deps.Idempotency.Release(c.UserContext(), id); err == nil {
			held, claimed, err = s.deps.Idempotency.Claim(c.UserContext(), entry)
		}
	}
	switch {
	case errors.Is(err, idempotency.ErrInProgress):
		return errIdempotencyInProgress()
	case err != nil:
		return err
	case !claimed && held.Fingerprint != fingerprint:
		return apperr.New(apperr.Unprocessable, "idempotency_key_reused", "ErrIdempotencyKeyReused", nil)
	case !claimed && !held.Done:
		return errIdempotencyInProgress()
	case !claimed:
		c.Set(HeaderIdempotentReplayed, "true")
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set(fiber.HeaderContentType, held.ContentType)
		if held.Language != "" {
			c.Set(fiber.HeaderContentLanguage, held.Language) // the first answer's language
		}
		return c.Status(held.Status).Send(held.Body)
	}
	kept := false
	defer func() { // a panic or a failure below: the retry must be able to run
		if !kept {
			s.releaseKey(c, id)
		}
	}()
	if err := c.Next(); err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			return herr
		}
	}
	status := c.Response().StatusCode()
	// Leave the request's deadline out: the response exists and must be kept even if time ran out.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), 5*time.Second)
	defer cancel()
	if status >= 500 || slices.Contains([]int{fiber.StatusUnauthorized, fiber.StatusRequestTimeout, fiber.StatusTooManyRequests}, status) {
		return nil
	}
	body := append([]byte(nil), c.Response().Body()...)
	done := idempotency.Entry{ID: id, Status: status, ContentType: string(c.Response().Header.ContentType()),
		Language: string(c.Response().Header.Peek(fiber.HeaderContentLanguage)), Body: body}
	if err := s.deps.Idempotency.Complete(ctx, done); err != nil {
		s.deps.Log.ErrorContext(ctx, "storing an idempotent response", "request_id", requestID(c), "error", err.Error())
		return nil
	}
	kept = true
	return nil
}

func (s *Server) requestTimeout() time.Duration {
	if s.deps.RequestTimeout > 0 {
		return s.deps.RequestTimeout
	}
	return time.Minute
}

func errIdempotencyInProgress() error {
	return apperr.New(apperr.Conflict, "idempotency_in_progress", "ErrIdempotencyInProgress", nil)
}

func (s *Server) releaseKey(c *fiber.Ctx, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), 5*time.Second)
	defer cancel()
	if err := s.deps.Idempotency.Release(ctx, id); err != nil {
		s.deps.Log.ErrorContext(ctx, "releasing an idempotency key", "request_id", requestID(c), "error", err.Error())
	}
}

// hash returns the hex SHA-256 of parts separated by NUL bytes.
func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
