package protocol_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

func demoDocument(t *testing.T, fr string) protocol.Document {
	t.Helper()
	docs, problems := newValidator(t).LoadDir(library(validProtocol, fr))
	if len(problems.Errors()) > 0 || len(docs) != 1 {
		t.Fatalf("loading the demo: %v", problems)
	}
	return docs[0]
}

func TestLocalize(t *testing.T) {
	t.Parallel()
	partial := strings.Replace(validFrench, "step.first.body: Faire la première chose.\n", "", 1)
	tests := []struct {
		name         string
		fr           string
		locale       string
		wantTitle    string
		wantBody     string
		wantFellBack []string
	}{
		{"source locale", validFrench, "en", "Demo", "Do the first thing.", nil},
		{"complete translation", validFrench, "fr", "Démo", "Faire la première chose.", nil},
		{"missing string falls back to the source", partial, "fr", "Démo", "Do the first thing.", []string{"step.first.body"}},
		{"untranslated locale falls back entirely", validFrench, "ar", "Demo", "Do the first thing.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := demoDocument(t, tt.fr)
			p, fellBack := doc.Localize(tt.locale)
			if p.Title != tt.wantTitle || p.Phases[0].Steps[0].Body != tt.wantBody {
				t.Errorf("got title %q body %q", p.Title, p.Phases[0].Steps[0].Body)
			}
			if tt.locale == "ar" {
				if len(fellBack) != len(doc.Protocol.Strings()) {
					t.Errorf("fell back on %d strings, want all %d", len(fellBack), len(doc.Protocol.Strings()))
				}
			} else if !slices.Equal(fellBack, tt.wantFellBack) {
				t.Errorf("fell back on %v, want %v", fellBack, tt.wantFellBack)
			}
			if doc.Protocol.Title != "Demo" || doc.Protocol.Phases[0].Steps[0].Phrasings["under_6"][0] != "Tell me about your day." {
				t.Error("Localize changed the source document")
			}
		})
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	doc := demoDocument(t, validFrench)
	tests := []struct {
		name          string
		sit           protocol.Situation
		wantSteps     []string
		wantPhrasings bool
	}{
		{"nothing known: every step", protocol.Situation{}, []string{"first", "second"}, true},
		{"under 6: conditional step applies", protocol.Situation{AgeBand: protocol.AgeUnder6}, []string{"first", "second"}, true},
		{"6 to 11, needs unknown: kept", protocol.Situation{AgeBand: protocol.Age6To11}, []string{"first", "second"}, false},
		{"6 to 11, no needs: dropped", protocol.Situation{AgeBand: protocol.Age6To11, Needs: []protocol.Need{}}, []string{"first"}, false},
		{"6 to 11 with interpreter: kept", protocol.Situation{AgeBand: protocol.Age6To11, Needs: []protocol.Need{protocol.NeedInterpreter}}, []string{"first", "second"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := doc.Protocol.Filter(tt.sit)
			var ids []string
			for _, ph := range p.Phases {
				for _, st := range ph.Steps {
					ids = append(ids, st.ID)
				}
			}
			if !slices.Equal(ids, tt.wantSteps) {
				t.Errorf("steps = %v, want %v", ids, tt.wantSteps)
			}
			if got := p.Phases[0].Steps[0].Phrasings != nil; got != tt.wantPhrasings {
				t.Errorf("phrasings kept = %v, want %v", got, tt.wantPhrasings)
			}
		})
	}
}

func TestContentHashIgnoresFormatting(t *testing.T) {
	t.Parallel()
	a := demoDocument(t, validFrench)
	reformatted := strings.Replace(validProtocol, "# yaml-language-server: $schema=../protocol.schema.json\n", "", 1)
	reformatted = strings.Replace(reformatted, "case_types: [grooming, cyberbullying]", "case_types:\n  - grooming\n  - cyberbullying # flow or block style", 1)
	docs, _ := newValidator(t).LoadDir(library(reformatted, validFrench))
	ha, _ := a.ContentHash()
	hb, _ := docs[0].ContentHash()
	if ha != hb {
		t.Error("formatting changed the content hash")
	}
	changed := demoDocument(t, strings.Replace(validFrench, "Démo", "Démonstration", 1))
	hc, _ := changed.ContentHash()
	if hc == ha {
		t.Error("a changed translation kept the content hash")
	}
}
