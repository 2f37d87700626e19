//go:build benchsecurity

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// BenchmarkSecurityLayer measures what authentication, authorization and the audit entry cost on an
// authenticated case read: GET /v1/cases/{id} with a caseworker's token against the same read with
// all three switched off (a route only this test build has), alternating in the same run.
//
//	go test -tags benchsecurity ./api -run '^$' -bench SecurityLayer -benchtime 1x
func BenchmarkSecurityLayer(b *testing.B) {
	seconds, rounds, conns := envInt("LOAD_SECONDS", 3), envInt("LOAD_ROUNDS", 4), envInt("LOAD_CONNECTIONS", 16)
	s := startServer(b, testEnv(b.TempDir(), map[string]string{"LOG_LEVEL": "warn"}), nil)
	defer s.stop()
	admin := benchLogin(b, s.base, "admin", adminPassword)
	if r := benchPost(b, s.base, "/v1/users", admin, map[string]any{"username": "bench", "display_name": "Bench", "roles": []string{"caseworker"}, "password": "a secured read passphrase 2026"}); r != http.StatusCreated {
		b.Fatalf("creating the user: %d", r)
	}
	token := benchLogin(b, s.base, "bench", "a secured read passphrase 2026")
	fmt.Printf("\n%d connections, %d rounds of %ds per side, alternating\n\n", conns, rounds, seconds)
	fmt.Println("| read | secured req/s | unguarded req/s | ratio | secured p50 | secured p99 | unguarded p50 | unguarded p99 |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	b.ResetTimer()
	// The embedded database scans for a case by id until it finds it, so what a read costs depends on
	// how many cases are stored and where the one read sits: first with one case, then with
	// benchCases stored, reading the one in the middle.
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
		var secured, open loadResult
		for round := range rounds {
			sec := func() {
				secured = merge(secured, runLoadClient(b, s.base+"/v1/cases/"+id, "", 200, seconds, conns, "Authorization: Bearer "+token))
			}
			opn := func() {
				open = merge(open, runLoadClient(b, s.base+"/bench/unguarded/cases/"+id, "", 200, seconds, conns))
			}
			if round%2 == 0 {
				sec()
				opn()
			} else {
				opn()
				sec()
			}
		}
		ratio := printRow(fmt.Sprintf("GET /v1/cases/{id}, %d case(s) stored", size), secured, open)
		b.ReportMetric(ratio, fmt.Sprintf("ratio_%dcases", size))
	}
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

// benchLogin signs in and returns the access token.
func benchLogin(b *testing.B, base, username, password string) string {
	b.Helper()
	raw, _ := json.Marshal(map[string]string{"username": username, "password": password, "device_id": "bench-" + username})
	resp, err := http.Post(base+"/v1/auth/login", "application/json", bytes.NewReader(raw))
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
