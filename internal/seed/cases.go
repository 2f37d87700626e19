package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// The shipped protocols the seeded cases follow.
const (
	firstContactProtocol = "first-contact-safety"
	referralProtocol     = "medical-psychosocial-referral"
	interviewProtocol    = "child-interview"
)

// oneCase seeds case i with everything it holds, through the services, as its people would.
func (s *seeder) oneCase(ctx context.Context, i int) error {
	c := s.plan.Case(i)
	r := rngFor(s.plan.seed, "case-content", i)
	o := s.orgs[c.Org]
	sup := o.supervisors[c.Supervisor]
	worker := o.caseworkers[c.Caseworkers[0]]
	ids := make([]string, len(c.Caseworkers))
	for j, w := range c.Caseworkers {
		ids[j] = o.caseworkers[w].UserID
	}
	slices.SortFunc(c.CaseTypes, func(a, b protocol.CaseType) int {
		return slices.Index(protocol.CaseTypes, a) - slices.Index(protocol.CaseTypes, b)
	})
	nc := casework.NewCase{ID: c.ID, ReferenceNumber: fmt.Sprintf("RCAC-%d-%05d", c.OpenedAt.Year(), i+1),
		Child: casework.Child{Pseudonym: pseudonym(r), AgeBand: c.AgeBand, BirthYear: max(birthYear(r, c.AgeBand, c.OpenedAt), s.now.Year()-18),
			Gender: pick(r, casework.Genders), PreferredLanguage: pick(r, []string{"en", "en", "en", "es", "fr", "ar"}),
			Needs: casework.Needs{Interpreter: c.Interpreter, SupportPerson: r.IntN(3) == 0}},
		CaseTypes: c.CaseTypes, CaseworkerIDs: ids, SupervisorID: sup.UserID, OpenedAt: c.OpenedAt}
	if c.Interpreter {
		nc.Child.Needs.InterpreterLanguage = pick(r, []string{"ar", "ru", "zh", "uk", "so"})
	}
	if _, _, err := s.svc.Cases.Create(ctx, sup, nc); err != nil {
		return fmt.Errorf("creating the case: %w", err)
	}
	s.res.Counts.Cases.Add(1)
	clock := deviceClock{t: c.OpenedAt, limit: s.now}
	if err := s.run(ctx, worker, c, firstContactProtocol, r, &clock); err != nil {
		return err
	}
	if c.Referral {
		if err := s.run(ctx, worker, c, referralProtocol, r, &clock); err != nil {
			return err
		}
	}
	if c.Session {
		if err := s.session(ctx, worker, sup, c, r, &clock); err != nil {
			return err
		}
	}
	for k := range c.Items {
		if err := s.item(ctx, worker, o, c, k, r, &clock); err != nil {
			return err
		}
	}
	if err := s.reads(ctx, o, c, r); err != nil {
		return err
	}
	if c.Closed {
		cur, err := s.svc.Cases.Get(ctx, sup, c.ID)
		if err != nil {
			return fmt.Errorf("reading the case to close it: %w", err)
		}
		if _, err := s.svc.Cases.Close(ctx, sup, c.ID, "Support plan completed; the family was referred to local services.", cur.Version); err != nil {
			return fmt.Errorf("closing the case: %w", err)
		}
	}
	return nil
}

// run starts a protocol run on the case and records most of its applicable steps.
func (s *seeder) run(ctx context.Context, worker identity.Principal, c CasePlan, protocolID string, r *rand.Rand, clock *deviceClock) error {
	runID := s.plan.ID(r, clock.next(r, time.Hour))
	if _, _, err := s.svc.Cases.StartRun(ctx, worker, c.ID, runID, protocolID); err != nil {
		return fmt.Errorf("starting run %s: %w", protocolID, err)
	}
	s.res.Counts.Runs.Add(1)
	view, err := s.svc.Cases.GetRun(ctx, worker, c.ID, runID)
	if err != nil {
		return fmt.Errorf("reading run %s: %w", protocolID, err)
	}
	steps := view.Steps
	if len(steps) == 0 {
		return nil
	}
	n := len(steps)
	if !c.Closed {
		n = 1 + r.IntN(len(steps)) // an open case is part of the way through
	}
	for k, st := range steps[:n] {
		rec := casework.NewStepRecord{StepID: st.Step.ID, Status: casework.StepDone, RecordedAt: clock.next(r, 20*time.Hour),
			ClientID: fmt.Sprintf("seed-%s-%d", runID[:8], k)}
		switch x := r.IntN(20); {
		case x == 0:
			rec.Status, rec.Reason = casework.StepSkipped, "The family asked to postpone; rescheduled with the caregiver."
		case x == 1:
			rec.Status = casework.StepNotApplicable
		case x < 8:
			rec.Note = pick(r, stepNotes)
		}
		if _, err := s.svc.Cases.RecordStep(ctx, worker, c.ID, runID, rec); err != nil {
			return fmt.Errorf("recording step %s of %s: %w", st.Step.ID, protocolID, err)
		}
		s.res.Counts.StepRecords.Add(1)
	}
	return nil
}

// reads records the audit entries of c.Reads reads of the case by its caseworkers and supervisor over
// its life, as casework.Service.Get records them (the reads themselves change nothing).
func (s *seeder) reads(ctx context.Context, o *orgPeople, c CasePlan, r *rand.Rand) error {
	n := s.cfg.ReadsPerCase
	if n < 0 {
		return nil
	}
	readers := []identity.Principal{o.supervisors[c.Supervisor]}
	for _, w := range c.Caseworkers {
		readers = append(readers, o.caseworkers[w], o.caseworkers[w])
	}
	// The entries Cases.Get writes for each read, recorded together (one group commit per MaxBatch)
	// instead of read by read: the reads themselves change nothing.
	entries := make([]audit.Entry, n)
	for k := range entries {
		p := pick(r, readers)
		ev := p.AuditEvent(p.Roles[0], casework.ActionCaseRead, casework.ResourceCase, c.ID, audit.OutcomeSuccess)
		entries[k] = audit.Entry{OrgID: ev.OrgID, ActorID: ev.ActorID, ActorRole: ev.ActorRole, DeviceID: ev.DeviceID,
			Action: ev.Action, ResourceType: ev.ResourceType, ResourceID: ev.ResourceID, Outcome: ev.Outcome}
	}
	if _, err := s.svc.Audit.RecordAll(ctx, entries); err != nil {
		return fmt.Errorf("recording the case's reads: %w", err)
	}
	s.res.Counts.CaseReads.Add(int64(n))
	return nil
}

// deviceClock hands out the device times of one case's events: forward from the case's opening,
// never past limit (the run's start).
type deviceClock struct{ t, limit time.Time }

// next moves the clock forward by up to most and returns it.
func (d *deviceClock) next(r *rand.Rand, most time.Duration) time.Time {
	d.t = d.t.Add(time.Minute + time.Duration(r.Int64N(int64(most))))
	if d.t.After(d.limit) {
		d.t = d.limit
	}
	return d.t.Truncate(time.Millisecond)
}

// pseudonym returns initials and a number, as agencies pseudonymise children.
func pseudonym(r *rand.Rand) string {
	const letters = "ABCDEFGHJKLMNPRSTVW"
	return fmt.Sprintf("%c.%c.-%03d", letters[r.IntN(len(letters))], letters[r.IntN(len(letters))], r.IntN(1000))
}

// birthYear returns a birth year fitting the age band at the case's opening.
func birthYear(r *rand.Rand, band protocol.AgeBand, opened time.Time) int {
	lo, hi := 12, 17
	switch band {
	case protocol.AgeUnder6:
		lo, hi = 2, 5
	case protocol.Age6To11:
		lo, hi = 6, 11
	}
	return opened.Year() - lo - r.IntN(hi-lo+1)
}

var stepNotes = []string{
	"Spoke with the caregiver by phone; safety plan agreed.",
	"Child seen at the centre with the support person present.",
	"Referral sent; appointment confirmed for next week.",
	"Information leaflet given in the child's language.",
	"Discussed next steps with the multidisciplinary team.",
}
