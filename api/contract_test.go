package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"

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
// validates the rest of the document before any test runs), with one JSON Schema compiler for the
// whole document (kin-openapi's own check compiles a validator per example: 24 s). It also shows the
// check failing on a copy of the document with one example broken.
func TestContractExamples(t *testing.T) {
	t.Parallel()
	raw, err := json.Marshal(contract)
	if err != nil {
		t.Fatal(err)
	}
	load := func(t *testing.T) map[string]any {
		t.Helper()
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		return doc.(map[string]any)
	}
	t.Run("the contract", func(t *testing.T) {
		t.Parallel()
		checked, errs := exampleErrors(t, load(t))
		for _, err := range errs {
			t.Error(err)
		}
		t.Logf("checked %d examples", checked)
		if checked < 100 {
			t.Errorf("checked %d examples; the contract has more than 100", checked)
		}
	})
	t.Run("a broken example is found", func(t *testing.T) {
		t.Parallel()
		doc := load(t)
		problem := doc["components"].(map[string]any)["schemas"].(map[string]any)["Problem"].(map[string]any)
		problem["properties"].(map[string]any)["type"].(map[string]any)["examples"] = []any{"not a problem type"}
		if _, errs := exampleErrors(t, doc); len(errs) != 1 {
			t.Errorf("%d errors, want 1: %v", len(errs), errs)
		}
	})
}

// exampleErrors checks every example in the OpenAPI document doc (as JSON) against its schema:
// a schema's own example and examples, and the example or examples of a media type, parameter or
// header against the schema beside them. It returns how many it checked and what did not match.
func exampleErrors(t *testing.T, doc map[string]any) (checked int, errs []error) {
	t.Helper()
	const url = "urn:caseguide:openapi-examples"
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	check := func(schemaAt, exampleAt string, v any) {
		checked++
		s, err := c.Compile(url + "#" + schemaAt)
		if err == nil {
			err = s.Validate(v)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("example at %s does not match its schema %s: %w", exampleAt, schemaAt, err))
		}
	}
	var walk func(at string, node any)
	walk = func(at string, node any) {
		switch n := node.(type) {
		case []any:
			for i, v := range n {
				walk(at+"/"+strconv.Itoa(i), v)
			}
		case map[string]any:
			schemaAt := at // an example beside a schema is of that schema, else of the object it is in
			if _, ok := n["schema"].(map[string]any); ok {
				schemaAt = at + "/schema"
			}
			for key, v := range n {
				list, isList := v.([]any)
				named, isMap := v.(map[string]any)
				switch {
				case key == "example" && (schemaAt != at || isSchema(n)):
					check(schemaAt, at+"/example", v)
				case key == "examples" && isList && isSchema(n):
					for i, e := range list {
						check(at, at+"/examples/"+strconv.Itoa(i), e)
					}
				case key == "examples" && isMap && schemaAt != at:
					for name, e := range named {
						if value, ok := e.(map[string]any)["value"]; ok {
							check(schemaAt, at+"/examples/"+escapePointer(name)+"/value", value)
						}
					}
				default:
					walk(at+"/"+escapePointer(key), v)
				}
			}
		}
	}
	walk("", doc)
	return checked, errs
}

// isSchema reports whether the JSON object n is a schema holding examples: in OpenAPI 3.1 only a
// schema's examples are a list, and a schema's example sits beside its type, reference or composition.
func isSchema(n map[string]any) bool {
	if _, ok := n["examples"].([]any); ok {
		return true
	}
	for _, k := range []string{"type", "$ref", "oneOf", "anyOf", "allOf", "enum", "const", "format", "pattern"} {
		if _, ok := n[k]; ok {
			return true
		}
	}
	return false
}
