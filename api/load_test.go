package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// BenchmarkLoad measures the API's hot reads against a ceiling: the same server answering a route
// that returns the very same bytes from memory with no logic. Both run in the same process and the
// same run, alternating in rounds, so the ratios hold on a noisy shared machine.
//
//	go test ./api -run '^$' -bench Load -benchtime 1x
//
// LOAD_SECONDS (per round, default 3), LOAD_ROUNDS (default 4) and LOAD_CONNECTIONS (default 16)
// tune it. The server runs in this process; the load comes from a separate process (this test binary
// started again in client mode), so the resident memory printed is the server's. It prints a table:
// requests per second, p50 and p99 latency, and the ratio to the ceiling.
func BenchmarkLoad(b *testing.B) {
	seconds, rounds, conns := envInt("LOAD_SECONDS", 3), envInt("LOAD_ROUNDS", 4), envInt("LOAD_CONNECTIONS", 16)
	scenarios := []struct {
		name, path  string
		notModified bool
	}{
		{name: "protocol 200", path: "/v1/protocols/child-interview?lang=fr"},
		{name: "protocol 304", path: "/v1/protocols/child-interview?lang=fr", notModified: true},
		{name: "bundle 200", path: "/v1/protocols/bundle?lang=ar"},
		{name: "bundle 304", path: "/v1/protocols/bundle?lang=ar", notModified: true},
	}
	ceiling := map[string][]byte{} // scenario path -> the bytes the API answers
	var mu sync.RWMutex
	hooks := &serveHooks{routes: []func(fiber.Router){func(r fiber.Router) {
		r.Get("/bench/ceiling", func(c *fiber.Ctx) error {
			mu.RLock()
			body := ceiling[c.Query("path")]
			mu.RUnlock()
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
			return c.Send(body)
		})
		r.Get("/bench/ceiling-304", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNotModified) })
	}}}
	s := startServer(b, testEnv(b.TempDir(), map[string]string{"LOG_LEVEL": "warn"}), hooks)
	defer s.stop()
	addr := strings.TrimPrefix(s.base, "http://")
	client := &fasthttp.HostClient{Addr: addr, MaxConns: 1, ReadBufferSize: 64 << 10}

	etags := map[string]string{}
	for _, sc := range scenarios {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI(s.base + sc.path)
		if err := client.Do(req, resp); err != nil || resp.StatusCode() != 200 {
			b.Fatalf("%s: %v %d", sc.path, err, resp.StatusCode())
		}
		mu.Lock()
		ceiling[sc.path] = append([]byte(nil), resp.Body()...)
		mu.Unlock()
		etags[sc.path] = string(resp.Header.Peek("ETag"))
	}

	load := func(uri, ifNoneMatch string, wantStatus int) loadResult {
		return runLoadClient(b, uri, ifNoneMatch, wantStatus, seconds, conns)
	}

	b.ResetTimer()
	fmt.Printf("\n%d connections, %d rounds of %ds per side, alternating\n\n", conns, rounds, seconds)
	fmt.Println("| scenario | API req/s | ceiling req/s | ratio | API p50 | API p99 | ceiling p50 | ceiling p99 |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, sc := range scenarios {
		var api, top loadResult
		// The ceiling gets the same lang parameter, so the middleware common to every route does the same work.
		_, lang, _ := strings.Cut(sc.path, "?")
		status, inm, ceilURI := 200, "", s.base+"/bench/ceiling?"+lang+"&path="+urlQueryEscape(sc.path)
		if sc.notModified {
			status, inm, ceilURI = 304, etags[sc.path], s.base+"/bench/ceiling-304?"+lang
		}
		for round := range rounds { // alternate which side goes first, so neither always follows the other
			if round%2 == 0 {
				api = merge(api, load(s.base+sc.path, inm, status))
				top = merge(top, load(ceilURI, "", status))
			} else {
				top = merge(top, load(ceilURI, "", status))
				api = merge(api, load(s.base+sc.path, inm, status))
			}
		}
		b.ReportMetric(printRow(sc.name, api, top), strings.ReplaceAll(sc.name, " ", "_")+"_ratio")
	}
	fmt.Printf("\nresident memory of the server process: %s\n", residentMemory())
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func urlQueryEscape(s string) string {
	return strings.NewReplacer("?", "%3F", "&", "%26", "=", "%3D").Replace(s)
}

// residentMemory reads VmRSS from /proc (Linux).
func residentMemory() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:"))
		}
	}
	return "unknown"
}

// loadResult is what one load client process measured.
type loadResult struct {
	Latencies []time.Duration
	Elapsed   time.Duration
}

// loadClientEnv, when set, makes the test binary a load client (see TestMain) instead of running tests.
const loadClientEnv = "CASEGUIDE_LOAD_CLIENT"

// runLoadClient starts this test binary as a separate load-client process and returns what it measured.
func runLoadClient(b *testing.B, uri, ifNoneMatch string, wantStatus, seconds, conns int, headers ...string) loadResult {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), loadClientEnv+"=1", "LOAD_URI="+uri, "LOAD_IF_NONE_MATCH="+ifNoneMatch, "LOAD_HEADERS="+strings.Join(headers, "\n"),
		"LOAD_STATUS="+strconv.Itoa(wantStatus), "LOAD_SECONDS="+strconv.Itoa(seconds), "LOAD_CONNECTIONS="+strconv.Itoa(conns))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("load client: %v", err)
	}
	var r loadResult
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatalf("load client output: %v", err)
	}
	return r
}

// loadClientMain is the load client: LOAD_CONNECTIONS connections request LOAD_URI for LOAD_SECONDS,
// each checking the status, and the latencies are written to standard output as JSON.
func loadClientMain() {
	uri, inm := os.Getenv("LOAD_URI"), os.Getenv("LOAD_IF_NONE_MATCH")
	status, seconds, conns := envInt("LOAD_STATUS", 200), envInt("LOAD_SECONDS", 3), envInt("LOAD_CONNECTIONS", 16)
	u, err := url.Parse(uri)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	client := &fasthttp.HostClient{Addr: u.Host, MaxConns: conns, ReadBufferSize: 64 << 10}
	lat := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	var failed atomic.Bool
	start := time.Now()
	deadline := start.Add(time.Duration(seconds) * time.Second)
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI(uri)
			if inm != "" {
				req.Header.Set("If-None-Match", inm)
			}
			for _, h := range strings.Split(os.Getenv("LOAD_HEADERS"), "\n") {
				if k, v, ok := strings.Cut(h, ":"); ok {
					req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
				}
			}
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := client.Do(req, resp); err != nil || resp.StatusCode() != status {
					fmt.Fprintf(os.Stderr, "%s: %v status %d\n", uri, err, resp.StatusCode())
					failed.Store(true)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	r := loadResult{Elapsed: time.Since(start)}
	for _, l := range lat {
		r.Latencies = append(r.Latencies, l...)
	}
	if failed.Load() {
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		os.Exit(1)
	}
}

func merge(a, b loadResult) loadResult {
	return loadResult{Latencies: append(a.Latencies, b.Latencies...), Elapsed: a.Elapsed + b.Elapsed}
}

func percentile(l []time.Duration, p float64) time.Duration {
	slices.Sort(l)
	return l[int(p*float64(len(l)-1))].Round(time.Microsecond)
}

// printRow prints one table row (requests per second, p50 and p99 of both sides) and returns the ratio.
func printRow(name string, api, top loadResult) float64 {
	apiRPS := float64(len(api.Latencies)) / api.Elapsed.Seconds()
	topRPS := float64(len(top.Latencies)) / top.Elapsed.Seconds()
	fmt.Printf("| %s | %.0f | %.0f | %.2f | %v | %v | %v | %v |\n", name, apiRPS, topRPS, apiRPS/topRPS,
		percentile(api.Latencies, .5), percentile(api.Latencies, .99), percentile(top.Latencies, .5), percentile(top.Latencies, .99))
	return apiRPS / topRPS
}
