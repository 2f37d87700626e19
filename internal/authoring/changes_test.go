package authoring

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

func sampleDoc() protocol.Document {
	return protocol.Document{
		Protocol: protocol.Protocol{ID: "p", Kind: protocol.KindSupport, Title: "T", Summary: "S", Notice: "N",
			CaseTypes: []protocol.CaseType{protocol.CaseGrooming}, AgeBands: []protocol.AgeBand{protocol.AgeUnder6},
			References: []protocol.Reference{{ID: "r", Title: "R"}},
			Phases: []protocol.Phase{{ID: "a", Title: "A", Steps: []protocol.Step{
				{ID: "one", Title: "One", Body: "B1", Required: true, PerformedBy: "caseworker", Cautions: []string{"c"}},
				{ID: "two", Title: "Two", Body: "B2", PerformedBy: "caseworker", DependsOn: []string{"one"}},
			}}}},
		Translations: protocol.Translations{"fr": {"title": "T fr"}},
	}
}

func clone(d protocol.Document) protocol.Document {
	var c protocol.Document
	b, _ := json.Marshal(d)
	_ = json.Unmarshal(b, &c)
	return c
}

func TestClassifyChangeAndLabels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(d *protocol.Document)
		want   Change
	}{
		{"nothing", func(*protocol.Document) {}, ChangeNone},
		{"step body", func(d *protocol.Document) { d.Protocol.Phases[0].Steps[0].Body = "new" }, ChangeText},
		{"caution wording", func(d *protocol.Document) { d.Protocol.Phases[0].Steps[0].Cautions[0] = "other" }, ChangeText},
		{"reference title", func(d *protocol.Document) { d.Protocol.References[0].Title = "R2" }, ChangeText},
		{"translation", func(d *protocol.Document) { d.Translations["fr"]["title"] = "autre" }, ChangeText},
		{"required", func(d *protocol.Document) { d.Protocol.Phases[0].Steps[1].Required = true }, ChangeStructural},
		{"a caution added", func(d *protocol.Document) {
			d.Protocol.Phases[0].Steps[0].Cautions = append(d.Protocol.Phases[0].Steps[0].Cautions, "more")
		}, ChangeStructural},
		{"a step removed", func(d *protocol.Document) { d.Protocol.Phases[0].Steps = d.Protocol.Phases[0].Steps[:1] }, ChangeStructural},
		{"a condition", func(d *protocol.Document) {
			d.Protocol.Phases[0].Steps[1].AppliesWhen = &protocol.Condition{AgeBand: []protocol.AgeBand{protocol.AgeUnder6}}
		}, ChangeStructural},
		{"a phase summary added", func(d *protocol.Document) { d.Protocol.Phases[0].Summary = "new" }, ChangeStructural},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := sampleDoc()
			b := clone(a)
			tt.change(&b)
			if got := ClassifyChange(&a, &b); got != tt.want {
				t.Errorf("ClassifyChange = %s, want %s", got, tt.want)
			}
		})
	}
	a := sampleDoc()
	text := clone(a)
	text.Protocol.Title = "T2"
	structural := clone(text)
	structural.Protocol.Kind = protocol.KindEvidence
	text2 := clone(structural)
	text2.Protocol.Summary = "S2"
	labels, changes := Labels([]protocol.Document{a, text, structural, text2})
	if !slices.Equal(labels, []string{"1.0", "1.1", "2.0", "2.1"}) {
		t.Errorf("labels %v", labels)
	}
	if !slices.Equal(changes, []Change{ChangeStructural, ChangeText, ChangeStructural, ChangeText}) {
		t.Errorf("changes %v", changes)
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	a := sampleDoc()
	b := clone(a)
	b.Protocol.Phases[0].Steps[0].Title = "One!"
	b.Protocol.Phases[0].Steps = append(b.Protocol.Phases[0].Steps, protocol.Step{ID: "three", Title: "3", Body: "3", PerformedBy: "caseworker"})
	b.Protocol.Phases = append(b.Protocol.Phases, protocol.Phase{ID: "b", Title: "B", Steps: []protocol.Step{b.Protocol.Phases[0].Steps[1]}})
	b.Protocol.Phases[0].Steps = append(b.Protocol.Phases[0].Steps[:1], b.Protocol.Phases[0].Steps[2])
	b.Protocol.Notice = "N2"
	d := Compare(&a, &b)
	if !slices.Equal(d.Fields, []string{"notice"}) || !slices.Equal(d.PhasesAdded, []string{"b"}) || len(d.PhasesRemoved) != 0 {
		t.Errorf("protocol and phases: %+v", d)
	}
	if len(d.StepsAdded) != 1 || d.StepsAdded[0] != (StepRef{"a", "three"}) || len(d.StepsRemoved) != 0 {
		t.Errorf("steps added/removed: %+v %+v", d.StepsAdded, d.StepsRemoved)
	}
	want := map[string][]string{"one": {"title"}, "two": {"phase"}}
	if len(d.StepsChanged) != len(want) {
		t.Fatalf("steps changed: %+v", d.StepsChanged)
	}
	for _, sc := range d.StepsChanged {
		if !slices.Equal(sc.Fields, want[sc.StepID]) {
			t.Errorf("%s changed %v, want %v", sc.StepID, sc.Fields, want[sc.StepID])
		}
	}
}

func TestFieldName(t *testing.T) {
	t.Parallel()
	var tree any
	_ = json.Unmarshal([]byte(`{"id":"p","references":[{"id":"r"}],"phases":[{"id":"intro","steps":[{"id":"greet","checklist":[{"id":"x"}]},{"title":"no id"}]}]}`), &tree)
	tests := map[string]string{
		"":                                   "protocol",
		"/title":                             "protocol.title",
		"/references/0/url":                  "protocol.references[0].url",
		"/phases/0/title":                    "protocol.phase.intro.title",
		"/phases/0/steps":                    "protocol.phase.intro.steps",
		"/phases/0/steps/0/title":            "protocol.step.greet.title",
		"/phases/0/steps/0/checklist/0/text": "protocol.step.greet.checklist[0].text",
		"/phases/0/steps/1/id":               "protocol.phase.intro.steps[1].id",
		"/phases/3/title":                    "protocol.phases[3].title",
	}
	for ptr, want := range tests {
		if got := FieldName(tree, ptr); got != want {
			t.Errorf("FieldName(%q) = %q, want %q", ptr, got, want)
		}
	}
}
