package protocol_test

import (
	"encoding/json"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/protocols"
)

// Every structure finding of CheckSource has its own code (the codes are keyed by the validator's
// message formats, so a changed format shows here), and schema findings have the field's path.
func TestCheckSourceCodes(t *testing.T) {
	t.Parallel()
	v, err := protocol.NewValidator(protocols.ProtocolSchema, protocols.TranslationSchema, i18n.Codes())
	if err != nil {
		t.Fatal(err)
	}
	docs, _ := v.LoadDir(protocols.FS)
	base := docs[0].Protocol
	step := func(p *protocol.Protocol) *protocol.Step { return &p.Phases[0].Steps[1] }
	tests := []struct {
		name   string
		change func(p *protocol.Protocol)
		path   string
		code   string
	}{
		{"self dependency", func(p *protocol.Protocol) { step(p).DependsOn = []string{step(p).ID} }, "/phases/0/steps/1/depends_on/0", protocol.CodeSelfDependency},
		{"later dependency", func(p *protocol.Protocol) { step(p).DependsOn = []string{"no-such-step"} }, "/phases/0/steps/1/depends_on/0", protocol.CodeUnknownDependency},
		{"duplicate step", func(p *protocol.Protocol) { step(p).ID = p.Phases[0].Steps[0].ID; step(p).DependsOn = nil }, "/phases/0/steps/1/id", protocol.CodeDuplicateID},
		{"condition with two keys", func(p *protocol.Protocol) {
			step(p).AppliesWhen = &protocol.Condition{AgeBand: p.AgeBands[:1], Need: []protocol.Need{protocol.NeedInterpreter}}
		}, "/phases/0/steps/1/applies_when", protocol.CodeConditionShape},
		{"reserved id", func(p *protocol.Protocol) { p.ID = "bundle" }, "/id", protocol.CodeReservedID},
		{"missing title", func(p *protocol.Protocol) { step(p).Title = "" }, "/phases/0/steps/1/title", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p protocol.Protocol
			b, _ := json.Marshal(base)
			_ = json.Unmarshal(b, &p)
			tt.change(&p)
			raw, _ := json.Marshal(p)
			_, problems := v.CheckSource(raw)
			for _, pr := range problems {
				if pr.Path == tt.path && pr.Code == tt.code {
					return
				}
			}
			t.Errorf("no %s at %s in %+v", tt.code, tt.path, problems)
		})
	}
}
