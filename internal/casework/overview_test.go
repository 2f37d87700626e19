package casework

import (
	"slices"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// The overview's overdue steps are exactly those BuildView marks overdue, in protocol order.
func TestOverdueStepsMatchBuildView(t *testing.T) {
	t.Parallel()
	opened := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	within := func(hours int, anchor string) *protocol.Timing {
		return &protocol.Timing{Relation: "within", Amount: hours, Unit: "hours", Anchor: anchor}
	}
	v := protocol.Version{ProtocolID: "p", Number: 1, Document: protocol.Document{Protocol: protocol.Protocol{Phases: []protocol.Phase{
		{ID: "a", Steps: []protocol.Step{
			{ID: "s1", Timing: within(1, "first_contact")},
			{ID: "s2", Timing: within(2, "case_opened"), AppliesWhen: &protocol.Condition{Need: []protocol.Need{protocol.NeedDisability}}},
			{ID: "s3"},
		}},
		{ID: "b", Steps: []protocol.Step{
			{ID: "s4", Timing: within(3, "disclosure")},
			{ID: "s5", Timing: within(48, "first_contact")},
			{ID: "s6", Timing: within(1, "interview")},
		}},
	}}}}
	plain := Case{Child: Child{AgeBand: protocol.Age6To11}, CaseTypes: []protocol.CaseType{protocol.CaseGrooming}, OpenedAt: opened}
	disabled := plain
	disabled.Child.Needs.Disability = true
	done := []StepRecord{{StepID: "s1", Status: StepSkipped, RecordedAt: opened}, {StepID: "s4", Status: StepDone, RecordedAt: opened}}
	tests := []struct {
		name string
		c    Case
		r    Run
		now  time.Time
	}{
		{"nothing due yet", plain, Run{}, opened.Add(30 * time.Minute)},
		{"first steps overdue", plain, Run{}, opened.Add(5 * time.Hour)},
		{"a step that applies to the child's needs", disabled, Run{}, opened.Add(5 * time.Hour)},
		{"recorded steps are not overdue", disabled, Run{Records: done}, opened.Add(5 * time.Hour)},
		{"every deadline passed", disabled, Run{Records: done[:1]}, opened.Add(72 * time.Hour)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			overdueSteps(tc.c, tc.c.Situation(), tc.r, v, tc.now, func(phaseID string, st protocol.Step, due time.Time) {
				got = append(got, phaseID+"/"+st.ID+"@"+due.Format(time.RFC3339))
			})
			view := BuildView(tc.c, tc.r, v, tc.now)
			var want []string
			for _, sv := range view.Steps {
				if slices.Contains(view.Overdue, sv.Step.ID) {
					want = append(want, sv.PhaseID+"/"+sv.Step.ID+"@"+sv.DueAt.Format(time.RFC3339))
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("overdue %v, BuildView %v", got, want)
			}
		})
	}
}
