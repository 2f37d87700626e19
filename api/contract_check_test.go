package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Checking a JSON response body against the contract. kin-openapi validates an OpenAPI 3.1 body by
// turning the schema into a JSON Schema and compiling a validator for it on every call: about 60% of
// the CPU of a test such as TestAccessMatrix (32.8 s) went there. contractBodies compiles each
// response schema once, from the contract itself as one JSON Schema resource (OpenAPI 3.1 schemas are
// JSON Schema 2020-12), and keeps it for every later response; kin-openapi still checks the status
// and the headers, and every body that is not JSON.
var contractBodies struct {
	once     sync.Once
	compiler *jsonschema.Compiler
	err      error
	schemas  sync.Map // JSON pointer into the contract → *jsonschema.Schema
}

// contractURL names the contract as a JSON Schema resource.
const contractURL = "urn:caseguide:openapi"

// contractSchema returns the compiled schema at pointer (for example
// "#/components/schemas/Problem"), compiling it the first time.
func contractSchema(pointer string) (*jsonschema.Schema, error) {
	if s, ok := contractBodies.schemas.Load(pointer); ok {
		return s.(*jsonschema.Schema), nil
	}
	contractBodies.once.Do(func() {
		raw, err := json.Marshal(contract)
		if err != nil {
			contractBodies.err = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			contractBodies.err = err
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		contractBodies.err = c.AddResource(contractURL, doc)
		contractBodies.compiler = c
	})
	if contractBodies.err != nil {
		return nil, contractBodies.err
	}
	// The compiler is not safe for concurrent use; compiling happens once per schema.
	contractCompile.Lock()
	defer contractCompile.Unlock()
	if s, ok := contractBodies.schemas.Load(pointer); ok {
		return s.(*jsonschema.Schema), nil
	}
	s, err := contractBodies.compiler.Compile(contractURL + pointer)
	if err != nil {
		return nil, err
	}
	contractBodies.schemas.Store(pointer, s)
	return s, nil
}

// contractCompile serializes compiling (see contractSchema).
var contractCompile sync.Mutex

// jsonBodyPointer returns the JSON pointer of the schema the contract gives route's response with
// status and content type ct, when that body is JSON; ok is false when it is not JSON, has no schema
// or no declared response (kin-openapi reports those).
func jsonBodyPointer(route *routers.Route, status int, ct string) (pointer string, ok bool) {
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil || (mediaType != "application/json" && !strings.HasSuffix(mediaType, "+json")) {
		return "", false
	}
	responses := route.Operation.Responses
	var key string
	var ref *openapi3.ResponseRef
	for _, k := range []string{strconv.Itoa(status), string(strconv.Itoa(status)[0]) + "XX", "default"} {
		if ref = responses.Value(k); ref != nil {
			key = k
			break
		}
	}
	if ref == nil || ref.Value == nil {
		return "", false
	}
	at := ref.Ref
	if at == "" {
		at = "#/paths/" + escapePointer(route.Path) + "/" + strings.ToLower(route.Method) + "/responses/" + key
	}
	media := ref.Value.Content.Get(ct)
	if media == nil || media.Schema == nil {
		return "", false
	}
	if media.Schema.Ref != "" && strings.HasPrefix(media.Schema.Ref, "#/") {
		return media.Schema.Ref, true
	}
	for name, m := range ref.Value.Content {
		if m == media {
			return at + "/content/" + escapePointer(name) + "/schema", true
		}
	}
	return "", false
}

// escapePointer escapes s as one JSON pointer token.
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// checkJSONBody validates a JSON body against the compiled schema at pointer.
func checkJSONBody(pointer string, body []byte) error {
	s, err := contractSchema(pointer)
	if err != nil {
		return fmt.Errorf("compiling %s: %w", pointer, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	return s.Validate(v)
}

// skipsBody reports the responses kin-openapi does not validate at all (HEAD, 304, redirects).
func skipsBody(req *http.Request, status int) bool {
	switch status {
	case http.StatusNotModified, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusMovedPermanently:
		return true
	}
	return req.Method == http.MethodHead
}

// TestContractBodyCheckerCatchesMismatches shows that the compiled body check (checkContract's fast
// path) fails responses that do not match the contract, through both a referenced response
// (#/components/responses/...) and an inline one, and accepts ones that do.
func TestContractBodyCheckerCatchesMismatches(t *testing.T) {
	t.Parallel()
	problem := `{"type":"urn:caseguide:problem:case_not_found","title":"Not found","status":404,"detail":"No such case.","instance":"/v1/cases/x","code":"case_not_found","request_id":"r1"}`
	tests := []struct {
		name, path, ct string
		status         int
		body           string
		wantErr        bool
	}{
		{"a problem matching", "/v1/cases/0b6f8f2e-7f4d-4c8e-9d35-5b0e2f6b9a11", "application/problem+json", 404, problem, false},
		{"a problem missing its code", "/v1/cases/0b6f8f2e-7f4d-4c8e-9d35-5b0e2f6b9a11", "application/problem+json", 404,
			strings.Replace(problem, `,"code":"case_not_found"`, "", 1), true},
		{"a problem with a status as a string", "/v1/cases/0b6f8f2e-7f4d-4c8e-9d35-5b0e2f6b9a11", "application/problem+json", 404,
			strings.Replace(problem, `"status":404`, `"status":"404"`, 1), true},
		{"a problem with a property the contract does not have", "/v1/cases/0b6f8f2e-7f4d-4c8e-9d35-5b0e2f6b9a11", "application/problem+json", 404,
			strings.Replace(problem, `{`, `{"child_name":"x",`, 1), true},
		{"a case that is an empty object", "/v1/cases/0b6f8f2e-7f4d-4c8e-9d35-5b0e2f6b9a11", "application/json", 200, `{}`, true},
		{"a body that is not JSON", "/v1/cases/0b6f8f2e-7f4d-4c8e-9d35-5b0e2f6b9a11", "application/json", 200, `{"id":`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, "http://localhost"+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			route, _, err := contractRt.FindRoute(req)
			if err != nil {
				t.Fatal(err)
			}
			pointer, ok := jsonBodyPointer(route, tt.status, tt.ct)
			if !ok {
				t.Fatalf("no JSON body schema for %d %s", tt.status, tt.ct)
			}
			if err := checkJSONBody(pointer, []byte(tt.body)); (err != nil) != tt.wantErr {
				t.Errorf("checkJSONBody(%s) = %v, want an error: %v", pointer, err, tt.wantErr)
			}
		})
	}
}
