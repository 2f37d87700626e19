package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// minGzipSize is the smallest body worth compressing.
const minGzipSize = 1024

// body is a rendered response body with its validator and, for larger bodies, its gzip encoding.
// Bodies are immutable once built, so cached ones are shared between requests.
type body struct {
	json        []byte
	gzip        []byte
	etag        string
	contentType string
}

// newBody renders v as JSON and prepares its ETag and compressed form.
func newBody(v any, contentType string) (*body, error) {
	b, err := jsonEncode(v)
	if err != nil {
		return nil, err
	}
	return newRawBody(b, contentType)
}

// newRawBody prepares bytes that are already encoded.
func newRawBody(b []byte, contentType string) (*body, error) {
	sum := sha256.Sum256(b)
	out := &body{json: b, etag: `W/"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`, contentType: contentType}
	if len(b) >= minGzipSize {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(b); err != nil {
			return nil, fmt.Errorf("compressing: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("compressing: %w", err)
		}
		out.gzip = buf.Bytes()
	}
	return out, nil
}

// jsonEncode marshals v without escaping HTML characters (bodies are JSON, not HTML).
func jsonEncode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding the response: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// send writes b with its ETag, answers 304 when If-None-Match matches, and sends the gzip encoding
// when the client accepts it. cacheControl applies to both.
func send(c *fiber.Ctx, b *body, cacheControl string) error {
	c.Vary(fiber.HeaderAcceptEncoding)
	c.Set(fiber.HeaderETag, b.etag)
	c.Set(fiber.HeaderCacheControl, cacheControl)
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), b.etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, b.contentType)
	if b.gzip != nil && c.Context().Request.Header.HasAcceptEncoding("gzip") {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(b.gzip)
	}
	return c.Send(b.json)
}

// etagMatches applies the weak comparison of If-None-Match (RFC 9110, 13.1.2).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for header != "" {
		var candidate string
		candidate, header, _ = strings.Cut(header, ",")
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == want {
			return true
		}
	}
	return false
}

// bodyCache keeps rendered bodies by a key that names everything they depend on (resource, version,
// locale, filters). It is bounded: when full it starts over, which is cheap for what it holds.
type bodyCache struct {
	mu    sync.RWMutex
	max   int
	items map[string]*body
}

func newBodyCache(max int) *bodyCache { return &bodyCache{max: max, items: map[string]*body{}} }

// get returns the cached body for key, building and storing it on a miss.
func (bc *bodyCache) get(key string, build func() (*body, error)) (*body, error) {
	bc.mu.RLock()
	b, ok := bc.items[key]
	bc.mu.RUnlock()
	if ok {
		return b, nil
	}
	b, err := build()
	if err != nil {
		return nil, err
	}
	bc.mu.Lock()
	if len(bc.items) >= bc.max {
		bc.items = map[string]*body{}
	}
	bc.items[key] = b
	bc.mu.Unlock()
	return b, nil
}
