package casework

import (
	"github.com/childsafe-protocols/caseguide/internal/audit"

	"context"
	"fmt"
	"slices"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// ActionOverview is the audit action of a supervisor's overview of the organisation's open cases.
const ActionOverview = "case.overview"

// OverdueStep is a protocol step whose deadline passed with no record, on an open case.
type OverdueStep struct {
	CaseID          string
	RunID           string
	ProtocolID      string
	ProtocolVersion int
	PhaseID         string
	StepID          string
	StepTitle       string // in the protocol's source language
	DueAt           time.Time
	AssigneeIDs     []string // the case's caseworkers
}

// Load is one caseworker's share of the open cases.
type Load struct {
	OpenCases    int
	OverdueSteps int
}

// Overview is what a supervisor needs to know about the organisation's open cases at a glance.
type Overview struct {
	OpenCases  int
	Open       []Case           // every open case, by id (summaries: see OpenWork)
	Unassigned []Case           // open cases with no caseworker, oldest first (summaries: see OpenWork)
	Overdue    []OverdueStep    // by due time, oldest first
	Caseload   map[string]*Load // caseworker user id -> load
}

// Overview reads every open case of the supervisor's organisation and their protocol runs
// (Store.OpenWork) and returns the cases with no caseworker, the overdue steps (as GetRun computes them,
// on the pinned protocol versions) and each caseworker's open cases and overdue steps. One audit
// entry (case.overview) records the read. It returns identity.ErrForbidden unless p is a
// supervisor; or the store's, protocol source's or recorder's error.
func (s *Service) Overview(ctx context.Context, p identity.Principal) (Overview, error) {
	if !p.HasRole(identity.RoleSupervisor) || p.OrgID == "" {
		return Overview{}, s.denied(ctx, p, ActionOverview, ResourceCase, "", identity.ErrForbidden)
	}
	now := s.clock()
	work, err := s.store.OpenWork(ctx, p.OrgID)
	if err != nil {
		return Overview{}, fmt.Errorf("reading open cases and runs: %w", err)
	}
	open, runs := work.Cases, work.Runs
	ov := Overview{OpenCases: len(open), Open: open, Caseload: map[string]*Load{}}
	byID := make(map[string]Case, len(open))
	for _, c := range open {
		byID[c.ID] = c
		if len(c.CaseworkerIDs) == 0 {
			ov.Unassigned = append(ov.Unassigned, c)
		}
		for _, id := range c.CaseworkerIDs {
			load := ov.Caseload[id]
			if load == nil {
				load = &Load{}
				ov.Caseload[id] = load
			}
			load.OpenCases++
		}
	}
	situations := make(map[string]protocol.Situation, len(open))
	for _, r := range runs {
		c, ok := byID[r.CaseID]
		if !ok || r.OrgID != p.OrgID {
			continue
		}
		v, err := s.version(ctx, r)
		if err != nil {
			return Overview{}, err
		}
		situation, ok := situations[c.ID]
		if !ok {
			situation = c.Situation()
			situations[c.ID] = situation
		}
		overdueSteps(c, situation, r, v, now, func(phaseID string, st protocol.Step, due time.Time) {
			ov.Overdue = append(ov.Overdue, OverdueStep{CaseID: c.ID, RunID: r.ID, ProtocolID: r.ProtocolID, ProtocolVersion: r.ProtocolVersion,
				PhaseID: phaseID, StepID: st.ID, StepTitle: st.Title, DueAt: due, AssigneeIDs: slices.Clone(c.CaseworkerIDs)})
			for _, id := range c.CaseworkerIDs {
				ov.Caseload[id].OverdueSteps++
			}
		})
	}
	slices.SortStableFunc(ov.Unassigned, func(a, b Case) int { return a.OpenedAt.Compare(b.OpenedAt) })
	slices.SortStableFunc(ov.Overdue, func(a, b OverdueStep) int { return a.DueAt.Compare(b.DueAt) })
	if err := s.record(ctx, p.AuditEvent(identity.RoleSupervisor, ActionOverview, ResourceCase, "", audit.OutcomeSuccess)); err != nil {
		return Overview{}, err
	}
	return ov, nil
}

// overdueSteps calls fn, in protocol order, with every step of run r of case c (whose situation is
// situation) that BuildView(c, r, v, now) marks overdue: a step that applies, has a deadline counted
// from the case's opening that passed, and no record. It builds no view (the overview asks this of
// every run of the organisation's open cases).
func overdueSteps(c Case, situation protocol.Situation, r Run, v protocol.Version, now time.Time, fn func(phaseID string, st protocol.Step, due time.Time)) {
	for _, ph := range v.Document.Protocol.Phases {
		for _, st := range ph.Steps {
			due, ok := dueAt(st.Timing, c.OpenedAt)
			if !ok || !now.After(due) || !st.AppliesWhen.Applies(situation) ||
				slices.ContainsFunc(r.Records, func(rec StepRecord) bool { return rec.StepID == st.ID }) {
				continue
			}
			fn(ph.ID, st, due)
		}
	}
}
