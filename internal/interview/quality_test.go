package interview

import (
	"slices"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// testVersion is a small interview protocol: rapport (required, two items), an optional step, and
// closing (required, one item), plus a step only for children who need an interpreter.
func testVersion() protocol.Version {
	return protocol.Version{ProtocolID: "t", Number: 1, Document: protocol.Document{Protocol: protocol.Protocol{ID: "t", Kind: protocol.KindInterview,
		Phases: []protocol.Phase{
			{ID: "rapport", Steps: []protocol.Step{
				{ID: "build", Required: true, Checklist: []protocol.ChecklistItem{{ID: "a"}, {ID: "b"}}},
				{ID: "support", Required: false, Checklist: []protocol.ChecklistItem{{ID: "c"}}},
			}},
			{ID: "closing", Steps: []protocol.Step{{ID: "close", Required: true, Checklist: []protocol.ChecklistItem{{ID: "d"}}}}},
			{ID: "interpreting", Steps: []protocol.Step{{ID: "brief", Required: true, Checklist: []protocol.ChecklistItem{{ID: "e"}},
				AppliesWhen: &protocol.Condition{Need: []protocol.Need{protocol.NeedInterpreter}}}}},
		}}}}
}

func prompts(start time.Time, types ...PromptType) []Prompt {
	out := make([]Prompt, len(types))
	for i, t := range types {
		out[i] = Prompt{ClientID: string(rune('a' + i)), Type: t, RecordedAt: start.Add(time.Duration(i) * time.Minute)}
	}
	return out
}

func mark(step, item string, done bool, at time.Time) Mark {
	return Mark{ClientID: step + item + at.String(), StepID: step, ItemID: item, Done: done, RecordedAt: at}
}

func TestAssess(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	at := func(min int) *time.Time { x := t0.Add(time.Duration(min) * time.Minute); return &x }
	allDone := []Mark{mark("build", "a", true, t0), mark("build", "b", true, t0), mark("close", "d", true, t0)}
	twelve := slices.Concat(slices.Repeat([]PromptType{PromptInvitation}, 5), slices.Repeat([]PromptType{PromptDirective}, 4),
		slices.Repeat([]PromptType{PromptOptionPosing}, 3))
	tests := []struct {
		name      string
		band      protocol.AgeBand
		needs     []protocol.Need
		plan      Plan
		start     *time.Time
		end       *time.Time
		log       Entries
		number    int
		rules     Rules
		wantFlags []string
		wantOpen  float64
		wantLong  float64
	}{
		{name: "a clean interview", band: protocol.Age12To17, start: at(0), end: at(40),
			log:    Entries{Prompts: prompts(t0, PromptInvitation, PromptCuedInvitation, PromptDirective), Marks: allDone},
			number: 1, wantOpen: 2.0 / 3, wantLong: 40},
		{name: "12 prompts, 5 open, young child: low open share and many option-posing", band: protocol.AgeUnder6, start: at(0), end: at(20),
			log: Entries{Prompts: prompts(t0, twelve...), Marks: allDone}, number: 1,
			wantFlags: []string{"low_open_share", "many_option_posing_young_child"}, wantOpen: 5.0 / 12, wantLong: 20},
		{name: "the same for a teenager: option-posing is not flagged", band: protocol.Age12To17, start: at(0), end: at(20),
			log: Entries{Prompts: prompts(t0, twelve...), Marks: allDone}, number: 1,
			wantFlags: []string{"low_open_share"}, wantOpen: 5.0 / 12, wantLong: 20},
		{name: "a later mark undoes a done item; the optional step does not count", band: protocol.Age6To11, start: at(0), end: at(10),
			log: Entries{Prompts: prompts(t0, PromptInvitation), Marks: append(slices.Clone(allDone), mark("close", "d", false, t0.Add(time.Minute)),
				mark("support", "c", false, t0))}, number: 1, wantFlags: []string{"required_phase_not_done"}, wantOpen: 1, wantLong: 10},
		{name: "40 minutes without a break for an under-6", band: protocol.AgeUnder6, start: at(0), end: at(70),
			log:    Entries{Prompts: prompts(t0, PromptInvitation), Marks: allDone, Breaks: []Break{{StartedAt: *at(40), EndedAt: *at(45)}}},
			number: 1, wantFlags: []string{"long_without_break"}, wantOpen: 1, wantLong: 40},
		{name: "the same with a configured threshold of 45 minutes", band: protocol.AgeUnder6, start: at(0), end: at(70),
			log: Entries{Prompts: prompts(t0, PromptInvitation), Marks: allDone, Breaks: []Break{{StartedAt: *at(40), EndedAt: *at(45)}}}, number: 1,
			rules:    Rules{{Code: "long_without_break", Severity: SeverityLow, Measure: MeasureMinutesWithoutBreak, Compare: Above, Threshold: 45}},
			wantOpen: 1, wantLong: 40},
		{name: "interpreter needed, none present; suggestive; second interview", band: protocol.Age6To11, needs: []protocol.Need{protocol.NeedInterpreter},
			start: at(0), end: at(10), log: Entries{Prompts: prompts(t0, PromptSuggestive, PromptInvitation), Marks: append(slices.Clone(allDone), mark("brief", "e", true, t0))},
			number: 2, wantFlags: []string{"suggestive_prompts", "interpreter_missing", "repeated_interview"}, wantOpen: 0.5, wantLong: 10},
		{name: "interpreter needed and present; not started", band: protocol.Age6To11, needs: []protocol.Need{protocol.NeedInterpreter},
			plan: Plan{Participants: []Participant{{Role: RoleInterpreter}}}, log: Entries{Marks: append(slices.Clone(allDone), mark("brief", "e", true, t0))},
			number: 1, wantOpen: -1, wantLong: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Session{Situation: protocol.Situation{AgeBand: tt.band, Needs: tt.needs}, Plan: tt.plan, StartedAt: tt.start, EndedAt: tt.end}
			log := Log{Open: true, Entries: tt.log}
			rules := tt.rules
			if rules == nil {
				rules = DefaultRules()
			}
			if err := rules.Validate(); err != nil {
				t.Fatal(err)
			}
			q := Assess(rules, s, log, BuildChecklist(testVersion(), s.Situation, log), tt.number)
			var codes []string
			for _, f := range q.Flags {
				codes = append(codes, f.Code)
			}
			if !slices.Equal(codes, tt.wantFlags) {
				t.Errorf("flags %v, want %v", codes, tt.wantFlags)
			}
			if (tt.wantOpen < 0) != (q.Measures.OpenShare == nil) || q.Measures.OpenShare != nil && *q.Measures.OpenShare != tt.wantOpen {
				t.Errorf("open share %v, want %v", q.Measures.OpenShare, tt.wantOpen)
			}
			if (tt.wantLong < 0) != (q.Measures.MinutesWithoutBreak == nil) || q.Measures.MinutesWithoutBreak != nil && *q.Measures.MinutesWithoutBreak != tt.wantLong {
				t.Errorf("minutes without a break %v, want %v", q.Measures.MinutesWithoutBreak, tt.wantLong)
			}
		})
	}
}

func TestRulesValidate(t *testing.T) {
	t.Parallel()
	good := Rule{Code: "x", Severity: SeverityLow, Measure: MeasureOpenShare, Compare: Below, Threshold: 0.4}
	tests := []struct {
		name   string
		change func(*Rule)
		ok     bool
	}{
		{"valid", func(*Rule) {}, true},
		{"phase measure", func(r *Rule) { r.Measure = MeasurePhaseNotDonePrefix + "closing" }, true},
		{"bad code", func(r *Rule) { r.Code = "Bad Code" }, false},
		{"unknown severity", func(r *Rule) { r.Severity = "urgent" }, false},
		{"unknown measure", func(r *Rule) { r.Measure = "mood" }, false},
		{"phase measure without a phase", func(r *Rule) { r.Measure = MeasurePhaseNotDonePrefix }, false},
		{"unknown comparison", func(r *Rule) { r.Compare = "equal" }, false},
		{"negative threshold", func(r *Rule) { r.Threshold = -1 }, false},
		{"negative age-band threshold", func(r *Rule) { r.ByAgeBand = map[protocol.AgeBand]float64{protocol.AgeUnder6: -2} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := good
			tt.change(&r)
			if err := (Rules{r}).Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
	if err := DefaultRules().Validate(); err != nil {
		t.Errorf("the default rules: %v", err)
	}
}
