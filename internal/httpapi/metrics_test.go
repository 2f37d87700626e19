package httpapi

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A method string that aliases a reused request buffer must not become a label the registry keeps.
func TestMetricsCopyTheMethod(t *testing.T) {
	t.Parallel()
	m := newMetrics()
	buf := []byte("GET")
	m.observe(unsafe.String(&buf[0], len(buf)), "/v1/protocols", 200, time.Millisecond)
	copy(buf, "\xff\xfe\xfd") // fasthttp reuses the buffer for the next request
	m.observe("BREW", "/v1/protocols", 405, time.Millisecond)
	if _, err := m.registry.Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
	want := `http_requests_total{method="GET",route="/v1/protocols",status="200"} 1`
	if err := testutil.CollectAndCompare(m.requests, strings.NewReader("# HELP http_requests_total HTTP requests by method, route template and status.\n# TYPE http_requests_total counter\n"+want+"\nhttp_requests_total{method=\"OTHER\",route=\"/v1/protocols\",status=\"405\"} 1\n")); err != nil {
		t.Error(err)
	}
}
