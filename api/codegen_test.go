package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
