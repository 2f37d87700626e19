package protocol_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/protocols"
)

const validProtocol = `# yaml-language-server: $schema=../protocol.schema.json
id: demo
kind: interview
title: Demo
summary: A small protocol.
notice: Sample content.
case_types: [grooming, cyberbullying]
age_bands: [under_6, 6_to_11]
references:
  - id: ref
    title: Some public guidance
phases:
  - id: one
    title: Phase one
    steps:
      - id: first
        title: First step
        body: Do the first thing.
        required: true
        performed_by: interviewer
        timing: {relation: within, amount: 24, unit: hours, anchor: first_contact}
        checklist:
          - id: item
            text: Check it.
        phrasings:
          under_6: ["Tell me about your day."]
      - id: second
        title: Second step
        body: Do the second thing.
        required: false
        performed_by: caseworker
        depends_on: [first]
        applies_when:
          any:
            - age_band: [under_6]
            - need: [interpreter]
        cautions: ["Do not rush."]
`

const validFrench = `title: Démo
summary: Un petit protocole.
notice: Contenu d'exemple.
phase.one.title: Phase un
step.first.title: Première étape
step.first.body: Faire la première chose.
step.first.checklist.item: Le vérifier.
step.first.phrasing.under_6.1: Raconte-moi ta journée.
step.second.title: Deuxième étape
step.second.body: Faire la deuxième chose.
step.second.caution.1: Ne pas se presser.
`

func newValidator(t *testing.T) *protocol.Validator {
	t.Helper()
	v, err := protocol.NewValidator(protocols.ProtocolSchema, protocols.TranslationSchema, []string{"en", "fr"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func library(src, fr string) fstest.MapFS {
	fsys := fstest.MapFS{"demo/protocol.yaml": {Data: []byte(src)}}
	if fr != "" {
		fsys["demo/fr.yaml"] = &fstest.MapFile{Data: []byte(fr)}
	}
	return fsys
}

func TestValidatorAcceptsValidLibrary(t *testing.T) {
	t.Parallel()
	docs, problems := newValidator(t).LoadDir(library(validProtocol, validFrench))
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	if len(docs) != 1 || docs[0].Protocol.StepCount() != 2 || docs[0].Translations["fr"]["step.second.caution.1"] == "" {
		t.Fatalf("docs = %+v", docs)
	}
	if c := docs[0].Completeness("fr"); c.Ratio() != 1 {
		t.Errorf("fr completeness = %+v", c)
	}
}

func TestValidatorFindsProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		src, fr        string
		extra          map[string]string
		want           string // file:line: prefix and a fragment of the message
		wantFragment   string
		wantIncomplete bool
	}{
		{name: "invalid yaml", src: "id: demo\nkind: [\n", fr: validFrench, want: "demo/protocol.yaml:2:", wantFragment: "not valid YAML"},
		{name: "unknown field", src: strings.Replace(validProtocol, "title: Demo\n", "title: Demo\ncolour: red\n", 1), fr: validFrench, want: "demo/protocol.yaml:5:", wantFragment: "colour"},
		{name: "bad kind", src: strings.Replace(validProtocol, "kind: interview", "kind: chat", 1), fr: validFrench, want: "demo/protocol.yaml:3:", wantFragment: "/kind"},
		{name: "id differs from folder", src: strings.Replace(validProtocol, "id: demo", "id: other", 1), fr: validFrench, want: "demo/protocol.yaml:2:", wantFragment: "folder name"},
		{name: "reserved id", src: strings.Replace(validProtocol, "id: demo", "id: bundle", 1), fr: validFrench, want: "demo/protocol.yaml:2:", wantFragment: "reserved"},
		{name: "duplicate step id", src: strings.Replace(validProtocol, "id: second", "id: first", 1), fr: validFrench, want: "demo/protocol.yaml:", wantFragment: `duplicate step id "first"`},
		{name: "depends on unknown step", src: strings.Replace(validProtocol, "depends_on: [first]", "depends_on: [zeroth]", 1), fr: validFrench, want: "demo/protocol.yaml:32:", wantFragment: "not an earlier step"},
		{name: "condition with two keys", src: strings.Replace(validProtocol, "- need: [interpreter]", "- need: [interpreter]\n              age_band: [under_6]", 1), fr: validFrench, want: "demo/protocol.yaml:", wantFragment: "maxProperties"},
		{name: "condition with unknown operator", src: strings.Replace(validProtocol, "any:", "some:", 1), fr: validFrench, want: "demo/protocol.yaml:", wantFragment: "some"},
		{name: "condition on an uncovered age band", src: strings.Replace(validProtocol, "- age_band: [under_6]", "- age_band: [12_to_17]", 1), fr: validFrench, want: "demo/protocol.yaml:35:", wantFragment: "not one the protocol covers"},
		{name: "phrasings for an uncovered band", src: strings.Replace(validProtocol, `under_6: ["Tell me about your day."]`, `12_to_17: ["Tell me about your day."]`, 1), fr: validFrench, want: "demo/protocol.yaml:", wantFragment: "does not cover"},
		{name: "timing out of range", src: strings.Replace(validProtocol, "amount: 24", "amount: 0", 1), fr: validFrench, want: "demo/protocol.yaml:21:", wantFragment: "amount"},
		{name: "extra translation key", src: validProtocol, fr: validFrench + "step.third.title: Troisième\n", want: "demo/fr.yaml:12:", wantFragment: "unknown string id"},
		{name: "empty translation", src: validProtocol, fr: strings.Replace(validFrench, "title: Démo", `title: ""`, 1), want: "demo/fr.yaml:1:", wantFragment: "/title"},
		{name: "malformed translation key", src: validProtocol, fr: validFrench + "Step Three: x\n", want: "demo/fr.yaml:", wantFragment: "Step Three"},
		{name: "missing translation key", src: validProtocol, fr: strings.Replace(validFrench, "step.second.caution.1: Ne pas se presser.\n", "", 1), want: "demo/fr.yaml:1:", wantFragment: `missing translation of "step.second.caution.1" (demo/protocol.yaml:37)`, wantIncomplete: true},
		{name: "missing translation file", src: validProtocol, want: "demo/fr.yaml: file missing", wantFragment: "no translation into fr", wantIncomplete: true},
		{name: "unsupported locale file", src: validProtocol, fr: validFrench, extra: map[string]string{"demo/de.yaml": "title: Demo\n"}, want: "demo/de.yaml:1:", wantFragment: "not a translation locale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := library(tt.src, tt.fr)
			for name, content := range tt.extra {
				fsys[name] = &fstest.MapFile{Data: []byte(content)}
			}
			docs, problems := newValidator(t).LoadDir(fsys)
			var found *protocol.Problem
			for i, p := range problems {
				if strings.HasPrefix(p.String(), tt.want) && strings.Contains(p.Message, tt.wantFragment) {
					found = &problems[i]
				}
			}
			if found == nil {
				t.Fatalf("no problem %q ... %q in:\n%v", tt.want, tt.wantFragment, problems)
			}
			if found.Incomplete != tt.wantIncomplete {
				t.Errorf("Incomplete = %v, want %v", found.Incomplete, tt.wantIncomplete)
			}
			if loaded := len(docs) == 1; loaded != tt.wantIncomplete {
				t.Errorf("document loaded = %v; only incompleteness may still load", loaded)
			}
		})
	}
}

// One pass finds every problem of a file: a schema error does not hide the structural ones, and a
// YAML syntax error is reported at its own line, not where the enclosing block began.
func TestValidatorReportsEverythingInOnePass(t *testing.T) {
	t.Parallel()
	both := strings.Replace(strings.Replace(validProtocol, "kind: interview", "kind: chat", 1), "depends_on: [first]", "depends_on: [zeroth]", 1)
	lines := strings.Split(validProtocol, "\n")
	badIndent := -1
	for i, l := range lines {
		if strings.Contains(l, "depends_on: [first]") {
			badIndent = i
			lines[i] = l[1:] // one space short: breaks the list of steps that began many lines earlier
		}
	}
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"schema and structure", both, []string{"demo/protocol.yaml:3: /kind", `demo/protocol.yaml:32: step "second" depends on "zeroth"`}},
		{"a wrong type and structure", strings.Replace(strings.Replace(validProtocol, "required: false", "required: maybe", 1), "depends_on: [first]", "depends_on: [zeroth]", 1),
			[]string{"demo/protocol.yaml:30: /phases/0/steps/1/required", `demo/protocol.yaml:32: step "second" depends on "zeroth"`}},
		{"yaml error deep in a block", strings.Join(lines, "\n"), []string{fmt.Sprintf("demo/protocol.yaml:%d: not valid YAML", badIndent+1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, problems := newValidator(t).LoadDir(library(tt.src, validFrench))
			for _, want := range tt.want {
				if !strings.Contains(problems.Error(), want) {
					t.Errorf("no problem %q in:\n%v", want, problems)
				}
			}
		})
	}
}

func TestValidatorEmptyFolder(t *testing.T) {
	t.Parallel()
	_, problems := newValidator(t).LoadDir(fstest.MapFS{"README.md": {Data: []byte("x")}})
	if len(problems) != 1 || !strings.Contains(problems[0].Message, "no protocol folder") {
		t.Fatalf("problems = %v", problems)
	}
}
