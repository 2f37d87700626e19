package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Problem is one finding of the validator, located in a file.
// Incomplete problems (a missing translation) do not stop a library from loading; all others do.
type Problem struct {
	File       string
	Line       int
	Message    string
	Incomplete bool
	// Path and Code are set by CheckSource and CheckTranslations (documents that come from the API,
	// not from files): the JSON pointer of the field (/phases/0/steps/2/title) and a stable code.
	Path string
	Code string
	Args map[string]any // values for the code's message (Values, Type, Min, Max)
}

// String formats the problem as file:line: message, or file: message for a problem of the file as a
// whole (Line 0: a missing file).
func (p Problem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Message)
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
}

// Problems is a list of findings; as an error it reads as one finding per line.
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the problems that are not mere incompleteness.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Incomplete {
			out = append(out, p)
		}
	}
	return out
}

// ReservedIDs are protocol ids the API's routes use (GET /v1/protocols/bundle).
var ReservedIDs = []string{"bundle"}

// Validator checks protocol folders: schema, ids, references between steps, conditions and translations.
type Validator struct {
	protocolSchema    *jsonschema.Schema
	translationSchema *jsonschema.Schema
	locales           []string
}

// NewValidator compiles the JSON Schemas of protocol and translation files. locales lists the locales
// every protocol should be translated into (the source locale may be among them).
// It returns an error when a schema does not compile.
func NewValidator(protocolSchema, translationSchema []byte, locales []string) (*Validator, error) {
	ps, err := compileSchema("protocol.schema.json", protocolSchema)
	if err != nil {
		return nil, err
	}
	ts, err := compileSchema("translation.schema.json", translationSchema)
	if err != nil {
		return nil, err
	}
	return &Validator{protocolSchema: ps, translationSchema: ts, locales: locales}, nil
}

func compileSchema(name string, b []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(name, doc); err != nil {
		return nil, fmt.Errorf("adding %s: %w", name, err)
	}
	s, err := c.Compile(name)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", name, err)
	}
	return s, nil
}

// LoadDir reads every protocol folder (a folder holding protocol.yaml) at the root of fsys and
// validates it. It returns the documents of the folders without errors, and every problem found,
// with file names relative to fsys. It returns no documents and one problem when fsys has no protocol.
func (v *Validator) LoadDir(fsys fs.FS) ([]Document, Problems) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, Problems{{File: ".", Line: 0, Message: "cannot read the folder: " + err.Error()}}
	}
	var docs []Document
	var problems Problems
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := fs.Stat(fsys, path.Join(e.Name(), "protocol.yaml")); err != nil {
			continue
		}
		doc, ps := v.loadProtocol(fsys, e.Name())
		problems = append(problems, ps...)
		if len(ps.Errors()) == 0 {
			docs = append(docs, doc)
		}
	}
	if len(docs) == 0 && len(problems) == 0 {
		problems = append(problems, Problem{File: ".", Message: "no protocol folder (a folder holding protocol.yaml) found"})
	}
	return docs, problems
}

func (v *Validator) loadProtocol(fsys fs.FS, dir string) (Document, Problems) {
	file := path.Join(dir, "protocol.yaml")
	var doc Document
	node, lines, ps := v.parseFile(fsys, file, v.protocolSchema)
	if node == nil {
		return doc, ps
	}
	// Schema errors do not stop the structural checks, so one pass finds every problem of the file.
	// A value of the wrong type (already reported by the schema) is left out of the decoded document.
	partial := false
	if err := node.Decode(&doc.Protocol); err != nil {
		var typeErr *yaml.TypeError
		if !errors.As(err, &typeErr) || len(ps) == 0 {
			return doc, append(ps, Problem{File: file, Line: node.Line, Message: "cannot decode: " + err.Error()})
		}
		partial = true
	}
	at := func(p string, format string, args ...any) Problem {
		return Problem{File: file, Line: lines.find(p), Message: fmt.Sprintf(format, args...)}
	}
	if doc.Protocol.ID != dir {
		ps = append(ps, at("/id", "id %q must equal the folder name %q", doc.Protocol.ID, dir))
	}
	if slices.Contains(ReservedIDs, doc.Protocol.ID) {
		ps = append(ps, at("/id", "id %q is reserved by the API (%s)", doc.Protocol.ID, strings.Join(ReservedIDs, ", ")))
	}
	ps = append(ps, CheckStructure(&doc.Protocol, at)...)
	if partial { // the translations would be checked against strings that failed to decode
		return doc, ps
	}
	doc.Translations, ps = v.loadTranslations(fsys, dir, &doc.Protocol, lines, ps)
	return doc, ps
}

// CheckStructure checks what the schema cannot: unique ids, references between steps, conditions and
// phrasings that fit the protocol's age bands. at builds a problem for a path in the document.
func CheckStructure(p *Protocol, at func(path, format string, args ...any) Problem) Problems {
	var ps Problems
	unique := func(seen map[string]bool, id, p, what string) {
		if seen[id] {
			ps = append(ps, at(p, "duplicate %s id %q", what, id))
		}
		seen[id] = true
	}
	refs := map[string]bool{}
	for i, r := range p.References {
		unique(refs, r.ID, fmt.Sprintf("/references/%d/id", i), "reference")
	}
	phases, steps := map[string]bool{}, map[string]bool{}
	for pi, ph := range p.Phases {
		pp := fmt.Sprintf("/phases/%d", pi)
		unique(phases, ph.ID, pp+"/id", "phase")
		for si, st := range ph.Steps {
			sp := fmt.Sprintf("%s/steps/%d", pp, si)
			for di, dep := range st.DependsOn {
				switch {
				case dep == st.ID:
					ps = append(ps, at(fmt.Sprintf("%s/depends_on/%d", sp, di), "step %q depends on itself", st.ID))
				case !steps[dep]:
					ps = append(ps, at(fmt.Sprintf("%s/depends_on/%d", sp, di), "step %q depends on %q, which is not an earlier step of this protocol", st.ID, dep))
				}
			}
			unique(steps, st.ID, sp+"/id", "step")
			items := map[string]bool{}
			for ii, it := range st.Checklist {
				unique(items, it.ID, fmt.Sprintf("%s/checklist/%d/id", sp, ii), "checklist item")
			}
			for band := range st.Phrasings {
				if !slices.Contains(p.AgeBands, band) {
					ps = append(ps, at(sp+"/phrasings/"+string(band), "phrasings for age band %q, which the protocol does not cover", band))
				}
			}
			if st.AppliesWhen != nil {
				ps = append(ps, checkCondition(st.AppliesWhen, p, sp+"/applies_when", at)...)
			}
		}
	}
	return ps
}

func checkCondition(c *Condition, p *Protocol, cp string, at func(string, string, ...any) Problem) Problems {
	set := 0
	for _, present := range []bool{c.AgeBand != nil, c.CaseType != nil, c.Need != nil, c.All != nil, c.Any != nil, c.Not != nil} {
		if present {
			set++
		}
	}
	if set != 1 {
		return Problems{at(cp, "a condition has exactly one of age_band, case_type, need, all, any, not (found %d)", set)}
	}
	var ps Problems
	for i, b := range c.AgeBand {
		if !slices.Contains(p.AgeBands, b) {
			ps = append(ps, at(fmt.Sprintf("%s/age_band/%d", cp, i), "age band %q is not one the protocol covers", b))
		}
	}
	for i, t := range c.CaseType {
		if !slices.Contains(p.CaseTypes, t) {
			ps = append(ps, at(fmt.Sprintf("%s/case_type/%d", cp, i), "case type %q is not one the protocol covers", t))
		}
	}
	for i := range c.All {
		ps = append(ps, checkCondition(&c.All[i], p, fmt.Sprintf("%s/all/%d", cp, i), at)...)
	}
	for i := range c.Any {
		ps = append(ps, checkCondition(&c.Any[i], p, fmt.Sprintf("%s/any/%d", cp, i), at)...)
	}
	if c.Not != nil {
		ps = append(ps, checkCondition(c.Not, p, cp+"/not", at)...)
	}
	return ps
}

func (v *Validator) loadTranslations(fsys fs.FS, dir string, p *Protocol, srcLines lineIndex, ps Problems) (Translations, Problems) {
	strs := p.Strings()
	known := make(map[string]SourceString, len(strs))
	for _, s := range strs {
		known[s.ID] = s
	}
	tr := Translations{}
	entries, _ := fs.ReadDir(fsys, dir)
	for _, e := range entries {
		name := e.Name()
		locale, ok := strings.CutSuffix(name, ".yaml")
		if e.IsDir() || !ok || name == "protocol.yaml" {
			continue
		}
		file := path.Join(dir, name)
		if locale == SourceLocale || !slices.Contains(v.locales, locale) {
			ps = append(ps, Problem{File: file, Line: 1, Message: fmt.Sprintf("%q is not a translation locale (supported: %s)", locale, strings.Join(v.translationLocales(), ", "))})
			continue
		}
		node, _, fps := v.parseFile(fsys, file, v.translationSchema)
		ps = append(ps, fps...)
		if node == nil || len(fps) > 0 {
			continue
		}
		strings := map[string]string{}
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, val := node.Content[i], node.Content[i+1]
			if _, ok := known[k.Value]; !ok {
				ps = append(ps, Problem{File: file, Line: k.Line, Message: fmt.Sprintf("unknown string id %q: the source has no such string", k.Value)})
				continue
			}
			strings[k.Value] = val.Value
		}
		tr[locale] = strings
	}
	for _, locale := range v.translationLocales() {
		file := path.Join(dir, locale+".yaml")
		got, ok := tr[locale]
		if !ok {
			ps = append(ps, Problem{File: file, Incomplete: true, Message: fmt.Sprintf("file missing: no translation into %s (%d strings fall back to %s)", locale, len(strs), SourceLocale)})
			continue
		}
		for _, s := range strs {
			if got[s.ID] == "" {
				ps = append(ps, Problem{File: file, Line: 1, Incomplete: true,
					Message: fmt.Sprintf("missing translation of %q (%s:%d)", s.ID, path.Join(dir, "protocol.yaml"), srcLines.find(s.Path))})
			}
		}
	}
	return tr, ps
}

func (v *Validator) translationLocales() []string {
	out := make([]string, 0, len(v.locales))
	for _, l := range v.locales {
		if l != SourceLocale {
			out = append(out, l)
		}
	}
	return out
}

// parseFile reads a YAML file, indexes the line of every path and validates it against schema.
func (v *Validator) parseFile(fsys fs.FS, file string, schema *jsonschema.Schema) (*yaml.Node, lineIndex, Problems) {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, nil, Problems{{File: file, Message: "cannot read: " + err.Error()}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		_, problem := splitYAMLError(err)
		return nil, nil, Problems{{File: file, Line: yamlErrorLine(b, err), Message: "not valid YAML: " + problem}}
	}
	if len(root.Content) == 0 {
		return nil, nil, Problems{{File: file, Line: 1, Message: "the file is empty"}}
	}
	node := root.Content[0]
	lines := lineIndex{}
	lines.index(node, "")
	var tree any
	if err := node.Decode(&tree); err != nil {
		return nil, nil, Problems{{File: file, Line: node.Line, Message: "cannot decode: " + err.Error()}}
	}
	instance, err := toJSONValue(tree)
	if err != nil {
		return nil, nil, Problems{{File: file, Line: node.Line, Message: err.Error()}}
	}
	var ps Problems
	if err := schema.Validate(instance); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return nil, nil, Problems{{File: file, Line: node.Line, Message: err.Error()}}
		}
		for _, leaf := range leaves(ve) {
			p := "/" + strings.Join(leaf.InstanceLocation, "/")
			if p == "/" {
				p = ""
			}
			where := p
			if where == "" {
				where = "the document"
			}
			line := lines.find(p)
			if extra, ok := leaf.ErrorKind.(*kind.AdditionalProperties); ok && len(extra.Properties) > 0 {
				line = lines.find(p + "/" + extra.Properties[0]) // point at the unexpected key itself
			}
			ps = append(ps, Problem{File: file, Line: line, Message: fmt.Sprintf("%s: %s", where, leaf.ErrorKind.LocalizedString(englishPrinter))})
		}
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	}
	return node, lines, ps
}

var englishPrinter = message.NewPrinter(language.English)

func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// toJSONValue converts a decoded YAML tree to the form the schema validator takes (JSON numbers).
func toJSONValue(tree any) (any, error) {
	b, err := json.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("the document cannot be represented as JSON: %w", err)
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// yamlErrorLine returns the line of a YAML syntax error. The parser's message names the line where
// the enclosing block began (a mapping at line 14 for a bad key at line 30), so the line is found as
// the first one from there whose inclusion makes the text fail with the same problem.
func yamlErrorLine(b []byte, err error) int {
	reported, problem := splitYAMLError(err)
	lines := bytes.SplitAfter(b, []byte("\n"))
	if reported < 1 || reported > len(lines) {
		return max(reported, 1)
	}
	prefix := bytes.Join(lines[:reported-1], nil)
	for n := reported; n <= len(lines); n++ {
		prefix = append(prefix, lines[n-1]...)
		var node yaml.Node
		if err := yaml.Unmarshal(prefix, &node); err != nil {
			if _, p := splitYAMLError(err); p == problem {
				return n
			}
		}
	}
	return reported
}

// splitYAMLError splits "yaml: line 14: did not find expected key" into 14 and the problem.
func splitYAMLError(err error) (int, string) {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, "line "); ok {
		end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if end > 0 {
			if n, err := strconv.Atoi(rest[:end]); err == nil {
				return n, strings.TrimPrefix(rest[end:], ": ")
			}
		}
	}
	return 1, msg
}

// lineIndex maps a document path (/phases/0/steps/1/id) to the line it starts on.
type lineIndex map[string]int

func (li lineIndex) index(n *yaml.Node, p string) {
	li[p] = n.Line
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := p + "/" + n.Content[i].Value
			li.index(n.Content[i+1], k)
			li[k] = n.Content[i].Line
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			li.index(c, fmt.Sprintf("%s/%d", p, i))
		}
	}
}

// find returns the line of p or of its nearest indexed ancestor.
func (li lineIndex) find(p string) int {
	for {
		if l, ok := li[p]; ok {
			return l
		}
		i := strings.LastIndex(p, "/")
		if i < 0 {
			return 1
		}
		p = p[:i]
	}
}
