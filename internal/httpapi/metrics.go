package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"strconv"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus metrics of the HTTP layer, with the Go runtime and process collectors,
// in a registry of their own (no global state).
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "HTTP request latency by method, route template and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route", "status"}),
	}
	m.registry.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe counts a request. method may alias a request buffer that fasthttp reuses (Fiber's strings
// are not copies), so it is mapped to a constant before it becomes a label the registry keeps.
func (m *metrics) observe(method, route string, status int, elapsed time.Duration) {
	s := strconv.Itoa(status)
	method = methodLabel(method)
	m.requests.WithLabelValues(method, route, s).Inc()
	m.latency.WithLabelValues(method, route, s).Observe(elapsed.Seconds())
}

var knownMethods = []string{fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
	fiber.MethodDelete, fiber.MethodOptions, fiber.MethodConnect, fiber.MethodTrace}

func methodLabel(method string) string {
	for _, known := range knownMethods {
		if method == known {
			return known
		}
	}
	return "OTHER"
}

func (m *metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}

// metricsGuard lets a request through to /metrics only with "Authorization: Bearer <token>" when a
// token is configured (Deps.MetricsToken); the comparison takes the same time whatever the header.
// It returns an Unauthorized error (metrics_token_required) otherwise.
func metricsGuard(token string) fiber.Handler {
	want := sha256.Sum256([]byte("Bearer " + token))
	return func(c *fiber.Ctx) error {
		if token == "" {
			return c.Next()
		}
		got := sha256.Sum256(c.Request().Header.Peek(fiber.HeaderAuthorization))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return apperr.New(apperr.Unauthorized, "metrics_token_required", "ErrMetricsToken", nil)
		}
		return c.Next()
	}
}

// strictTransportSecurity tells browsers to use only HTTPS for this host for two years (RFC 6797).
func strictTransportSecurity(c *fiber.Ctx) error {
	c.Set(fiber.HeaderStrictTransportSecurity, "max-age=63072000; includeSubDomains")
	return c.Next()
}
