package mongodb_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// caseworkKey returns a fixed test key ring entry "<id>:<base64 of 32 bytes of b>".
func caseworkKey(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, fieldcrypt.KeySize))
}

func caseworkRing(t testing.TB, spec string) *fieldcrypt.KeyRing {
	t.Helper()
	ring, err := fieldcrypt.ParseKeyRing(spec)
	if err != nil {
		t.Fatalf("parsing the test key ring: %v", err)
	}
	return ring
}

// caseworkEvents is an in-memory Recorder.
type caseworkEvents struct{ eventLog }

// last returns the last recorded event.
func (r *caseworkEvents) last() audit.Event {
	events := r.all()
	if len(events) == 0 {
		return audit.Event{}
	}
	return events[len(events)-1]
}

func (r *caseworkEvents) count() int { return len(r.all()) }

// caseworkProtocols is a fake ProtocolSource holding published versions in memory.
type caseworkProtocols struct {
	mu       sync.Mutex
	versions map[string][]protocol.Version
}

func (p *caseworkProtocols) Latest(id string) (protocol.Version, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	vs := p.versions[id]
	if len(vs) == 0 {
		return protocol.Version{}, apperr.New(apperr.NotFound, "protocol_not_found", "ErrProtocolNotFound", nil)
	}
	return vs[len(vs)-1], nil
}

func (p *caseworkProtocols) Version(_ context.Context, id string, n int) (protocol.Version, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	vs := p.versions[id]
	if n < 1 || n > len(vs) {
		return protocol.Version{}, apperr.New(apperr.NotFound, "version_not_found", "ErrVersionNotFound", nil)
	}
	return vs[n-1], nil
}

// publish adds the next version of the document's protocol.
func (p *caseworkProtocols) publish(doc protocol.Document) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.versions == nil {
		p.versions = map[string][]protocol.Version{}
	}
	id := doc.Protocol.ID
	p.versions[id] = append(p.versions[id], protocol.Version{ProtocolID: id, Number: len(p.versions[id]) + 1, Document: doc})
}

const caseworkProtocolID = "first-contact"

// caseworkDoc is a small protocol: steps for everyone, for an interpreter, per age band, per case
// type, and timings anchored at first contact, the case's opening and a hearing. extra adds steps.
func caseworkDoc(extra ...string) protocol.Document {
	step := func(id string, when *protocol.Condition, timing *protocol.Timing) protocol.Step {
		return protocol.Step{ID: id, Title: id, Body: id, PerformedBy: "caseworker", AppliesWhen: when, Timing: timing}
	}
	first := []protocol.Step{
		step("safety", nil, &protocol.Timing{Relation: "within", Amount: 24, Unit: "hours", Anchor: "first_contact"}),
		step("interpreter", &protocol.Condition{Need: []protocol.Need{protocol.NeedInterpreter}},
			&protocol.Timing{Relation: "within", Amount: 2, Unit: "days", Anchor: "case_opened"}),
		step("teen-only", &protocol.Condition{AgeBand: []protocol.AgeBand{protocol.Age12To17}}, nil),
		step("young-adapt", &protocol.Condition{AgeBand: []protocol.AgeBand{protocol.AgeUnder6}}, nil),
	}
	later := []protocol.Step{
		step("hearing-prep", nil, &protocol.Timing{Relation: "within", Amount: 1, Unit: "hours", Anchor: "hearing"}),
		step("grooming-only", &protocol.Condition{CaseType: []protocol.CaseType{protocol.CaseGrooming}}, nil),
		step("no-disability", &protocol.Condition{Not: &protocol.Condition{Need: []protocol.Need{protocol.NeedDisability}}}, nil),
	}
	for _, id := range extra {
		later = append(later, step(id, nil, nil))
	}
	return protocol.Document{Protocol: protocol.Protocol{ID: caseworkProtocolID, Kind: protocol.KindSupport, Title: "T",
		Phases: []protocol.Phase{{ID: "first", Title: "First", Steps: first}, {ID: "later", Title: "Later", Steps: later}}}}
}

// Principals of the casework tests: organisation org-a with two caseworkers, a supervisor and one
// user of each role without case access; organisation org-b with a supervisor and a caseworker.
var (
	cwAlice   = identity.Principal{UserID: "u-alice", OrgID: "org-a", Roles: []identity.Role{identity.RoleCaseworker}, DeviceID: "d-alice"}
	cwBob     = identity.Principal{UserID: "u-bob", OrgID: "org-a", Roles: []identity.Role{identity.RoleCaseworker}}
	cwSup     = identity.Principal{UserID: "u-sup", OrgID: "org-a", Roles: []identity.Role{identity.RoleSupervisor}}
	cwAdmin   = identity.Principal{UserID: "u-admin", OrgID: "org-a", Roles: []identity.Role{identity.RoleAdmin}}
	cwEditor  = identity.Principal{UserID: "u-editor", OrgID: "org-a", Roles: []identity.Role{identity.RoleContentEditor}}
	cwAuditor = identity.Principal{UserID: "u-auditor", OrgID: "org-a", Roles: []identity.Role{identity.RoleAuditor}}
	cwSupB    = identity.Principal{UserID: "u-supb", OrgID: "org-b", Roles: []identity.Role{identity.RoleSupervisor}}
	cwAliceB  = identity.Principal{UserID: "u-alice", OrgID: "org-b", Roles: []identity.Role{identity.RoleCaseworker}} // same user id, other org
)

type caseworkFixture struct {
	t         *testing.T
	ctx       context.Context
	db        *mongodb.DB
	store     *mongodb.CaseworkStore
	clock     *testClock
	events    *caseworkEvents
	protocols *caseworkProtocols
	svc       *casework.Service
}

var caseworkStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newCaseworkFixture(t *testing.T) *caseworkFixture {
	t.Helper()
	ctx := context.Background()
	db := dbtest.Open(t)
	store := db.Casework(caseworkRing(t, caseworkKey("k1", 1)))
	f := &caseworkFixture{t: t, ctx: ctx, db: db, store: store, clock: &testClock{now: caseworkStart},
		events: &caseworkEvents{}, protocols: &caseworkProtocols{}}
	f.protocols.publish(caseworkDoc())
	f.svc = casework.NewService(store, f.protocols, f.events, f.clock.Now)
	return f
}

// newCase returns a valid NewCase with a fresh id: a child under 6 with an interpreter.
func newCase() casework.NewCase {
	return casework.NewCase{
		ID: uuid.Must(uuid.NewV7()).String(), ReferenceNumber: "REF-2026-0042",
		Child: casework.Child{Pseudonym: "Zephyrine K.", AgeBand: protocol.AgeUnder6, BirthYear: 2022, Gender: casework.GenderFemale,
			PreferredLanguage: "pt-br", Needs: casework.Needs{Interpreter: true, InterpreterLanguage: "pt-BR", DisabilityNotes: "Uses a hearing aid on the left"}},
		CaseTypes: []protocol.CaseType{protocol.CaseAbuseMaterial},
	}
}

func (f *caseworkFixture) create(p identity.Principal, nc casework.NewCase) casework.Case {
	f.t.Helper()
	c, created, err := f.svc.Create(f.ctx, p, nc)
	if err != nil || !created {
		f.t.Fatalf("creating a case as %s: created %v, %v", p.UserID, created, err)
	}
	return c
}

func (f *caseworkFixture) startRun(p identity.Principal, caseID string) casework.Run {
	f.t.Helper()
	r, _, err := f.svc.StartRun(f.ctx, p, caseID, uuid.NewString(), caseworkProtocolID)
	if err != nil {
		f.t.Fatalf("starting a run: %v", err)
	}
	return r
}

func (f *caseworkFixture) record(p identity.Principal, c casework.Case, r casework.Run, nr casework.NewStepRecord) casework.RunView {
	f.t.Helper()
	v, err := f.svc.RecordStep(f.ctx, p, c.ID, r.ID, nr)
	if err != nil {
		f.t.Fatalf("recording step %s: %v", nr.StepID, err)
	}
	return v
}

// wantAppErr checks that err is an *apperr.Error of kind with code and returns it.
func wantAppErr(t *testing.T, what string, err error, kind apperr.Kind, code string) *apperr.Error {
	t.Helper()
	e := apperr.As(err)
	if e == nil || e.Kind != kind || e.Code != code {
		t.Fatalf("%s: got %v, want %s %s", what, err, kind, code)
	}
	return e
}

// wantFields checks that err is a validation error naming exactly the fields want (in any order).
func wantFields(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	e := apperr.As(err)
	if e == nil || e.Kind != apperr.Invalid {
		t.Fatalf("%s: got %v, want a validation error", what, err)
	}
	var got []string
	for _, fe := range e.Fields {
		got = append(got, fe.Field)
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: fields %v, want %v", what, got, want)
	}
}

func TestCaseworkCreate(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)

	nc := newCase()
	c := f.create(cwAlice, nc)
	if c.Version != 1 || c.Status != casework.StatusOpen || c.OrgID != "org-a" || c.CreatedBy != "u-alice" ||
		!slices.Equal(c.CaseworkerIDs, []string{"u-alice"}) || !c.OpenedAt.Equal(caseworkStart) {
		t.Fatalf("created case: %+v", c)
	}
	if c.Child.PreferredLanguage != "pt-BR" {
		t.Fatalf("language not canonical: %q", c.Child.PreferredLanguage)
	}
	if e := f.events.last(); e.Action != casework.ActionCaseCreate || e.ResourceID != c.ID || e.ActorRole != "caseworker" || e.Outcome != audit.OutcomeSuccess || e.DeviceID != "d-alice" {
		t.Fatalf("create event: %+v", e)
	}
	got, err := f.svc.Get(f.ctx, cwAlice, c.ID)
	if err != nil || got.ReferenceNumber != nc.ReferenceNumber || got.Child != c.Child || got.Child.Needs.DisabilityNotes != nc.Child.Needs.DisabilityNotes {
		t.Fatalf("read back: %+v, %v", got, err)
	}

	t.Run("repeated create is a no-op", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		again, created, err := f.svc.Create(f.ctx, cwAlice, nc)
		if err != nil || created || again.Version != 1 || !again.CreatedAt.Equal(c.CreatedAt) {
			t.Fatalf("repeat: created %v, %+v, %v", created, again, err)
		}
	})
	t.Run("same id with other content conflicts", func(t *testing.T) {
		changed := nc
		changed.ReferenceNumber = "REF-OTHER"
		_, _, err := f.svc.Create(f.ctx, cwAlice, changed)
		wantAppErr(t, "changed content", err, apperr.Conflict, "case_id_conflict")
		_, _, err = f.svc.Create(f.ctx, cwBob, nc) // the creator differs: Bob would be assigned
		wantAppErr(t, "other creator", err, apperr.Conflict, "case_id_conflict")
		_, _, err = f.svc.Create(f.ctx, cwSupB, nc) // another organisation
		wantAppErr(t, "other organisation", err, apperr.Conflict, "case_id_conflict")
	})

	year := caseworkStart.Year()
	invalid := []struct {
		name   string
		change func(*casework.NewCase)
		fields []string
	}{
		{"id not a uuid", func(n *casework.NewCase) { n.ID = "case-1" }, []string{"id"}},
		{"id not canonical", func(n *casework.NewCase) { n.ID = strings.ToUpper(n.ID) }, []string{"id"}},
		{"id missing", func(n *casework.NewCase) { n.ID = "" }, []string{"id"}},
		{"no pseudonym", func(n *casework.NewCase) { n.Child.Pseudonym = "  " }, []string{"child.pseudonym"}},
		{"pseudonym too long", func(n *casework.NewCase) { n.Child.Pseudonym = strings.Repeat("x", 101) }, []string{"child.pseudonym"}},
		{"no age band", func(n *casework.NewCase) { n.Child.AgeBand = "" }, []string{"child.age_band"}},
		{"unknown age band", func(n *casework.NewCase) { n.Child.AgeBand = "teen" }, []string{"child.age_band"}},
		{"birth year in the future", func(n *casework.NewCase) { n.Child.BirthYear = year + 1 }, []string{"child.birth_year"}},
		{"birth year of an adult", func(n *casework.NewCase) { n.Child.BirthYear = year - 19 }, []string{"child.birth_year"}},
		{"unknown gender", func(n *casework.NewCase) { n.Child.Gender = "x" }, []string{"child.gender"}},
		{"bad language", func(n *casework.NewCase) { n.Child.PreferredLanguage = "not a tag" }, []string{"child.preferred_language"}},
		{"bad interpreter language", func(n *casework.NewCase) { n.Child.Needs.InterpreterLanguage = "??" }, []string{"child.needs.interpreter_language"}},
		{"notes too long", func(n *casework.NewCase) { n.Child.Needs.DisabilityNotes = strings.Repeat("n", 2001) }, []string{"child.needs.disability_notes"}},
		{"no case types", func(n *casework.NewCase) { n.CaseTypes = nil }, []string{"case_types"}},
		{"unknown case type", func(n *casework.NewCase) { n.CaseTypes = []protocol.CaseType{"theft"} }, []string{"case_types"}},
		{"reference too long", func(n *casework.NewCase) { n.ReferenceNumber = strings.Repeat("r", 101) }, []string{"reference_number"}},
		{"bad caseworker id", func(n *casework.NewCase) { n.CaseworkerIDs = []string{"a b"} }, []string{"caseworker_ids"}},
		{"opened in the future", func(n *casework.NewCase) { n.OpenedAt = caseworkStart.Add(time.Hour) }, []string{"opened_at"}},
		{"several at once", func(n *casework.NewCase) { n.Child.Pseudonym = ""; n.CaseTypes = nil }, []string{"child.pseudonym", "case_types"}},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			n := newCase()
			tc.change(&n)
			_, _, err := f.svc.Create(f.ctx, cwSup, n)
			wantFields(t, tc.name, err, tc.fields...)
		})
	}
	t.Run("optional fields may be empty", func(t *testing.T) {
		n := newCase()
		n.ReferenceNumber, n.Child.BirthYear, n.Child.Gender, n.Child.PreferredLanguage = "", 0, "", ""
		n.Child.Needs = casework.Needs{}
		n.Child.BirthYear = year - 18
		c, _, err := f.svc.Create(f.ctx, cwSup, n)
		if err != nil || len(c.CaseworkerIDs) != 0 {
			t.Fatalf("minimal case by a supervisor: %+v, %v", c, err)
		}
	})
}

// caseworkOutcome is what an operation should answer in the access matrix.
type caseworkOutcome int

const (
	cwAllowed caseworkOutcome = iota
	cwNotFound
	cwForbidden
)

func wantOutcome(t *testing.T, what string, err error, want caseworkOutcome) {
	t.Helper()
	switch want {
	case cwAllowed:
		if err != nil {
			t.Fatalf("%s: %v, want success", what, err)
		}
	case cwNotFound:
		if e := apperr.As(err); e == nil || e.Kind != apperr.NotFound || (e.Code != "case_not_found" && e.Code != "run_not_found") {
			t.Fatalf("%s: %v, want not found", what, err)
		}
	case cwForbidden:
		if !errors.Is(err, identity.ErrForbidden) {
			t.Fatalf("%s: %v, want forbidden", what, err)
		}
	}
}

func TestCaseworkAccessMatrix(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	c := f.create(cwAlice, newCase())
	run := f.startRun(cwAlice, c.ID)

	principals := []struct {
		name string
		p    identity.Principal
		want caseworkOutcome
	}{
		{"assigned caseworker", cwAlice, cwAllowed},
		{"unassigned caseworker", cwBob, cwNotFound},
		{"supervisor of the organisation", cwSup, cwAllowed},
		{"supervisor of another organisation", cwSupB, cwNotFound},
		{"caseworker of another organisation with the same user id", cwAliceB, cwNotFound},
		{"admin", cwAdmin, cwForbidden},
		{"content editor", cwEditor, cwForbidden},
		{"auditor", cwAuditor, cwForbidden},
		{"no roles", identity.Principal{UserID: "u-none", OrgID: "org-a"}, cwForbidden},
	}
	for _, pc := range principals {
		t.Run(pc.name, func(t *testing.T) {
			p := pc.p
			before := f.events.count()
			_, err := f.svc.Get(f.ctx, p, c.ID)
			wantOutcome(t, "get", err, pc.want)
			if e := f.events.last(); f.events.count() != before+1 || e.ActorID != p.UserID || e.Action != casework.ActionCaseRead ||
				(pc.want == cwAllowed) != (e.Outcome == audit.OutcomeSuccess) {
				t.Fatalf("get event: %+v", e)
			}
			ref := "REF-" + p.UserID
			cur, _ := f.svc.Get(f.ctx, cwSup, c.ID)
			_, err = f.svc.Update(f.ctx, p, c.ID, casework.CaseUpdate{ReferenceNumber: &ref}, cur.Version)
			wantOutcome(t, "update", err, pc.want)
			_, err = f.svc.ListRuns(f.ctx, p, c.ID)
			wantOutcome(t, "list runs", err, pc.want)
			_, err = f.svc.GetRun(f.ctx, p, c.ID, run.ID)
			wantOutcome(t, "get run", err, pc.want)
			_, _, err = f.svc.StartRun(f.ctx, p, c.ID, uuid.NewString(), caseworkProtocolID)
			wantOutcome(t, "start run", err, pc.want)
			_, err = f.svc.RecordStep(f.ctx, p, c.ID, run.ID, casework.NewStepRecord{StepID: "safety", Status: casework.StepDone,
				RecordedAt: f.clock.Now(), ClientID: "rec-" + p.UserID + "-" + p.OrgID})
			wantOutcome(t, "record step", err, pc.want)

			page, err := f.svc.List(f.ctx, p, casework.Filter{}, "", 0)
			listed := slices.ContainsFunc(page.Cases, func(x casework.Case) bool { return x.ID == c.ID })
			switch pc.want {
			case cwForbidden:
				wantOutcome(t, "list", err, cwForbidden)
			default:
				if err != nil || listed != (pc.want == cwAllowed) {
					t.Fatalf("list: listed %v, %v", listed, err)
				}
			}
			_, _, err = f.svc.Create(f.ctx, p, newCase())
			if pc.want == cwForbidden {
				wantOutcome(t, "create", err, cwForbidden)
			} else if err != nil {
				t.Fatalf("create: %v", err)
			}
		})
	}

	t.Run("close and reopen follow the same rules", func(t *testing.T) {
		for _, p := range []identity.Principal{cwBob, cwSupB} {
			cur, _ := f.svc.Get(f.ctx, cwSup, c.ID)
			_, err := f.svc.Close(f.ctx, p, c.ID, "done", cur.Version)
			wantOutcome(t, "close by "+p.UserID, err, cwNotFound)
		}
		cur, _ := f.svc.Get(f.ctx, cwSup, c.ID)
		_, err := f.svc.Close(f.ctx, cwAdmin, c.ID, "done", cur.Version)
		wantOutcome(t, "close by admin", err, cwForbidden)
	})
	t.Run("a run of another case is not found", func(t *testing.T) {
		other := f.create(cwAlice, newCase())
		_, err := f.svc.GetRun(f.ctx, cwAlice, other.ID, run.ID)
		wantAppErr(t, "run of another case", err, apperr.NotFound, "run_not_found")
		_, err = f.svc.GetRun(f.ctx, cwAlice, c.ID, "not-a-uuid")
		wantAppErr(t, "malformed run id", err, apperr.NotFound, "run_not_found")
		_, err = f.svc.Get(f.ctx, cwAlice, "not-a-uuid")
		wantAppErr(t, "malformed case id", err, apperr.NotFound, "case_not_found")
		if e := f.events.last(); e.ResourceID != "" || e.Outcome != audit.OutcomeDenied {
			t.Fatalf("a malformed id reached the audit log: %+v", e)
		}
	})
	t.Run("assignment changes are for supervisors", func(t *testing.T) {
		cur, _ := f.svc.Get(f.ctx, cwSup, c.ID)
		ids := []string{"u-alice", "u-bob"}
		_, err := f.svc.Update(f.ctx, cwAlice, c.ID, casework.CaseUpdate{CaseworkerIDs: &ids}, cur.Version)
		wantOutcome(t, "caseworker assigns", err, cwForbidden)
		sup := "u-sup"
		_, err = f.svc.Update(f.ctx, cwAlice, c.ID, casework.CaseUpdate{SupervisorID: &sup}, cur.Version)
		wantOutcome(t, "caseworker sets the supervisor", err, cwForbidden)
		upd, err := f.svc.Update(f.ctx, cwSup, c.ID, casework.CaseUpdate{CaseworkerIDs: &ids, SupervisorID: &sup}, cur.Version)
		if err != nil || !slices.Equal(upd.CaseworkerIDs, ids) || upd.SupervisorID != sup {
			t.Fatalf("supervisor assigns: %+v, %v", upd, err)
		}
		if _, err := f.svc.Get(f.ctx, cwBob, c.ID); err != nil {
			t.Fatalf("newly assigned caseworker: %v", err)
		}
		none := []string{}
		if _, err := f.svc.Update(f.ctx, cwSup, c.ID, casework.CaseUpdate{CaseworkerIDs: &none}, upd.Version); err != nil {
			t.Fatalf("unassigning: %v", err)
		}
		_, err = f.svc.Get(f.ctx, cwAlice, c.ID)
		wantOutcome(t, "unassigned caseworker", err, cwNotFound)
	})
}

func TestCaseworkRecorderFailureFailsTheOperation(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	c := f.create(cwAlice, newCase())
	f.events.setFail(true)
	if _, err := f.svc.Get(f.ctx, cwAlice, c.ID); err == nil || apperr.KindOf(err) != apperr.Internal {
		t.Fatalf("get with a failing recorder: %v", err)
	}
	if _, err := f.svc.List(f.ctx, cwSup, casework.Filter{}, "", 0); err == nil {
		t.Fatal("list with a failing recorder succeeded")
	}
	if _, err := f.svc.Get(f.ctx, cwBob, c.ID); err == nil || apperr.KindOf(err) != apperr.Internal {
		t.Fatalf("a denial that cannot be recorded: %v", err)
	}
	if _, _, err := f.svc.Create(f.ctx, cwAlice, newCase()); err == nil {
		t.Fatal("create with a failing recorder succeeded")
	}
}

func TestCaseworkListFiltersAndPages(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	type spec struct {
		by      identity.Principal
		workers []string
		band    protocol.AgeBand
		types   []protocol.CaseType
		closed  bool
	}
	specs := []spec{
		{cwAlice, nil, protocol.AgeUnder6, []protocol.CaseType{protocol.CaseGrooming}, false},
		{cwAlice, []string{"u-bob"}, protocol.Age6To11, []protocol.CaseType{protocol.CaseAbuseMaterial, protocol.CaseGrooming}, false},
		{cwBob, nil, protocol.Age12To17, []protocol.CaseType{protocol.CaseCyberbullying}, true},
		{cwSup, []string{"u-bob"}, protocol.AgeUnder6, []protocol.CaseType{protocol.CaseHarmfulContent}, false},
		{cwSup, nil, protocol.Age6To11, []protocol.CaseType{protocol.CaseGrooming}, false},
		{cwAlice, nil, protocol.Age12To17, []protocol.CaseType{protocol.CaseSexualExploitation}, false},
		{cwSupB, nil, protocol.AgeUnder6, []protocol.CaseType{protocol.CaseGrooming}, false},
	}
	ids := make([]string, len(specs))
	var midway time.Time
	for i, s := range specs {
		if i == 4 {
			midway = f.clock.Now()
		}
		n := newCase()
		n.CaseworkerIDs, n.Child.AgeBand, n.CaseTypes = s.workers, s.band, s.types
		c := f.create(s.by, n)
		ids[i] = c.ID
		if s.closed {
			if _, err := f.svc.Close(f.ctx, s.by, c.ID, "resolved", c.Version); err != nil {
				t.Fatalf("closing: %v", err)
			}
		}
		f.clock.Advance(time.Minute)
	}
	pick := func(is ...int) []string {
		out := make([]string, len(is))
		for i, x := range is {
			out[i] = ids[x]
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		name   string
		p      identity.Principal
		filter casework.Filter
		want   []string
	}{
		{"supervisor sees the organisation", cwSup, casework.Filter{}, pick(0, 1, 2, 3, 4, 5)},
		{"other organisation", cwSupB, casework.Filter{}, pick(6)},
		{"caseworker sees assigned only", cwAlice, casework.Filter{}, pick(0, 1, 5)},
		{"bob", cwBob, casework.Filter{}, pick(1, 2, 3)},
		{"status closed", cwSup, casework.Filter{Status: casework.StatusClosed}, pick(2)},
		{"status open", cwSup, casework.Filter{Status: casework.StatusOpen}, pick(0, 1, 3, 4, 5)},
		{"assignee", cwSup, casework.Filter{AssigneeID: "u-bob"}, pick(1, 2, 3)},
		{"caseworker filtering by a colleague gets shared cases only", cwAlice, casework.Filter{AssigneeID: "u-bob"}, pick(1)},
		{"case type", cwSup, casework.Filter{CaseType: protocol.CaseGrooming}, pick(0, 1, 4)},
		{"age band", cwSup, casework.Filter{AgeBand: protocol.AgeUnder6}, pick(0, 3)},
		{"updated since", cwSup, casework.Filter{UpdatedSince: midway}, pick(4, 5)},
		{"combined", cwAlice, casework.Filter{CaseType: protocol.CaseGrooming, AgeBand: protocol.Age6To11, Status: casework.StatusOpen}, pick(1)},
		{"updated since includes a later close", cwSup, casework.Filter{UpdatedSince: midway.Add(-2 * time.Minute), Status: casework.StatusClosed}, pick(2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{0, 1, 2, 200} {
				var got []string
				after := ""
				for pages := 0; ; pages++ {
					page, err := f.svc.List(f.ctx, tc.p, tc.filter, after, limit)
					if err != nil {
						t.Fatalf("limit %d: %v", limit, err)
					}
					if limit > 0 && len(page.Cases) > limit || pages > 10 {
						t.Fatalf("limit %d: page of %d after %d pages", limit, len(page.Cases), pages)
					}
					for _, c := range page.Cases {
						got = append(got, c.ID)
					}
					if page.Next == "" {
						break
					}
					after = page.Next
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("limit %d: got %v, want %v", limit, got, tc.want)
				}
			}
		})
	}
	t.Run("bad filter values", func(t *testing.T) {
		_, err := f.svc.List(f.ctx, cwSup, casework.Filter{Status: "lost", CaseType: "x", AgeBand: "y", AssigneeID: "a b"}, "zzz", 0)
		wantFields(t, "bad filter", err, "status", "case_type", "age_band", "assignee_id", "cursor")
	})
	t.Run("list event", func(t *testing.T) {
		if _, err := f.svc.List(f.ctx, cwSup, casework.Filter{}, "", 0); err != nil {
			t.Fatal(err)
		}
		if e := f.events.last(); e.Action != casework.ActionCaseList || e.ActorRole != "supervisor" || e.Outcome != audit.OutcomeSuccess {
			t.Fatalf("list event: %+v", e)
		}
	})
}

func TestCaseworkUpdate(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	c := f.create(cwAlice, newCase())

	f.clock.Advance(time.Hour)
	ref := "REF-NEW"
	child := c.Child
	child.Pseudonym, child.AgeBand = "Z.K.", protocol.Age6To11
	types := []protocol.CaseType{protocol.CaseGrooming, protocol.CaseAbuseMaterial, protocol.CaseGrooming}
	v2, err := f.svc.Update(f.ctx, cwAlice, c.ID, casework.CaseUpdate{ReferenceNumber: &ref, Child: &child, CaseTypes: &types}, 1)
	if err != nil || v2.Version != 2 || v2.ReferenceNumber != ref || v2.Child.Pseudonym != "Z.K." ||
		!slices.Equal(v2.CaseTypes, []protocol.CaseType{protocol.CaseAbuseMaterial, protocol.CaseGrooming}) || !v2.UpdatedAt.Equal(caseworkStart.Add(time.Hour)) {
		t.Fatalf("update: %+v, %v", v2, err)
	}
	if got, _ := f.svc.Get(f.ctx, cwAlice, c.ID); got.Version != 2 || got.Child != v2.Child || got.ReferenceNumber != ref {
		t.Fatalf("stored after update: %+v", got)
	}

	t.Run("stale version returns the current case", func(t *testing.T) {
		other := "REF-STALE"
		_, err := f.svc.Update(f.ctx, cwSup, c.ID, casework.CaseUpdate{ReferenceNumber: &other}, 1)
		wantAppErr(t, "stale update", err, apperr.Conflict, "version_conflict")
		var stale *casework.StaleError
		if !errors.As(err, &stale) || stale.Current.Version != 2 || stale.Current.ReferenceNumber != ref || !errors.Is(err, casework.ErrStale) {
			t.Fatalf("stale error: %v", err)
		}
		if e := f.events.last(); e.Action != casework.ActionCaseUpdate || e.Outcome != audit.OutcomeFailure {
			t.Fatalf("stale update event: %+v", e)
		}
	})
	t.Run("a write that loses the race gets the current case", func(t *testing.T) {
		// Simulate a concurrent writer: the store moves to version 3 behind the service's back.
		cur, _ := f.store.Case(f.ctx, c.ID)
		raced := cur
		raced.Version, raced.ReferenceNumber = 3, "REF-RACED"
		if err := f.store.UpdateCase(f.ctx, raced); err != nil {
			t.Fatal(err)
		}
		if err := f.store.UpdateCase(f.ctx, raced); !errors.Is(err, casework.ErrStale) {
			t.Fatalf("second write of version 3: %v", err)
		}
		missing := raced
		missing.ID = uuid.NewString()
		if err := f.store.UpdateCase(f.ctx, missing); !errors.Is(err, casework.ErrNotFound) {
			t.Fatalf("update of a missing case: %v", err)
		}
	})
	t.Run("nothing changed keeps the version", func(t *testing.T) {
		cur, _ := f.svc.Get(f.ctx, cwAlice, c.ID)
		same, err := f.svc.Update(f.ctx, cwAlice, c.ID, casework.CaseUpdate{ReferenceNumber: &cur.ReferenceNumber}, cur.Version)
		if err != nil || same.Version != cur.Version {
			t.Fatalf("no-op update: %+v, %v", same, err)
		}
	})
	t.Run("invalid values", func(t *testing.T) {
		cur, _ := f.svc.Get(f.ctx, cwAlice, c.ID)
		bad := cur.Child
		bad.Pseudonym, bad.BirthYear = "", 1900
		none := []protocol.CaseType{}
		_, err := f.svc.Update(f.ctx, cwAlice, c.ID, casework.CaseUpdate{Child: &bad, CaseTypes: &none}, cur.Version)
		wantFields(t, "invalid update", err, "child.pseudonym", "child.birth_year", "case_types")
	})
}

func TestCaseworkCloseReopen(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	c := f.create(cwAlice, newCase())
	run := f.startRun(cwAlice, c.ID)

	_, err := f.svc.Close(f.ctx, cwAlice, c.ID, "  ", 1)
	wantFields(t, "close without a reason", err, "reason")
	_, err = f.svc.Close(f.ctx, cwAlice, c.ID, strings.Repeat("r", 501), 1)
	wantFields(t, "reason too long", err, "reason")
	_, err = f.svc.Reopen(f.ctx, cwAlice, c.ID, "why", 1)
	wantAppErr(t, "reopen an open case", err, apperr.Invalid, "case_not_closed")

	f.clock.Advance(time.Hour)
	closed, err := f.svc.Close(f.ctx, cwAlice, c.ID, "Referred to the child advocacy centre", 1)
	if err != nil || closed.Status != casework.StatusClosed || closed.ClosedAt == nil || !closed.ClosedAt.Equal(f.clock.Now()) ||
		closed.Version != 2 || closed.StatusReason != "Referred to the child advocacy centre" {
		t.Fatalf("close: %+v, %v", closed, err)
	}
	if e := f.events.last(); e.Action != casework.ActionCaseClose || e.Outcome != audit.OutcomeSuccess {
		t.Fatalf("close event: %+v", e)
	}
	ref := "X"
	_, err = f.svc.Update(f.ctx, cwAlice, c.ID, casework.CaseUpdate{ReferenceNumber: &ref}, 2)
	wantAppErr(t, "update a closed case", err, apperr.Invalid, "case_closed")
	_, err = f.svc.Close(f.ctx, cwSup, c.ID, "again", 2)
	wantAppErr(t, "close a closed case", err, apperr.Invalid, "case_closed")
	_, err = f.svc.RecordStep(f.ctx, cwAlice, c.ID, run.ID, casework.NewStepRecord{StepID: "safety", Status: casework.StepDone, RecordedAt: f.clock.Now(), ClientID: "c1"})
	wantAppErr(t, "record on a closed case", err, apperr.Invalid, "case_closed")
	_, _, err = f.svc.StartRun(f.ctx, cwAlice, c.ID, uuid.NewString(), caseworkProtocolID)
	wantAppErr(t, "start a run on a closed case", err, apperr.Invalid, "case_closed")
	if _, err := f.svc.GetRun(f.ctx, cwAlice, c.ID, run.ID); err != nil {
		t.Fatalf("reading a run of a closed case: %v", err)
	}
	_, err = f.svc.Reopen(f.ctx, cwAlice, c.ID, "New disclosure", 1)
	wantAppErr(t, "stale reopen", err, apperr.Conflict, "version_conflict")

	reopened, err := f.svc.Reopen(f.ctx, cwSup, c.ID, "New disclosure", 2)
	if err != nil || reopened.Status != casework.StatusOpen || reopened.ClosedAt != nil || reopened.StatusReason != "New disclosure" || reopened.Version != 3 {
		t.Fatalf("reopen: %+v, %v", reopened, err)
	}
	if got, _ := f.svc.Get(f.ctx, cwAlice, c.ID); got.ClosedAt != nil || got.Status != casework.StatusOpen || got.StatusReason != "New disclosure" {
		t.Fatalf("stored after reopen: %+v", got)
	}
	f.record(cwAlice, c, run, casework.NewStepRecord{StepID: "safety", Status: casework.StepDone, RecordedAt: f.clock.Now(), ClientID: "c1"})
}

func stepIDs(v casework.RunView) []string {
	out := make([]string, len(v.Steps))
	for i, s := range v.Steps {
		out[i] = s.Step.ID
	}
	return out
}

func TestCaseworkRunPinnedToItsVersion(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	c := f.create(cwAlice, newCase())
	runID := uuid.NewString()
	r1, created, err := f.svc.StartRun(f.ctx, cwAlice, c.ID, runID, caseworkProtocolID)
	if err != nil || !created || r1.ProtocolVersion != 1 || r1.CaseID != c.ID || r1.OrgID != "org-a" || r1.StartedBy != "u-alice" {
		t.Fatalf("start: %+v, created %v, %v", r1, created, err)
	}
	f.protocols.publish(caseworkDoc("new-in-v2"))

	again, created, err := f.svc.StartRun(f.ctx, cwAlice, c.ID, runID, caseworkProtocolID)
	if err != nil || created || again.ProtocolVersion != 1 || !again.StartedAt.Equal(r1.StartedAt) {
		t.Fatalf("repeated start: %+v, created %v, %v", again, created, err)
	}
	view, err := f.svc.GetRun(f.ctx, cwAlice, c.ID, runID)
	if err != nil || view.Run.ProtocolVersion != 1 || slices.Contains(stepIDs(view), "new-in-v2") {
		t.Fatalf("pinned run sees %v (version %d), %v", stepIDs(view), view.Run.ProtocolVersion, err)
	}
	_, err = f.svc.RecordStep(f.ctx, cwAlice, c.ID, runID, casework.NewStepRecord{StepID: "new-in-v2", Status: casework.StepDone, RecordedAt: f.clock.Now(), ClientID: "x"})
	wantFields(t, "a step of a later version", err, "step_id")

	f.clock.Advance(time.Minute) // ListRuns orders by start time
	r2 := f.startRun(cwAlice, c.ID)
	if r2.ProtocolVersion != 2 {
		t.Fatalf("new run: version %d", r2.ProtocolVersion)
	}
	if view, _ := f.svc.GetRun(f.ctx, cwAlice, c.ID, r2.ID); !slices.Contains(stepIDs(view), "new-in-v2") {
		t.Fatalf("new run steps: %v", stepIDs(view))
	}
	runs, err := f.svc.ListRuns(f.ctx, cwSup, c.ID)
	if err != nil || len(runs) != 2 || runs[0].ID != runID || runs[1].ID != r2.ID {
		t.Fatalf("list runs: %+v, %v", runs, err)
	}

	other := f.create(cwAlice, newCase())
	_, _, err = f.svc.StartRun(f.ctx, cwAlice, other.ID, runID, caseworkProtocolID)
	wantAppErr(t, "run id of another case", err, apperr.Conflict, "run_id_conflict")
	_, _, err = f.svc.StartRun(f.ctx, cwAlice, c.ID, uuid.NewString(), "no-such-protocol")
	wantAppErr(t, "unknown protocol", err, apperr.NotFound, "protocol_not_found")
	_, _, err = f.svc.StartRun(f.ctx, cwAlice, c.ID, "run-1", "")
	wantFields(t, "bad ids", err, "id", "protocol_id")
}

func TestCaseworkApplicableSteps(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	cases := []struct {
		name  string
		child func(*casework.Child)
		types []protocol.CaseType
		want  []string
	}{
		{"under 6 with an interpreter", func(*casework.Child) {}, nil,
			[]string{"safety", "interpreter", "young-adapt", "hearing-prep", "no-disability"}},
		{"teenager without needs, grooming", func(c *casework.Child) { c.AgeBand = protocol.Age12To17; c.Needs = casework.Needs{} },
			[]protocol.CaseType{protocol.CaseGrooming}, []string{"safety", "teen-only", "hearing-prep", "grooming-only", "no-disability"}},
		{"disability excludes a not-disability step", func(c *casework.Child) { c.Needs = casework.Needs{Disability: true} }, nil,
			[]string{"safety", "young-adapt", "hearing-prep"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := newCase()
			tc.child(&n.Child)
			if tc.types != nil {
				n.CaseTypes = tc.types
			}
			c := f.create(cwAlice, n)
			r := f.startRun(cwAlice, c.ID)
			view, err := f.svc.GetRun(f.ctx, cwAlice, c.ID, r.ID)
			if err != nil || !slices.Equal(stepIDs(view), tc.want) {
				t.Fatalf("steps %v, want %v (%v)", stepIDs(view), tc.want, err)
			}
			if view.Progress != (casework.Progress{Applicable: len(tc.want)}) || view.Steps[0].PhaseID != "first" {
				t.Fatalf("progress %+v, first phase %q", view.Progress, view.Steps[0].PhaseID)
			}
			if e := f.events.last(); e.Action != casework.ActionRunRead || e.ResourceType != casework.ResourceRun || e.ResourceID != r.ID {
				t.Fatalf("run read event: %+v", e)
			}
		})
	}
	t.Run("situation", func(t *testing.T) {
		s := casework.Case{Child: casework.Child{AgeBand: protocol.AgeUnder6, Needs: casework.Needs{Interpreter: true, SupportPerson: true}},
			CaseTypes: []protocol.CaseType{protocol.CaseGrooming}}.Situation()
		if s.AgeBand != protocol.AgeUnder6 || !slices.Equal(s.Needs, []protocol.Need{protocol.NeedInterpreter, protocol.NeedSupportPerson}) ||
			!slices.Equal(s.CaseTypes, []protocol.CaseType{protocol.CaseGrooming}) {
			t.Fatalf("situation: %+v", s)
		}
		if s := (casework.Case{}).Situation(); s.Needs == nil || len(s.Needs) != 0 {
			t.Fatalf("no needs must be known-empty, got %#v", s.Needs)
		}
	})
}

func TestCaseworkRecordStep(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	c := f.create(cwAlice, newCase())
	r := f.startRun(cwAlice, c.ID)
	at := f.clock.Now().Add(-time.Hour)

	view := f.record(cwAlice, c, r, casework.NewStepRecord{StepID: "safety", Status: casework.StepDone, Note: "Child safe with grandmother", RecordedAt: at, ClientID: "rec-1"})
	if len(view.Run.Records) != 1 || view.Progress.Done != 1 || view.Steps[0].Latest == nil || view.Steps[0].Latest.Note != "Child safe with grandmother" ||
		view.Steps[0].Latest.ByUserID != "u-alice" || !view.Steps[0].Latest.ReceivedAt.Equal(f.clock.Now()) || !view.Steps[0].Latest.RecordedAt.Equal(at) {
		t.Fatalf("first record: %+v", view)
	}
	if e := f.events.last(); e.Action != casework.ActionRunRecord || e.ResourceID != r.ID {
		t.Fatalf("record event: %+v", e)
	}

	t.Run("a repeated client id is a no-op", func(t *testing.T) {
		view := f.record(cwAlice, c, r, casework.NewStepRecord{StepID: "safety", Status: casework.StepSkipped, Reason: "other", RecordedAt: at, ClientID: "rec-1"})
		if len(view.Run.Records) != 1 || view.Steps[0].Latest.Status != casework.StepDone {
			t.Fatalf("retry changed the run: %+v", view.Run.Records)
		}
		appended, err := f.store.AppendStepRecord(f.ctx, r.ID, casework.StepRecord{StepID: "safety", Status: casework.StepDone, ClientID: "rec-1", RecordedAt: at})
		if err != nil || appended {
			t.Fatalf("store append of a known client id: %v, %v", appended, err)
		}
		if _, err := f.store.AppendStepRecord(f.ctx, uuid.NewString(), casework.StepRecord{ClientID: "z"}); !errors.Is(err, casework.ErrNotFound) {
			t.Fatalf("append to a missing run: %v", err)
		}
	})
	t.Run("a later record supersedes, the earlier stays", func(t *testing.T) {
		view := f.record(cwSup, c, r, casework.NewStepRecord{StepID: "safety", Status: casework.StepSkipped, Reason: "Child moved before contact",
			RecordedAt: at.Add(time.Minute), ClientID: "rec-2"})
		if len(view.Run.Records) != 2 || view.Steps[0].Latest.ClientID != "rec-2" || view.Progress.Done != 0 || view.Progress.Skipped != 1 {
			t.Fatalf("superseding record: %+v", view)
		}
		// A record made earlier on another device but received later does not win.
		view = f.record(cwAlice, c, r, casework.NewStepRecord{StepID: "safety", Status: casework.StepDone, RecordedAt: at.Add(-time.Minute), ClientID: "rec-0"})
		if len(view.Run.Records) != 3 || view.Steps[0].Latest.ClientID != "rec-2" {
			t.Fatalf("late-arriving older record: latest %+v", view.Steps[0].Latest)
		}
		view = f.record(cwAlice, c, r, casework.NewStepRecord{StepID: "young-adapt", Status: casework.StepNotApplicable, RecordedAt: at, ClientID: "rec-3"})
		if view.Progress != (casework.Progress{Applicable: 5, Skipped: 1, NotApplicable: 1}) {
			t.Fatalf("progress: %+v", view.Progress)
		}
	})

	invalid := []struct {
		name   string
		rec    casework.NewStepRecord
		fields []string
		code   string
	}{
		{"skipped without a reason", casework.NewStepRecord{StepID: "safety", Status: casework.StepSkipped, RecordedAt: at, ClientID: "bad-1"}, []string{"reason"}, ""},
		{"unknown step", casework.NewStepRecord{StepID: "nope", Status: casework.StepDone, RecordedAt: at, ClientID: "bad-2"}, []string{"step_id"}, "unknown_step"},
		{"step that does not apply", casework.NewStepRecord{StepID: "teen-only", Status: casework.StepDone, RecordedAt: at, ClientID: "bad-3"}, []string{"step_id"}, "not_applicable"},
		{"unknown status", casework.NewStepRecord{StepID: "safety", Status: "half", RecordedAt: at, ClientID: "bad-4"}, []string{"status"}, ""},
		{"no device time", casework.NewStepRecord{StepID: "safety", Status: casework.StepDone, ClientID: "bad-5"}, []string{"recorded_at"}, ""},
		{"device time too far ahead", casework.NewStepRecord{StepID: "safety", Status: casework.StepDone, RecordedAt: caseworkStart.Add(6 * time.Minute), ClientID: "bad-6"}, []string{"recorded_at"}, "future"},
		{"no client id", casework.NewStepRecord{StepID: "safety", Status: casework.StepDone, RecordedAt: at}, []string{"client_id"}, ""},
		{"note too long", casework.NewStepRecord{StepID: "safety", Status: casework.StepDone, RecordedAt: at, ClientID: "bad-7", Note: strings.Repeat("n", 2001)}, []string{"note"}, ""},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.RecordStep(f.ctx, cwAlice, c.ID, r.ID, tc.rec)
			wantFields(t, tc.name, err, tc.fields...)
			if tc.code != "" && apperr.As(err).Fields[0].Code != tc.code {
				t.Fatalf("code %q, want %q", apperr.As(err).Fields[0].Code, tc.code)
			}
		})
	}
	t.Run("device time slightly ahead is accepted", func(t *testing.T) {
		f.record(cwAlice, c, r, casework.NewStepRecord{StepID: "interpreter", Status: casework.StepDone, RecordedAt: caseworkStart.Add(4 * time.Minute), ClientID: "ahead"})
	})
}

func TestCaseworkOverdue(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	c := f.create(cwAlice, newCase())
	r := f.startRun(cwAlice, c.ID)
	overdue := func() []string {
		t.Helper()
		v, err := f.svc.GetRun(f.ctx, cwAlice, c.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return v.Overdue
	}
	steps := []struct {
		advance time.Duration
		record  string
		want    []string
	}{
		{0, "", []string{}},
		{24 * time.Hour, "", []string{}}, // exactly at the deadline is not late
		{time.Millisecond, "", []string{"safety"}},
		{0, "safety", []string{}},
		{24 * time.Hour, "", []string{"interpreter"}}, // 2 days after opening; hearing-prep (anchor hearing) never
		{0, "interpreter", []string{}},
	}
	for i, st := range steps {
		f.clock.Advance(st.advance)
		if st.record != "" {
			f.record(cwAlice, c, r, casework.NewStepRecord{StepID: st.record, Status: casework.StepDone, RecordedAt: f.clock.Now(), ClientID: st.record})
		}
		if got := overdue(); !slices.Equal(got, st.want) {
			t.Fatalf("step %d at %s: overdue %v, want %v", i, f.clock.Now().Sub(caseworkStart), got, st.want)
		}
	}
	t.Run("deadline counts from the device's opening time", func(t *testing.T) {
		n := newCase()
		n.OpenedAt = f.clock.Now().Add(-30 * time.Hour)
		c := f.create(cwAlice, n)
		r := f.startRun(cwAlice, c.ID)
		v, err := f.svc.GetRun(f.ctx, cwAlice, c.ID, r.ID)
		if err != nil || !slices.Equal(v.Overdue, []string{"safety"}) || v.Steps[0].DueAt == nil || !v.Steps[0].DueAt.Equal(n.OpenedAt.Add(24*time.Hour)) {
			t.Fatalf("overdue %v, due %v, %v", v.Overdue, v.Steps[0].DueAt, err)
		}
	})
}

func TestCaseworkEncryptedAtRest(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	n := newCase()
	n.ReferenceNumber = "AGENCY-REF-7781"
	n.Child.Pseudonym = "Quillon Pseudonym"
	n.Child.Needs.DisabilityNotes = "Needs picture cards xylograph"
	c := f.create(cwAlice, n)
	r := f.startRun(cwAlice, c.ID)
	f.record(cwAlice, c, r, casework.NewStepRecord{StepID: "safety", Status: casework.StepDone, Note: "Grandmother present marmalade", RecordedAt: f.clock.Now(), ClientID: "n1"})
	f.record(cwAlice, c, r, casework.NewStepRecord{StepID: "interpreter", Status: casework.StepSkipped, Reason: "Interpreter unreachable quokka", RecordedAt: f.clock.Now(), ClientID: "n2"})
	closed, err := f.svc.Close(f.ctx, cwAlice, c.ID, "Closing reason periwinkle", 1)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"AGENCY-REF-7781", "Quillon", "xylograph", "marmalade", "quokka", "periwinkle"}

	dump := func(t *testing.T, store *mongodb.CaseworkStore) string {
		t.Helper()
		var b strings.Builder
		for _, coll := range []struct {
			name string
			get  func() ([]bson.M, error)
		}{
			{"cases", func() ([]bson.M, error) {
				cur, err := store.RawCasesCollection().Find(f.ctx, bson.D{})
				if err != nil {
					return nil, err
				}
				var docs []bson.M
				return docs, cur.All(f.ctx, &docs)
			}},
			{"runs", func() ([]bson.M, error) {
				cur, err := store.RawRunsCollection().Find(f.ctx, bson.D{})
				if err != nil {
					return nil, err
				}
				var docs []bson.M
				return docs, cur.All(f.ctx, &docs)
			}},
		} {
			docs, err := coll.get()
			if err != nil || len(docs) == 0 {
				t.Fatalf("reading %s raw: %d documents, %v", coll.name, len(docs), err)
			}
			fmt.Fprintf(&b, "%v\n", docs)
		}
		return b.String()
	}
	raw := dump(t, f.store)
	for _, s := range secrets {
		if strings.Contains(raw, s) {
			t.Fatalf("plaintext %q found in the database", s)
		}
	}
	var doc struct {
		Ref   string `bson:"reference_number"`
		Child struct {
			Pseudonym string `bson:"pseudonym"`
		} `bson:"child"`
	}
	if err := f.store.RawCasesCollection().FindOne(f.ctx, bson.D{{Key: "_id", Value: c.ID}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.Ref, "enc:d1:") || !strings.HasPrefix(doc.Child.Pseudonym, "enc:d1:") {
		t.Fatalf("stored fields are not tokens of the case's data key: %q %q", doc.Ref, doc.Child.Pseudonym)
	}
	wrapped := func(t *testing.T) string {
		t.Helper()
		var k struct {
			Wrapped string `bson:"wrapped"`
		}
		if err := f.db.CaseKeys(nil).RawCaseKeysCollection().FindOne(f.ctx, bson.D{{Key: "_id", Value: c.ID}}).Decode(&k); err != nil {
			t.Fatal(err)
		}
		return k.Wrapped
	}
	if w := wrapped(t); !strings.HasPrefix(w, "enc:v1:k1:") {
		t.Fatalf("the case's data key is not wrapped by ring key k1: %q", w)
	}

	t.Run("a ring with a new key prepended reads old records", func(t *testing.T) {
		rotatedRing := caseworkRing(t, caseworkKey("k2", 2)+","+caseworkKey("k1", 1))
		rotated := f.db.Casework(rotatedRing)
		svc := casework.NewService(rotated, f.protocols, f.events, f.clock.Now)
		got, err := svc.Get(f.ctx, cwAlice, c.ID)
		if err != nil || got.ReferenceNumber != n.ReferenceNumber || got.Child.Pseudonym != n.Child.Pseudonym ||
			got.Child.Needs.DisabilityNotes != n.Child.Needs.DisabilityNotes || got.StatusReason != "Closing reason periwinkle" {
			t.Fatalf("old case with the rotated ring: %+v, %v", got, err)
		}
		view, err := svc.GetRun(f.ctx, cwAlice, c.ID, r.ID)
		if err != nil || view.Steps[0].Latest.Note != "Grandmother present marmalade" || view.Steps[1].Latest.Reason != "Interpreter unreachable quokka" {
			t.Fatalf("old run with the rotated ring: %+v, %v", view, err)
		}
		reopened, err := svc.Reopen(f.ctx, cwAlice, c.ID, "Reopened under the new key", closed.Version)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Reason string `bson:"status_reason"`
			Ref    string `bson:"reference_number"`
		}
		if err := rotated.RawCasesCollection().FindOne(f.ctx, bson.D{{Key: "_id", Value: c.ID}}).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(doc.Reason, "enc:d1:") || !strings.HasPrefix(doc.Ref, "enc:d1:") {
			t.Fatalf("rewritten fields not under the case key: %q %q", doc.Reason, doc.Ref)
		}
		if n, err := f.db.CaseKeys(rotatedRing).Rewrap(f.ctx); err != nil || n == 0 {
			t.Fatalf("rewrapping the case keys: %d, %v", n, err)
		}
		if w := wrapped(t); !strings.HasPrefix(w, "enc:v1:k2:") {
			t.Fatalf("the case's data key is not rewrapped by the new ring key k2: %q", w)
		}
		oldOnly := casework.NewService(f.db.Casework(caseworkRing(t, caseworkKey("k1", 1))), f.protocols, f.events, f.clock.Now)
		if got, err := oldOnly.Get(f.ctx, cwAlice, c.ID); err == nil || !errors.Is(err, fieldcrypt.ErrUndecryptable) {
			t.Fatalf("a ring without the new key read the rewrapped case: %+v, %v", got, err)
		}
		if reopened.ReferenceNumber != n.ReferenceNumber {
			t.Fatalf("reopened: %+v", reopened)
		}
	})
	t.Run("tokens are bound to their record and field", func(t *testing.T) {
		other := f.create(cwAlice, newCase())
		// Copy the encrypted pseudonym of c onto another case behind the service's back.
		if _, err := f.store.RawCasesCollection().UpdateOne(f.ctx, bson.D{{Key: "_id", Value: other.ID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "child.pseudonym", Value: doc.Child.Pseudonym}}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Case(f.ctx, other.ID); !errors.Is(err, fieldcrypt.ErrUndecryptable) {
			t.Fatalf("a moved token decrypted: %v", err)
		}
	})
}
