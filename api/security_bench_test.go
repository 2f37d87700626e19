//go:build benchsecurity

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkSecurityLayer measures what authentication, authorization and the audit entry cost on an
// authenticated case read: GET /v1/cases/{id} with a caseworker's token against the same read with
// all three switched off (a route only this test build has), alternating in the same run.
//
//	go test -tags benchsecurity ./api -run '^$' -bench SecurityLayer -benchtime 1x
//
// It loads each side with each number of connections in LOAD_CONNECTIONS (comma-separated, default
// 16,64), for LOAD_ROUNDS rounds (default 4) of LOAD_SECONDS (default 3), and reports, besides requests
// per second and latency, the CPU time the server process spends per request and the cores it keeps
// busy. Requests per second compare capacity only when both sides keep the CPU busy: a secured read
// also waits for its audit entry to be committed to disk, and with too few connections that wait,
// not the CPU, sets its pace. The CPU ratio (unguarded CPU per request over secured) shows the same
// from the server's side; it too is lower with few connections, because fewer audit entries then
// share each group commit.
func BenchmarkSecurityLayer(b *testing.B) {
	seconds, rounds := envInt("LOAD_SECONDS", 3), envInt("LOAD_ROUNDS", 4)
	connList := envInts("LOAD_CONNECTIONS", []int{16, 64})
	s := startServer(b, testEnv(b.TempDir(), map[string]string{"LOG_LEVEL": "warn"}), nil)
	defer s.stop()
	admin := benchToken(b, s.base, "admin", adminPassword)
	if r := benchPost(b, s.base, "/v1/users", admin, map[string]any{"username": "bench", "display_name": "Bench", "roles": []string{"caseworker"}, "password": "a secured read passphrase 2026"}); r != http.StatusCreated {
		b.Fatalf("creating the user: %d", r)
	}
	token := benchToken(b, s.base, "bench", "a secured read passphrase 2026")
	fmt.Printf("\n%d rounds of %ds per side, alternating; server CPU is this process's user+system time per request\n\n", rounds, seconds)
	fmt.Println("| read | connections | secured req/s | unguarded req/s | ratio | secured CPU/req | unguarded CPU/req | CPU ratio | cores busy, secured / unguarded | secured p50 | unguarded p50 |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	b.ResetTimer()
	// First with one case, then with benchCases stored, reading the one in the middle: a read by id
	// must not depend on how many cases there are (on the embedded database it did, until its _id
	// lookups got an index they use, see internal/ferret/idindex.go).
	var ids []string
	for _, size := range []int{1, benchCases} {
		b.StopTimer()
		for len(ids) < size {
			id := uuid.Must(uuid.NewV7()).String()
			if r := benchPost(b, s.base, "/v1/cases", token, newCase(id, "Bench child")); r != http.StatusCreated {
				b.Fatalf("creating a case: %d", r)
			}
			ids = append(ids, id)
		}
		b.StartTimer()
		id := ids[len(ids)/2]
		for _, conns := range connList {
			var secured, open serverLoad
			for round := range rounds {
				sec := func() {
					secured.add(b, func() loadResult {
						return runLoadClient(b, s.base+"/v1/cases/"+id, "", 200, seconds, conns, "Authorization: Bearer "+token)
					})
				}
				opn := func() {
					open.add(b, func() loadResult {
						return runLoadClient(b, s.base+"/bench/unguarded/cases/"+id, "", 200, seconds, conns)
					})
				}
				if round%2 == 0 {
					sec()
					opn()
				} else {
					opn()
					sec()
				}
			}
			ratio, cpuRatio := secured.rps()/open.rps(), open.cpuPerRequest().Seconds()/secured.cpuPerRequest().Seconds()
			fmt.Printf("| GET /v1/cases/{id}, %d case(s) stored | %d | %.0f | %.0f | %.2f | %v | %v | %.2f | %.2f / %.2f | %v | %v |\n",
				size, conns, secured.rps(), open.rps(), ratio, secured.cpuPerRequest(), open.cpuPerRequest(), cpuRatio,
				secured.coresBusy(), open.coresBusy(), percentile(secured.Latencies, .5), percentile(open.Latencies, .5))
			b.ReportMetric(ratio, fmt.Sprintf("ratio_%dcases_%dconns", size, conns))
			b.ReportMetric(cpuRatio, fmt.Sprintf("cpu_ratio_%dcases_%dconns", size, conns))
		}
	}
}

// serverLoad is what rounds of a load client measured, with the CPU time this process (the server and
// its embedded database; the client is another process) spent meanwhile.
type serverLoad struct {
	loadResult
	cpu time.Duration
}

// add runs one round and adds what it measured.
func (l *serverLoad) add(b *testing.B, round func() loadResult) {
	b.Helper()
	before := cpuNow(b)
	r := round()
	l.cpu += cpuNow(b) - before
	l.loadResult = merge(l.loadResult, r)
}

func (l *serverLoad) rps() float64 { return float64(len(l.Latencies)) / l.Elapsed.Seconds() }

// coresBusy is how many CPU cores the server process kept busy on average.
func (l *serverLoad) coresBusy() float64 { return l.cpu.Seconds() / l.Elapsed.Seconds() }

func (l *serverLoad) cpuPerRequest() time.Duration {
	return (l.cpu / time.Duration(len(l.Latencies))).Round(time.Microsecond)
}

// cpuNow returns processCPU's figure, failing b where it cannot be read.
func cpuNow(b *testing.B) time.Duration {
	b.Helper()
	d, ok := processCPU()
	if !ok {
		b.Fatal("this system does not report the process's CPU time")
	}
	return d
}

// envInts reads a comma-separated list of positive integers from the environment, or returns def.
func envInts(name string, def []int) []int {
	var out []int
	for _, f := range strings.Split(os.Getenv(name), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return def
		}
		out = append(out, n)
	}
	return out
}

// benchCases is the organisation size of the second measurement: a few hundred cases is what the
// embedded database is meant for (README, Database modes).
const benchCases = 200

// benchPost sends a JSON body with a bearer token and returns the status.
func benchPost(b *testing.B, base, path, token string, body any) int {
	b.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
