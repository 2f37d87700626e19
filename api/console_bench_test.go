package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkConsolePages measures the server time of the supervisor's console pages (the median of
// CONSOLE_BENCH_REQUESTS requests each, default 21, on one connection at a time, measured at the
// client on the loopback interface) for an organisation holding each number of open cases in
// CONSOLE_BENCH_CASES (default 100,500): every case assigned to one of ten caseworkers, opened five
// hours ago, with a protocol run whose first steps are overdue, and every tenth with an interview
// waiting for review. The sign-in page (no data) and GET /v1/worklist (the same worklist as JSON)
// run beside them for comparison.
//
//	go test ./api -run '^$' -bench ConsolePages -benchtime 1x
func BenchmarkConsolePages(b *testing.B) {
	sizes := benchSizes(b, "CONSOLE_BENCH_CASES")
	requests := envInt("CONSOLE_BENCH_REQUESTS", 21)
	s := startServer(b, testEnv(b.TempDir(), map[string]string{"LOG_LEVEL": "warn"}), nil)
	defer s.stop()
	supervisor, workers := benchStaff(b, s.base, "bench-")
	cc := consoleSignIn(b, s.base, "bench-supervisor", benchPassword)
	var me struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	req, _ := http.NewRequest(http.MethodGet, s.base+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+workers[0])
	if resp, err := client.Do(req); err != nil {
		b.Fatal(err)
	} else if err := json.NewDecoder(resp.Body).Decode(&me); err != nil || me.User.ID == "" {
		b.Fatalf("GET /v1/me: %v", err)
	} else {
		resp.Body.Close()
	}

	fmt.Printf("\n| open cases | sign-in page (no data) | GET /v1/cases/{id} (one audited read) | worklist page | interview review page | GET /v1/worklist | case list page | case page | coaching page |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	b.ResetTimer()
	created, review, oneCase := 0, "", ""
	for _, size := range sizes {
		b.StopTimer()
		var mu sync.Mutex
		var wg sync.WaitGroup
		next := make(chan int)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range next {
					token := workers[n%len(workers)]
					caseID := uuid.Must(uuid.NewV7()).String()
					c := newCase(caseID, "Bench child")
					c["opened_at"] = time.Now().Add(-5 * time.Hour).UTC().Format(time.RFC3339)
					benchJSON(b, s.base, http.MethodPost, "/v1/cases", token, c, http.StatusCreated)
					mu.Lock()
					oneCase = caseID
					mu.Unlock()
					benchJSON(b, s.base, http.MethodPost, "/v1/cases/"+caseID+"/runs", token,
						map[string]string{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": "first-contact-safety"}, http.StatusCreated)
					if n%10 == 0 {
						id := benchInterview(b, s.base, token, caseID)
						mu.Lock()
						review = "/console/cases/" + caseID + "/interviews/" + id
						mu.Unlock()
					}
				}
			}()
		}
		for ; created < size; created++ {
			next <- created
		}
		close(next)
		wg.Wait()
		b.StartTimer()
		var cpu []string // CPU per request of each page, in the order of the table
		median := func(get func() int) string {
			var ds []time.Duration
			cpu0, cpuOK := processCPU()
			for range requests {
				start := time.Now()
				if st := get(); st != http.StatusOK {
					b.Fatalf("status %d", st)
				}
				ds = append(ds, time.Since(start))
			}
			if cpu1, ok := processCPU(); ok && cpuOK {
				cpu = append(cpu, fmt.Sprintf("%.1f ms", float64((cpu1-cpu0).Microseconds())/1000/float64(requests)))
			} else {
				cpu = append(cpu, "?")
			}
			slices.Sort(ds)
			return fmt.Sprintf("%.1f ms", float64(ds[len(ds)/2].Microseconds())/1000)
		}
		signIn := median(func() int { return newConsoleClient(b, s.base).get("/console/login").status })
		read := median(func() int {
			return benchJSON(b, s.base, http.MethodGet, "/v1/cases/"+oneCase, supervisor, nil, http.StatusOK)
		})
		worklist := median(func() int { return cc.get("/console/").status })
		reviewPage := median(func() int { return cc.get(review).status })
		api := median(func() int {
			return benchJSON(b, s.base, http.MethodGet, "/v1/worklist", supervisor, nil, http.StatusOK)
		})
		caseList := median(func() int { return cc.get("/console/cases").status })
		casePage := median(func() int { return cc.get("/console/cases/" + oneCase).status })
		coaching := median(func() int { return cc.get("/console/coaching?interviewer=" + me.User.ID).status })
		fmt.Printf("| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", size, signIn, read, worklist, reviewPage, api, caseList, casePage, coaching)
		// The same requests' CPU time, server and client (one process), as a mean: it depends far less
		// than the wall time on what else runs on the machine.
		fmt.Printf("| %d, CPU per request | %s |\n", size, strings.Join(cpu, " | "))
	}
}

// benchPassword is every benchmark user's password.
const benchPassword = "a long console benchmark passphrase 2026"

// benchInterview conducts and submits a short interview on caseID and returns its id.
func benchInterview(b *testing.B, base, token, caseID string) string {
	id := uuid.Must(uuid.NewV7()).String()
	path := "/v1/cases/" + caseID + "/interviews/" + id
	benchJSON(b, base, http.MethodPost, "/v1/cases/"+caseID+"/interviews", token, map[string]any{"id": id, "plan": interviewPlan()}, http.StatusCreated)
	t0 := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	benchJSON(b, base, http.MethodPatch, path, token, map[string]any{"version": 1, "started_at": rfc(t0)}, http.StatusOK)
	var prompts []map[string]any
	for i, typ := range []string{"invitation", "cued_invitation", "directive", "option_posing", "suggestive", "invitation"} {
		prompts = append(prompts, map[string]any{"client_id": "p-" + strconv.Itoa(i), "type": typ, "words": "Prompt words",
			"recorded_at": rfc(t0.Add(time.Duration(2+i) * time.Minute))})
	}
	benchJSON(b, base, http.MethodPost, path+"/log", token, map[string]any{"prompts": prompts}, http.StatusOK)
	benchJSON(b, base, http.MethodPatch, path, token, map[string]any{"version": 2, "ended_at": rfc(t0.Add(30 * time.Minute))}, http.StatusOK)
	benchJSON(b, base, http.MethodPost, path+"/submit", token, map[string]any{"version": 3}, http.StatusOK)
	return id
}

// benchSizes reads the organisation sizes to measure from the environment variable name (default
// 100 and 500 open cases), failing on anything that is not a size.
func benchSizes(b *testing.B, name string) []int {
	b.Helper()
	var sizes []int
	for _, f := range strings.Split(cmp.Or(os.Getenv(name), "100,500"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("%s: %q is not a size", name, f)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// benchStaff creates, as the server's first admin, a supervisor (<prefix>supervisor) and ten
// caseworkers (<prefix>worker-0 to 9) with benchPassword, and returns their access tokens.
func benchStaff(b *testing.B, base, prefix string) (supervisor string, workers []string) {
	b.Helper()
	admin := benchToken(b, base, "admin", adminPassword)
	newUser := func(name, role string) string {
		benchJSON(b, base, http.MethodPost, "/v1/users", admin, map[string]any{"username": name, "display_name": "Bench " + name,
			"roles": []string{role}, "password": benchPassword}, http.StatusCreated)
		return benchToken(b, base, name, benchPassword)
	}
	supervisor = newUser(prefix+"supervisor", "supervisor")
	for i := range 10 {
		workers = append(workers, newUser(prefix+"worker-"+strconv.Itoa(i), "caseworker"))
	}
	return supervisor, workers
}

// benchJSON sends body (nil: none) and fails unless the status is want; it returns the status.
func benchJSON(b *testing.B, base, method, path, token string, body any, want int) int {
	b.Helper()
	var rd *bytes.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			b.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != want {
		b.Fatalf("%s %s: %d, want %d: %.300s", method, path, resp.StatusCode, want, buf.String())
	}
	return resp.StatusCode
}

// benchToken signs username in and returns the access token.
func benchToken(b *testing.B, base, username, password string) string {
	b.Helper()
	raw, _ := json.Marshal(map[string]string{"username": username, "password": password, "device_id": "bench-" + username})
	resp, err := client.Post(base+"/v1/auth/login", "application/json", bytes.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tk); err != nil || tk.AccessToken == "" {
		b.Fatalf("login %s: %d %v", username, resp.StatusCode, err)
	}
	return tk.AccessToken
}
