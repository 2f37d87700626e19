package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
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
// tune it. It prints a table (requests per second, p50 and p99 latency, ratio to the ceiling) and the
// process's resident memory; the client runs in the same process, so that figure includes it.
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
	client := &fasthttp.HostClient{Addr: addr, MaxConns: conns, ReadBufferSize: 64 << 10}

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

	type result struct {
		requests  int
		latencies []time.Duration
		elapsed   time.Duration
	}
	load := func(uri, ifNoneMatch string, wantStatus int) result {
		var wg sync.WaitGroup
		lat := make([][]time.Duration, conns)
		deadline := time.Now().Add(time.Duration(seconds) * time.Second)
		start := time.Now()
		for w := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				req.SetRequestURI(uri)
				if ifNoneMatch != "" {
					req.Header.Set("If-None-Match", ifNoneMatch)
				}
				for time.Now().Before(deadline) {
					t0 := time.Now()
					if err := client.Do(req, resp); err != nil || resp.StatusCode() != wantStatus {
						b.Errorf("%s: %v status %d", uri, err, resp.StatusCode())
						return
					}
					lat[w] = append(lat[w], time.Since(t0))
				}
			}()
		}
		wg.Wait()
		r := result{elapsed: time.Since(start)}
		for _, l := range lat {
			r.latencies = append(r.latencies, l...)
		}
		r.requests = len(r.latencies)
		return r
	}
	merge := func(a, b result) result {
		return result{requests: a.requests + b.requests, latencies: append(a.latencies, b.latencies...), elapsed: a.elapsed + b.elapsed}
	}
	pct := func(l []time.Duration, p float64) time.Duration {
		slices.Sort(l)
		return l[int(p*float64(len(l)-1))]
	}

	b.ResetTimer()
	fmt.Printf("\n%d connections, %d rounds of %ds per side, alternating\n\n", conns, rounds, seconds)
	fmt.Println("| scenario | API req/s | ceiling req/s | ratio | API p50 | API p99 | ceiling p50 | ceiling p99 |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, sc := range scenarios {
		var api, top result
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
		apiRPS := float64(api.requests) / api.elapsed.Seconds()
		topRPS := float64(top.requests) / top.elapsed.Seconds()
		ratio := apiRPS / topRPS
		fmt.Printf("| %s | %.0f | %.0f | %.2f | %v | %v | %v | %v |\n", sc.name, apiRPS, topRPS, ratio,
			pct(api.latencies, .5).Round(time.Microsecond), pct(api.latencies, .99).Round(time.Microsecond),
			pct(top.latencies, .5).Round(time.Microsecond), pct(top.latencies, .99).Round(time.Microsecond))
		b.ReportMetric(ratio, strings.ReplaceAll(sc.name, " ", "_")+"_ratio")
	}
	fmt.Printf("\nresident memory of the process (server and load client): %s\n", residentMemory())
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
