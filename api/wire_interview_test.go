package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// INTERVIEW_RULES_FILE: a JSON array of rules replaces the shipped ones; a file that cannot be read
// or holds an invalid rule is an error.
func TestReadInterviewRules(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, content string
		readErr       bool
		validErr      bool
	}{
		{"valid", `[{"code":"low_open_share","severity":"high","measure":"open_share","compare":"below","threshold":0.6,"min_prompts":5},
			{"code":"long_without_break","severity":"medium","measure":"minutes_without_break","compare":"above","threshold":60,"by_age_band":{"under_6":20}}]`, false, false},
		{"unknown field", `[{"code":"x","severity":"low","measure":"open_share","compare":"below","threshold":0.5,"colour":"red"}]`, true, false},
		{"not JSON", `low_open_share: 0.5`, true, false},
		{"unknown measure", `[{"code":"x","severity":"low","measure":"mood","compare":"below","threshold":0.5}]`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rules, err := readInterviewRules(write(tt.name+".json", tt.content))
			if (err != nil) != tt.readErr {
				t.Fatalf("read: %v", err)
			}
			if err != nil {
				return
			}
			if err := rules.Validate(); (err != nil) != tt.validErr {
				t.Errorf("validate: %v", err)
			}
			if tt.name == "valid" && (len(rules) != 2 || rules[1].ByAgeBand[protocol.AgeUnder6] != 20 || rules[0].Compare != interview.Below || rules[0].MinPrompts != 5) {
				t.Errorf("rules %+v", rules)
			}
		})
	}
	if _, err := readInterviewRules(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file was read")
	}
}
