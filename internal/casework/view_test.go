package casework

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

func TestDueAt(t *testing.T) {
	t.Parallel()
	opened := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		timing *protocol.Timing
		want   time.Duration
		ok     bool
	}{
		{"no timing", nil, 0, false},
		{"hours from first contact", &protocol.Timing{Relation: "within", Amount: 24, Unit: "hours", Anchor: "first_contact"}, 24 * time.Hour, true},
		{"days from the opening", &protocol.Timing{Relation: "within", Amount: 3, Unit: "days", Anchor: "case_opened"}, 72 * time.Hour, true},
		{"days from disclosure", &protocol.Timing{Relation: "within", Amount: 1, Unit: "days", Anchor: "disclosure"}, 24 * time.Hour, true},
		{"interview anchor ignored", &protocol.Timing{Relation: "within", Amount: 1, Unit: "days", Anchor: "interview"}, 0, false},
		{"hearing anchor ignored", &protocol.Timing{Relation: "within", Amount: 1, Unit: "days", Anchor: "hearing"}, 0, false},
		{"before ignored", &protocol.Timing{Relation: "before", Amount: 1, Unit: "days", Anchor: "case_opened"}, 0, false},
		{"unknown unit ignored", &protocol.Timing{Relation: "within", Amount: 1, Unit: "weeks", Anchor: "case_opened"}, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			due, ok := dueAt(tc.timing, opened)
			if ok != tc.ok || (ok && !due.Equal(opened.Add(tc.want))) {
				t.Fatalf("got %v %v, want %v %v", due, ok, opened.Add(tc.want), tc.ok)
			}
		})
	}
}

func TestBuildViewLatestRecord(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	v := protocol.Version{ProtocolID: "p", Number: 1, Document: protocol.Document{Protocol: protocol.Protocol{Phases: []protocol.Phase{
		{ID: "a", Steps: []protocol.Step{{ID: "s1"}, {ID: "s2", AppliesWhen: &protocol.Condition{Need: []protocol.Need{protocol.NeedDisability}}}}},
	}}}}
	c := Case{Child: Child{AgeBand: protocol.AgeUnder6}, CaseTypes: []protocol.CaseType{protocol.CaseGrooming}, OpenedAt: at}
	r := Run{Records: []StepRecord{
		{StepID: "s1", Status: StepDone, RecordedAt: at, ClientID: "a"},
		{StepID: "s1", Status: StepSkipped, RecordedAt: at, ClientID: "b"},                        // same time, received later: wins
		{StepID: "s1", Status: StepDone, RecordedAt: at.Add(-time.Hour), ClientID: "c"},           // older device time: loses
		{StepID: "s2", Status: StepDone, RecordedAt: at, ClientID: "d"},                           // step does not apply
		{StepID: "gone", Status: StepNotApplicable, RecordedAt: at.Add(time.Hour), ClientID: "e"}, // not in the version
	}}
	view := BuildView(c, r, v, at)
	if len(view.Steps) != 1 || view.Steps[0].Latest == nil || view.Steps[0].Latest.ClientID != "b" {
		t.Fatalf("view: %+v", view)
	}
	if view.Progress != (Progress{Applicable: 1, Skipped: 1}) || len(view.Overdue) != 0 {
		t.Fatalf("progress %+v, overdue %v", view.Progress, view.Overdue)
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	c := &Case{ID: "c", OrgID: "o", CaseworkerIDs: []string{"cw"}}
	p := func(id, org string, roles ...identity.Role) identity.Principal {
		return identity.Principal{UserID: id, OrgID: org, Roles: roles}
	}
	cases := []struct {
		name     string
		p        identity.Principal
		need     access
		wantRole identity.Role
		wantErr  error
	}{
		{"assigned caseworker", p("cw", "o", identity.RoleCaseworker), accessCase, identity.RoleCaseworker, nil},
		{"caseworker assigning", p("cw", "o", identity.RoleCaseworker), accessAssign, "", identity.ErrForbidden},
		{"unassigned caseworker", p("x", "o", identity.RoleCaseworker), accessCase, "", ErrNotFound},
		{"caseworker of another organisation", p("cw", "o2", identity.RoleCaseworker), accessCase, "", ErrNotFound},
		{"supervisor", p("s", "o", identity.RoleSupervisor), accessAssign, identity.RoleSupervisor, nil},
		{"supervisor and caseworker acts as supervisor", p("s", "o", identity.RoleCaseworker, identity.RoleSupervisor), accessAssign, identity.RoleSupervisor, nil},
		{"supervisor of another organisation", p("s", "o2", identity.RoleSupervisor), accessCase, "", ErrNotFound},
		{"admin", p("a", "o", identity.RoleAdmin), accessCase, "", identity.ErrForbidden},
		{"admin and auditor", p("a", "o", identity.RoleAdmin, identity.RoleAuditor, identity.RoleContentEditor), accessCase, "", identity.ErrForbidden},
		{"no organisation", p("s", "", identity.RoleSupervisor), accessCase, "", identity.ErrForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			role, err := authorize(tc.p, c, tc.need)
			if role != tc.wantRole || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("got %q, %v; want %q, %v", role, err, tc.wantRole, tc.wantErr)
			}
			if errors.Is(err, ErrNotFound) && apperr.KindOf(err) != apperr.NotFound {
				t.Fatalf("not found is not an apperr NotFound: %v", err)
			}
		})
	}
}

func TestLanguageCanonical(t *testing.T) {
	t.Parallel()
	var fe fieldErrors
	got := []string{fe.Language("l", "EN-gb"), fe.Language("l", " pt-br "), fe.Language("l", "")}
	if len(fe.FieldErrors) != 0 || !slices.Equal(got, []string{"en-GB", "pt-BR", ""}) {
		t.Fatalf("got %v, errors %v", got, fe)
	}
}
