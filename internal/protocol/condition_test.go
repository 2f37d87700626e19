package protocol

import "testing"

func TestConditionApplies(t *testing.T) {
	t.Parallel()
	under6 := &Condition{AgeBand: []AgeBand{AgeUnder6}}
	interpreter := &Condition{Need: []Need{NeedInterpreter}}
	grooming := &Condition{CaseType: []CaseType{CaseGrooming}}
	known := Situation{AgeBand: Age6To11, CaseTypes: []CaseType{CaseGrooming}, Needs: []Need{}}
	tests := []struct {
		name string
		cond *Condition
		sit  Situation
		want bool
	}{
		{"no condition always applies", nil, known, true},
		{"age band matches", under6, Situation{AgeBand: AgeUnder6}, true},
		{"age band differs", under6, known, false},
		{"age band unknown keeps the step", under6, Situation{}, true},
		{"case type matches one of several", grooming, Situation{CaseTypes: []CaseType{CaseCyberbullying, CaseGrooming}}, true},
		{"case type absent", grooming, Situation{CaseTypes: []CaseType{CaseCyberbullying}}, false},
		{"need absent when needs are known", interpreter, known, false},
		{"need unknown", interpreter, Situation{AgeBand: AgeUnder6}, true},
		{"all: one false", &Condition{All: []Condition{*under6, *grooming}}, known, false},
		{"all: unknown and true", &Condition{All: []Condition{*grooming, *interpreter}}, Situation{CaseTypes: []CaseType{CaseGrooming}}, true},
		{"any: one true", &Condition{Any: []Condition{*under6, *grooming}}, known, true},
		{"any: all false", &Condition{Any: []Condition{*under6, *interpreter}}, known, false},
		{"not: negates true", &Condition{Not: grooming}, known, false},
		{"not: negates false", &Condition{Not: under6}, known, true},
		{"not: unknown stays unknown", &Condition{Not: under6}, Situation{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.cond.Applies(tt.sit); got != tt.want {
				t.Errorf("Applies() = %v, want %v", got, tt.want)
			}
		})
	}
}
