package mongodb

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every collection a store uses is named by a constant ending in "Collection"; CreateCollections
// must know each of them.
func TestCollectionsListsEveryCollection(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var named []string
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range spec.Names {
				if !strings.HasSuffix(name.Name, "Collection") || i >= len(spec.Values) {
					continue
				}
				if lit, ok := spec.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					named = append(named, v)
				}
			}
			return true
		})
	}
	if len(named) < 20 {
		t.Fatalf("found only %d collection constants: %v", len(named), named)
	}
	for _, name := range named {
		if !slices.Contains(collections, name) {
			t.Errorf("collection %q is not in collections", name)
		}
	}
	if len(named) != len(collections) {
		t.Errorf("%d collection constants, %d in collections", len(named), len(collections))
	}
}
