package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	// The runtime the generated client imports: required here so that the module provides it, and
	// the generated code builds offline after `go mod download`.
	_ "github.com/oapi-codegen/runtime"
	_ "github.com/oapi-codegen/runtime/types"
)

// TestContractGeneratesGoClient generates a Go client from api/openapi.yaml with oapi-codegen, at the
// version go.mod pins as a tool and with no option beyond the package name and what to generate
// (types and client), then vets (so type-checks) the generated code. A contract a generator refuses,
// or that generates code that does not compile, fails here.
func TestContractGeneratesGoClient(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// Inside the module, so that its go.mod provides the runtime; a name starting with "_" keeps it
	// out of ./... patterns.
	dir, err := os.MkdirTemp(root, "_oapigen-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	goCommand(t, root, "tool", "oapi-codegen", "-generate", "types,client", "-package", "caseguideclient",
		"-o", filepath.Join(dir, "client.gen.go"), filepath.Join("api", "openapi.yaml"))
	goCommand(t, root, "vet", "./"+filepath.Base(dir))
}

// goCommand runs the go command in dir and fails the test with its output when it fails.
func goCommand(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestContractConventions checks the rules every operation of the contract follows, so that a new
// operation cannot miss them: every POST declares the Idempotency-Key parameter and, outside
// /v1/auth (whose answers are never kept), the Idempotent-Replayed header on its success answers;
// no operation declares 405 (a method the path declares is never refused as not allowed); no
// parameter shares its name with a schema (generators name a type after each); no string enum lists
// null (nullable enums are a oneOf with {type: 'null'}).
func TestContractConventions(t *testing.T) {
	t.Parallel()
	for _, path := range contract.Paths.InMatchingOrder() {
		for method, op := range contract.Paths.Value(path).Operations() {
			name := method + " " + path
			if op.Responses.Value("405") != nil {
				t.Errorf("%s declares 405, which it cannot answer (see Methods in the contract)", name)
			}
			if method != http.MethodPost {
				continue
			}
			if op.Parameters.GetByInAndName(openapi3.ParameterInHeader, "Idempotency-Key") == nil {
				t.Errorf("%s does not declare the Idempotency-Key parameter", name)
			}
			if strings.HasPrefix(path, "/v1/auth/") {
				continue
			}
			for code, resp := range op.Responses.Map() {
				if strings.HasPrefix(code, "2") && resp.Value.Headers["Idempotent-Replayed"] == nil {
					t.Errorf("%s %s does not declare the Idempotent-Replayed header", name, code)
				}
			}
		}
	}
	for name := range contract.Components.Parameters {
		if _, clash := contract.Components.Schemas[name]; clash {
			t.Errorf("parameter %s has the name of a schema", name)
		}
	}
	var visit func(where string, s *openapi3.Schema)
	seen := map[*openapi3.Schema]bool{}
	visit = func(where string, s *openapi3.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		for _, v := range s.Enum {
			if v == nil {
				t.Errorf("%s lists null in its enum", where)
			}
		}
		for name, p := range s.Properties {
			visit(where+"."+name, p.Value)
		}
		for _, list := range [][]*openapi3.SchemaRef{s.OneOf, s.AnyOf, s.AllOf} {
			for _, r := range list {
				visit(where, r.Value)
			}
		}
		if s.Items != nil {
			visit(where+"[]", s.Items.Value)
		}
	}
	for name, s := range contract.Components.Schemas {
		visit(name, s.Value)
	}
}

// TestContractExamples checks every example in api/openapi.yaml against its schema (TestMain
// validates the rest of the document before any test runs). It validates a copy of its own, so the
// checks the other tests make on the shared document run beside it.
func TestContractExamples(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(openAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("an example in api/openapi.yaml does not match its schema: %v", err)
	}
}
