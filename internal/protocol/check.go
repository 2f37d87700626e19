package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// Problem codes of CheckSource and CheckTranslations. Schema findings use the request-field codes
// (required, unknown, oneof, type, max_length, min_items, max_items, min, max, duplicate, invalid);
// structure findings use the codes below.
const (
	CodeDuplicateID       = "duplicate_id"
	CodeSelfDependency    = "self_dependency"
	CodeUnknownDependency = "unknown_dependency"
	CodeNotCovered        = "not_covered"
	CodeConditionShape    = "condition_shape"
	CodeReservedID        = "reserved_id"
	CodeUnknownString     = "unknown_string"
	CodeMissing           = "missing_translation"
)

// structureCodes names the finding of each CheckStructure message format.
var structureCodes = map[string]string{
	"duplicate %s id %q":        CodeDuplicateID,
	"step %q depends on itself": CodeSelfDependency,
	"step %q depends on %q, which is not an earlier step of this protocol":               CodeUnknownDependency,
	"phrasings for age band %q, which the protocol does not cover":                       CodeNotCovered,
	"a condition has exactly one of age_band, case_type, need, all, any, not (found %d)": CodeConditionShape,
	"age band %q is not one the protocol covers":                                         CodeNotCovered,
	"case type %q is not one the protocol covers":                                        CodeNotCovered,
}

// CheckSource validates a protocol's structure and source text given as a JSON object (what
// protocol.yaml holds), with the same JSON Schema and the same structure checks (CheckStructure,
// reserved ids) as LoadDir and `validate`. Every problem carries Path (a JSON pointer into raw), Code
// and Message; File is "<id>/protocol.yaml" and Line 0. The protocol is returned decoded when the
// schema holds (it may still have structure problems).
func (v *Validator) CheckSource(raw []byte) (Protocol, Problems) {
	var p Protocol
	instance, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return p, Problems{{Path: "", Code: "malformed", Message: "not a JSON object: " + err.Error()}}
	}
	file := "protocol.yaml"
	if m, ok := instance.(map[string]any); ok {
		if id, ok := m["id"].(string); ok {
			file = path.Join(id, file)
		}
	}
	if err := v.protocolSchema.Validate(instance); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return p, Problems{{File: file, Code: "invalid", Message: err.Error()}}
		}
		var ps Problems
		for _, leaf := range leaves(ve) {
			pr := schemaProblem(leaf)
			pr.File = file
			if !slices.ContainsFunc(ps, func(q Problem) bool { return q.Path == pr.Path && q.Code == pr.Code }) {
				ps = append(ps, pr)
			}
		}
		return p, ps
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, Problems{{File: file, Code: "invalid", Message: "cannot decode: " + err.Error()}}
	}
	at := func(ptr, format string, args ...any) Problem {
		code := structureCodes[format]
		if code == "" {
			code = "invalid"
		}
		return Problem{File: file, Path: ptr, Code: code, Message: fmt.Sprintf(format, args...)}
	}
	var ps Problems
	if slices.Contains(ReservedIDs, p.ID) {
		pr := at("/id", "id %q is reserved by the API (%s)", p.ID, strings.Join(ReservedIDs, ", "))
		pr.Code = CodeReservedID
		ps = append(ps, pr)
	}
	return p, append(ps, CheckStructure(&p, at)...)
}

// schemaProblem turns one schema finding into a problem with a path, a code and its message values.
func schemaProblem(leaf *jsonschema.ValidationError) Problem {
	ptr := ""
	if len(leaf.InstanceLocation) > 0 {
		ptr = "/" + strings.Join(leaf.InstanceLocation, "/")
	}
	pr := Problem{Path: ptr, Code: "invalid", Message: fmt.Sprintf("%s: %s", ptr, leaf.ErrorKind.LocalizedString(englishPrinter))}
	switch k := leaf.ErrorKind.(type) {
	case *kind.Required:
		pr.Code = "required"
		if len(k.Missing) > 0 {
			pr.Path = ptr + "/" + k.Missing[0]
		}
	case *kind.AdditionalProperties:
		pr.Code = "unknown"
		if len(k.Properties) > 0 {
			pr.Path = ptr + "/" + k.Properties[0]
		}
	case *kind.Enum:
		vals := make([]string, len(k.Want))
		for i, w := range k.Want {
			vals[i] = fmt.Sprint(w)
		}
		pr.Code, pr.Args = "oneof", map[string]any{"Values": strings.Join(vals, ", ")}
	case *kind.Type:
		pr.Code, pr.Args = "type", map[string]any{"Type": strings.Join(k.Want, " or ")}
	case *kind.MinLength, *kind.MinProperties:
		pr.Code = "required"
	case *kind.Pattern:
		if k.Want == `\S` {
			pr.Code = "required"
		}
	case *kind.MaxLength:
		pr.Code, pr.Args = "max_length", map[string]any{"Max": k.Want}
	case *kind.MinItems:
		pr.Code, pr.Args = "min_items", map[string]any{"Min": k.Want}
	case *kind.MaxItems:
		pr.Code, pr.Args = "max_items", map[string]any{"Max": k.Want}
	case *kind.Minimum:
		pr.Code, pr.Args = "min", map[string]any{"Min": k.Want.RatString()}
	case *kind.Maximum:
		pr.Code, pr.Args = "max", map[string]any{"Max": k.Want.RatString()}
	case *kind.MaxProperties:
		if strings.Contains(ptr, "applies_when") {
			pr.Code = CodeConditionShape // a condition has exactly one key
		}
	case *kind.UniqueItems:
		pr.Code = "duplicate"
	}
	return pr
}

// CheckTranslations checks translations of p as LoadDir checks translation files: only the
// translation locales this validator was given, only string ids the source has (CodeUnknownString),
// and every string present (CodeMissing, Incomplete). Paths are /translations/<locale>/<string id>.
func (v *Validator) CheckTranslations(p *Protocol, tr Translations) Problems {
	var ps Problems
	strs := p.Strings()
	known := make(map[string]bool, len(strs))
	for _, s := range strs {
		known[s.ID] = true
	}
	locales := make([]string, 0, len(tr))
	for l := range tr {
		locales = append(locales, l)
	}
	slices.Sort(locales)
	for _, l := range locales {
		file := path.Join(p.ID, l+".yaml")
		if l == SourceLocale || !slices.Contains(v.locales, l) {
			ps = append(ps, Problem{File: file, Path: "/translations/" + l, Code: "oneof",
				Args:    map[string]any{"Values": strings.Join(v.translationLocales(), ", ")},
				Message: fmt.Sprintf("%q is not a translation locale", l)})
			continue
		}
		ids := make([]string, 0, len(tr[l]))
		for id := range tr[l] {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			if !known[id] {
				ps = append(ps, Problem{File: file, Path: "/translations/" + l + "/" + id, Code: CodeUnknownString,
					Message: fmt.Sprintf("unknown string id %q: the source has no such string", id)})
			}
		}
	}
	for _, l := range v.translationLocales() {
		for _, s := range strs {
			if tr[l][s.ID] == "" {
				ps = append(ps, Problem{File: path.Join(p.ID, l+".yaml"), Path: "/translations/" + l + "/" + s.ID, Code: CodeMissing,
					Incomplete: true, Message: fmt.Sprintf("missing translation of %q", s.ID)})
			}
		}
	}
	return ps
}

// TranslationLocales returns the locales (other than the source) this validator expects translations in.
func (v *Validator) TranslationLocales() []string { return v.translationLocales() }

// CheckTranslationTexts validates translated strings (string id to text) against the JSON Schema of
// translation files, as LoadDir validates them: every problem carries Path /<string id> and Code.
func (v *Validator) CheckTranslationTexts(texts map[string]string) Problems {
	instance := make(map[string]any, len(texts))
	for id, t := range texts {
		instance[id] = t
	}
	err := v.translationSchema.Validate(instance)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return Problems{{Code: "invalid", Message: err.Error()}}
	}
	var ps Problems
	for _, leaf := range leaves(ve) {
		ps = append(ps, schemaProblem(leaf))
	}
	return ps
}
