package authoring

import (
	"strconv"
	"strings"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// messageOfCode is the message id of each validator problem code; each message takes {{.Field}} and
// the problem's Args.
var messageOfCode = map[string]string{
	"required":                     "field.required",
	"unknown":                      "field.unknown_field",
	"oneof":                        "field.oneof",
	"type":                         "field.type",
	"max_length":                   "field.max_length",
	"max_items":                    "field.max_items",
	"min":                          "field.min",
	"max":                          "field.max",
	"malformed":                    "field.malformed",
	"min_items":                    "authoring.field.min_items",
	"duplicate":                    "authoring.field.duplicate",
	protocol.CodeDuplicateID:       "authoring.field.duplicate_id",
	protocol.CodeSelfDependency:    "authoring.field.self_dependency",
	protocol.CodeUnknownDependency: "authoring.field.unknown_dependency",
	protocol.CodeNotCovered:        "authoring.field.not_covered",
	protocol.CodeConditionShape:    "authoring.field.condition_shape",
	protocol.CodeReservedID:        "authoring.field.reserved_id",
	protocol.CodeUnknownString:     "authoring.field.unknown_string",
}

// problemField turns a validator problem into a localized field error. The field names the step or
// phase by its id where it can (protocol.step.<step id>.checklist[1].text), as the translation
// string ids do, so an editor finds it; tree is the JSON the problem was found in.
func problemField(tree any, p protocol.Problem) apperr.FieldError {
	msg, ok := messageOfCode[p.Code]
	if !ok {
		msg = "field.invalid"
	}
	code := p.Code
	if code == "" {
		code = "invalid"
	}
	return apperr.FieldError{Field: FieldName(tree, p.Path), Code: code, MessageID: msg, Data: p.Args}
}

// FieldName turns a JSON pointer into the protocol (/phases/0/steps/2/title) into a field name that
// names phases and steps by id: protocol.step.<id>.title, protocol.phase.<id>.title; positions in
// other lists are [n]. tree is the decoded protocol JSON (ids are read from it).
func FieldName(tree any, ptr string) string {
	var b strings.Builder
	b.WriteString("protocol")
	segs := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	if ptr == "" {
		segs = nil
	}
	node := tree
	for i := 0; i < len(segs); i++ {
		seg := strings.NewReplacer("~1", "/", "~0", "~").Replace(segs[i])
		if n, err := strconv.Atoi(seg); err == nil {
			list, _ := node.([]any)
			var elem any
			if n >= 0 && n < len(list) {
				elem = list[n]
			}
			parent := ""
			if i > 0 {
				parent = segs[i-1]
			}
			id := idOf(elem)
			switch {
			case (parent == "phases" || parent == "steps") && id != "":
				// Replace ".phases" / ".steps" with ".phase.<id>" / ".step.<id>"; a step's id is unique
				// in the whole protocol, so its phase is left out.
				s := b.String()
				s = strings.TrimSuffix(s, "."+parent)
				if parent == "steps" {
					s = "protocol"
				}
				b.Reset()
				b.WriteString(s + "." + strings.TrimSuffix(parent, "s") + "." + id)
			default:
				b.WriteString("[" + seg + "]")
			}
			node = elem
			continue
		}
		b.WriteString("." + seg)
		m, _ := node.(map[string]any)
		node = m[seg]
	}
	return b.String()
}

func idOf(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	id, _ := m["id"].(string)
	if id == "" || strings.ContainsAny(id, ".[] ") || len(id) > MaxProtocolIDLen {
		return ""
	}
	return id
}
