package seed

import (
	"testing"
	"time"
)

// The same seed and size give the same agency whenever the seed runs; another seed another one; the
// organisations hold their shares of the cases, with a supervisor and caseworkers for each.
func TestPlanIsDeterministic(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name  string
		a, b  *Plan
		equal bool
	}{
		{"same seed, a year apart", NewPlan(300, 7, now), NewPlan(300, 7, now.AddDate(1, 0, 0)), true},
		{"another seed", NewPlan(300, 7, now), NewPlan(300, 8, now), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			same := 0
			for i := range 300 {
				ca, cb := tt.a.Case(i), tt.b.Case(i)
				if ca.ID == cb.ID && ca.Org == cb.Org && ca.Items == cb.Items && ca.Session == cb.Session && ca.Prompts == cb.Prompts {
					same++
				}
			}
			if tt.equal && same != 300 || !tt.equal && same > 0 {
				t.Errorf("%d of 300 cases alike", same)
			}
		})
	}
	p := NewPlan(10000, 1, now)
	perOrg := map[int]int{}
	for i := range 10000 {
		perOrg[p.Case(i).Org]++
	}
	if len(p.Orgs) != 4 || perOrg[0] != 7000 || perOrg[1]+perOrg[2]+perOrg[3] != 3000 {
		t.Errorf("organisations %d, cases per organisation %v", len(p.Orgs), perOrg)
	}
	// Every organisation opens cases in every year, in proportion to its share (within a tenth).
	perYear := map[[2]int]int{}
	for i := range 10000 {
		c := p.Case(i)
		perYear[[2]int{c.Org, int(now.Sub(c.OpenedAt) / (365 * 24 * time.Hour))}]++
	}
	for org := range p.Orgs {
		for year := range Years {
			want := float64(perOrg[org]) / Years
			if got := float64(perYear[[2]int{org, year}]); got < want*0.9 || got > want*1.1 {
				t.Errorf("organisation %d opened %v cases in year %d before the start, want about %.0f", org, got, year, want)
			}
		}
	}
}
