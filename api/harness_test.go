package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/ferret"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// The package's tests share one server started from serve() on the embedded database (or on
// MONGODB_TEST_URI), and validate every response they get against api/openapi.yaml.
var (
	shared     *testServer
	contract   *openapi3.T
	contractRt routers.Router
)

func TestMain(m *testing.M) {
	if os.Getenv(loadClientEnv) != "" {
		loadClientMain()
		return
	}
	if args := os.Getenv(runAsBinaryEnv); args != "" {
		os.Exit(runAsBinary(args))
	}
	openapi3filter.RegisterBodyDecoder("application/problem+json", openapi3filter.JSONBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/schema+json", openapi3filter.JSONBodyDecoder)
	var err error
	if contract, err = openapi3.NewLoader().LoadFromData(openAPI); err != nil {
		fmt.Fprintln(os.Stderr, "loading openapi.yaml:", err)
		os.Exit(1)
	}
	// The examples are checked by TestContractExamples, beside the other tests: checking them
	// compiles a JSON Schema validator per example, 15 s of CPU that no test could start before.
	if err := contract.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		fmt.Fprintln(os.Stderr, "openapi.yaml is not a valid OpenAPI document:", err)
		os.Exit(1)
	}
	if contractRt, err = gorillamux.NewRouter(contract); err != nil {
		fmt.Fprintln(os.Stderr, "routing openapi.yaml:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopBrowser()
	if shared != nil {
		shared.stop()
	}
	os.Exit(code)
}

// adminPassword is the first administrator's password on test servers.
const adminPassword = "bootstrap passphrase for tests"

// testPasswords is the argon2id cost of the password hashes test servers and the users command make
// (64 KiB, one pass: well under a millisecond instead of about half a second). Verification reads the
// cost from each hash, so sign-in goes through the same code. TestProductionPasswordCost keeps the
// production defaults.
var testPasswords = identity.PasswordParams{Memory: 64, Time: 1, Threads: 1}

// testServer is a server started with serve() in this process.
type testServer struct {
	base    string
	logs    *syncBuffer
	cancel  context.CancelFunc
	done    chan error
	dataDir string
}

// syncBuffer is a bytes.Buffer safe for the server's writes and the test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	sharedOnce   sync.Once
	sharedRoutes []httpapi.Route
	sharedEnv    map[string]string
)

// server returns the shared server, starting it on first use.
func server(t *testing.T) *testServer {
	t.Helper()
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "caseguide-api-test")
		if err != nil {
			t.Fatal(err)
		}
		// Closed cases may be erased at once on the shared server (the retention period's refusal is
		// tested on a server of its own, TestErasureWaitsForTheRetentionPeriod).
		// Access tokens outlive the whole run: the shared admin's token (adminToken) is issued once, and a
		// full run on a loaded machine takes longer than the default 15 minutes.
		sharedEnv = testEnv(dir, map[string]string{"RETENTION_AFTER_CLOSE": "0s", "ACCESS_TOKEN_TTL": "3h"})
		shared = startServer(t, sharedEnv, &serveHooks{matrix: func(r []httpapi.Route) { sharedRoutes = r }})
		shared.dataDir = dir
	})
	if shared == nil {
		t.Fatal("the shared server did not start")
	}
	return shared
}

// testEnv is the environment of a test server: loopback, any port, dataDir, and MONGODB_TEST_URI
// with a fresh database when set. extra entries override. An existing dataDir is made private.
func testEnv(dataDir string, extra map[string]string) map[string]string {
	_ = os.Chmod(dataDir, 0o700) // the service refuses a DATA_DIR others may open (t.TempDir's are 0755)
	env := map[string]string{"HOST": "127.0.0.1", "PORT": "0", "DATA_DIR": dataDir, "LOG_LEVEL": "info",
		"BOOTSTRAP_ADMIN_PASSWORD": adminPassword}
	if uri := os.Getenv("MONGODB_TEST_URI"); uri != "" {
		env["MONGODB_URI"] = uri
		env["MONGODB_DATABASE"] = dbtest.DatabaseName()
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// startServer runs serve() with env until stop is called; it returns once the server listens.
func startServer(t testing.TB, env map[string]string, hooks *serveHooks) *testServer {
	t.Helper()
	if hooks == nil {
		hooks = &serveHooks{}
	}
	if hooks.password == (identity.PasswordParams{}) {
		hooks.password = testPasswords
	}
	listening := make(chan string, 1)
	hooks.listening = func(addr string) { listening <- addr }
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- serve(ctx, nil, func(k string) string { return env[k] }, s.logs, s.logs, hooks) }()
	select {
	case addr := <-listening:
		s.base = "http://" + addr
	case err := <-s.done:
		cancel()
		t.Fatalf("the server did not start: %v\n%s", err, s.logs)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("the server did not start within a minute:\n%s", s.logs)
	}
	return s
}

// stop shuts the server down and returns serve's result.
func (s *testServer) stop() error {
	s.cancel()
	err := <-s.done
	if s.dataDir != "" {
		os.RemoveAll(s.dataDir)
	}
	return err
}

// response is a response already read and checked against the contract.
type response struct {
	status int
	header http.Header
	body   []byte // decompressed
	raw    []byte // as sent
}

// json decodes the body into v.
func (r *response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// problem decodes a problem+json body.
func (r *response) problem(t *testing.T) problemBody {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, r.body)
	}
	var p problemBody
	r.json(t, &p)
	return p
}

type problemBody struct {
	Type, Title, Detail, Instance, Code string
	Status                              int
	RequestID                           string `json:"request_id"`
	Errors                              []struct{ Field, Code, Message string }
}

// client sends every request on a new connection from a random loopback address (127.x.y.z), so the
// sign-in throttling per client address, which tests that fail sign-ins on purpose trip, does not
// lock out the other tests sharing the server.
var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
	DisableCompression: true,
	DisableKeepAlives:  true,
	DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		local := &net.TCPAddr{IP: net.IPv4(127, byte(1+rand.IntN(254)), byte(1+rand.IntN(254)), byte(1+rand.IntN(254)))}
		return (&net.Dialer{LocalAddr: local}).DialContext(ctx, network, addr)
	},
}}

// do sends a request to base and validates the response against api/openapi.yaml.
// headers are "Name: value" strings.
func do(t *testing.T, base, method, path string, body io.Reader, headers ...string) *response {
	t.Helper()
	var pushed []byte // a sync push's body, to check its operations against the contract
	if method == http.MethodPost && strings.HasPrefix(path, "/v1/sync/push") && body != nil {
		var err error
		if pushed, err = io.ReadAll(body); err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(pushed)
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &response{status: resp.StatusCode, header: resp.Header, raw: raw, body: raw}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("bad gzip body: %v", err)
		}
		if r.body, err = io.ReadAll(zr); err != nil {
			t.Fatalf("bad gzip body: %v", err)
		}
	}
	checkContract(t, req, r)
	if pushed != nil {
		checkPushedOperations(t, pushed, r)
	}
	return r
}

// checkPushedOperations validates each operation of a sync push that the service took (applied,
// merged, already applied or in conflict) against the contract's SyncOperation: the contract must
// describe every operation the service accepts.
func checkPushedOperations(t *testing.T, body []byte, r *response) {
	t.Helper()
	var req struct {
		Operations []any `json:"operations"`
	}
	var res struct {
		Results []struct {
			Status string `json:"status"`
		} `json:"results"`
	}
	if r.status != http.StatusOK || json.Unmarshal(body, &req) != nil || json.Unmarshal(r.body, &res) != nil ||
		len(req.Operations) != len(res.Results) {
		return
	}
	schema := contract.Components.Schemas["SyncOperation"].Value
	for i, op := range req.Operations {
		switch res.Results[i].Status {
		case "applied", "merged", "already_applied", "conflict":
			if err := schema.VisitJSON(op); err != nil {
				t.Errorf("operations[%d] was %s but does not match SyncOperation in api/openapi.yaml: %v", i, res.Results[i].Status, err)
			}
		}
	}
}

// checkContract validates a response against the OpenAPI document. Requests the contract has no
// operation for (wrong method, unknown path) must still answer a Problem.
func checkContract(t *testing.T, req *http.Request, r *response) {
	t.Helper()
	route, params, err := contractRt.FindRoute(req)
	if err != nil {
		if r.status < 400 {
			t.Errorf("%s %s answered %d but the contract has no such operation", req.Method, req.URL.Path, r.status)
			return
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatalf("undocumented %s %s: body is not JSON: %s", req.Method, req.URL, r.body)
		}
		if err := contract.Components.Schemas["Problem"].Value.VisitJSON(v); err != nil {
			t.Errorf("%s %s: body is not a Problem: %v", req.Method, req.URL, err)
		}
		if errors.Is(err, routers.ErrMethodNotAllowed) && r.status == http.StatusMethodNotAllowed {
			checkAllow(t, req, r.header.Get("Allow"))
		}
		return
	}
	header := r.header.Clone()
	header.Del("Content-Encoding")
	// A JSON body is checked against a schema compiled once (see contract_check_test.go); kin-openapi
	// checks the status, the headers and any other body.
	pointer, jsonBody := "", false
	if !skipsBody(req, r.status) {
		pointer, jsonBody = jsonBodyPointer(route, r.status, header.Get("Content-Type"))
	}
	options := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, ExcludeResponseBody: jsonBody}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: options},
		Status:                 r.status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(r.body)),
		Options:                options,
	}
	err = openapi3filter.ValidateResponse(context.Background(), input)
	if err == nil && jsonBody {
		err = checkJSONBody(pointer, r.body)
	}
	if err != nil {
		t.Errorf("%s %s (%d) does not match api/openapi.yaml: %v\nbody: %.600s", req.Method, req.URL, r.status, err, r.body)
	}
}

// checkAllow checks the Allow header of a 405 against the contract: the shape the MethodNotAllowed
// response declares, listing every method the contract has an operation for at the request's path (HEAD
// with GET). It may list more: a method of a templated path that also matches (GET
// /v1/authoring/drafts/import is GET /v1/authoring/drafts/{id}).
func checkAllow(t *testing.T, req *http.Request, allow string) {
	t.Helper()
	if err := contract.Components.Responses["MethodNotAllowed"].Value.Headers["Allow"].Value.Schema.Value.VisitJSON(allow); err != nil {
		t.Errorf("%s %s: Allow %q does not match api/openapi.yaml: %v", req.Method, req.URL.Path, allow, err)
	}
	listed := strings.Split(allow, ", ")
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := req.Clone(context.Background())
		probe.Method = m
		if _, _, err := contractRt.FindRoute(probe); err != nil {
			continue
		}
		if !slices.Contains(listed, m) || (m == http.MethodGet && !slices.Contains(listed, http.MethodHead)) {
			t.Errorf("%s %s: Allow %q leaves out %s, which the contract declares at this path", req.Method, req.URL.Path, allow, m)
		}
	}
}

// get is do with GET and no body.
func get(t *testing.T, base, path string, headers ...string) *response {
	t.Helper()
	return do(t, base, http.MethodGet, path, nil, headers...)
}

// rawDatabase connects to test server s's database directly, bypassing the service (to look at what
// is stored, or to tamper with it); the connection is closed when the test ends.
func rawDatabase(t *testing.T, s *testServer) *mongo.Database {
	t.Helper()
	uri := os.Getenv("MONGODB_TEST_URI")
	if uri == "" {
		var ok bool
		if uri, ok = ferret.Attach(s.dataDir); !ok {
			t.Fatal("cannot reach the embedded database")
		}
	}
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) })
	return client.Database(envOf(s, "MONGODB_DATABASE", "caseguide"))
}
