package console

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// caseItemsShown is how many evidence items the case page shows (the rest: through the API).
const caseItemsShown = 50

// caseEventsShown is how many custody events the case page shows per item (the whole chain is in
// the printable record).
const caseEventsShown = 200

// caseSections are the parts of the case page below the profile: assignment choices, protocol
// runs, interviews and evidence, each read through its domain service as the API reads it.
type caseSections struct {
	CanAssign   bool                  // a supervisor: the assignment forms are shown
	CanReview   bool                  // a supervisor: interviews link to the review page
	Choices     []identity.Caseworker // caseworkers of the organisation not yet assigned
	Runs        []runRow
	Interviews  []interviewRow
	Evidence    []evidenceRow
	MoreItems   bool // the case holds more items than the page shows
	PeopleNames map[string]string
	Care        caseCare // consents, services, flags, appointments and time standards (care.go)
}

// runRow is one protocol run with its applicable steps.
type runRow struct {
	ID, ProtocolID, Title string
	Version               int
	StartedAt             time.Time
	Progress              casework.Progress
	Overdue               int
	Steps                 []stepRow
}

// stepRow is one applicable step: its latest outcome ("" when none yet), due time and overdue mark.
type stepRow struct {
	Title      string
	Status     string
	DueAt      *time.Time
	Overdue    bool
	RecordedAt *time.Time
}

// interviewRow is one interview with its review status and quality at its last submission.
type interviewRow struct {
	ID          string
	Status      interview.Status
	Interviewer string
	CreatedAt   time.Time
	SubmittedAt *time.Time
	Quality     *interview.Quality
	Flags       []flagRow
}

// evidenceRow is one evidence item with its custody timeline, oldest event first.
type evidenceRow struct {
	Item        evidence.Item
	Kind        string // localized
	Status      string // localized
	SealBroken  bool
	Events      []custodyRow
	MoreEvents  bool
	Description string // "" for suspected abuse material (only hashes are kept)
}

// custodyRow is one custody event: who (performer, else the user who recorded it), when, what.
type custodyRow struct {
	Seq        int64
	Type       string // localized
	At         time.Time
	ReceivedAt time.Time
	By         string
	What       string // from → to, place, purpose, seal, hash check
}

// loadCase reads case id (casework.Service.Get: same scoping and audit as GET /v1/cases/{id}) and
// the case page's sections: runs (casework.Service.RunViews),
// interviews (interview.Service.List), evidence items and their events (evidence.Service.ListItems
// and Events), and, for a supervisor, the caseworkers they may assign (identity.Service.Caseworkers).
// Every read is audited by its service, as through the API. The reads run concurrently, so that
// their audit entries commit together; the first error is returned (the case's own when it is
// refused, so another organisation's case is the API's 404).
func (c *Console) loadCase(r *request, id string) (casework.Case, caseSections, error) {
	ctx, loc, p := r.ctx(), r.loc.Code, r.p
	s := caseSections{CanAssign: p.HasRole(identity.RoleSupervisor), CanReview: p.HasRole(identity.RoleSupervisor)}
	k, kerr := casework.Case{}, error(nil)
	var (
		views     []casework.RunView
		sessions  []interview.Session
		rawEvents [][]evidence.Event
	)
	var g group
	g.Go(func() error { k, kerr = c.deps.Cases.Get(ctx, p, id); return kerr })
	g.Go(func() (err error) { views, err = c.deps.Cases.RunViews(ctx, p, id); return err })
	g.Go(func() (err error) { sessions, err = c.deps.Interviews.List(ctx, p, id); return err })
	g.Go(func() error {
		custody, more, err := c.deps.Evidence.CaseCustody(ctx, p, id, caseItemsShown, caseEventsShown)
		if err != nil {
			return err
		}
		s.MoreItems = more
		for _, cu := range custody {
			it := cu.Item
			row := evidenceRow{Item: it, MoreEvents: cu.MoreEvents,
				Kind:   c.deps.Catalog.Message(loc, "evidence.kind."+string(it.Kind), nil),
				Status: c.deps.Catalog.Message(loc, "evidence.status."+string(it.State.Status), nil)}
			row.SealBroken = it.State.SealIntact != nil && !*it.State.SealIntact
			if !it.SuspectedAbuseMaterial {
				row.Description = it.Description
			}
			s.Evidence = append(s.Evidence, row)
			rawEvents = append(rawEvents, cu.Events)
		}
		return nil
	})
	var all []identity.Caseworker // the organisation's caseworkers (supervisors only): choices and names
	if s.CanAssign {
		g.Go(func() (err error) { all, err = c.caseworkers(ctx, p); return err })
	}
	c.loadCare(r, id, &g, &s.Care)
	if err := g.Wait(); err != nil {
		if kerr != nil {
			err = kerr
		}
		return k, s, err
	}
	for _, v := range views {
		s.Runs = append(s.Runs, c.runRow(r, v))
	}
	ids := slices.Clone(k.CaseworkerIDs)
	for _, x := range sessions {
		row := interviewRow{ID: x.ID, Status: x.Status, Interviewer: x.InterviewerID, CreatedAt: x.CreatedAt, SubmittedAt: x.SubmittedAt, Quality: x.Quality}
		if x.Quality != nil {
			for _, f := range x.Quality.Flags {
				row.Flags = append(row.Flags, flagRow{Name: c.flagName(loc, f.Code), Message: c.flagMessage(loc, f, func(id string) string { return id }), Severity: string(f.Severity)})
			}
		}
		ids = append(ids, x.InterviewerID)
		s.Interviews = append(s.Interviews, row)
	}
	for _, events := range rawEvents {
		for _, e := range events {
			ids = append(ids, e.RecordedBy, e.PerformedBy.UserID, e.From.UserID, e.To.UserID)
		}
	}
	known := map[string]string{}
	for _, w := range all {
		known[w.ID] = w.DisplayName
		if !slices.Contains(k.CaseworkerIDs, w.ID) {
			s.Choices = append(s.Choices, w)
		}
	}
	ids = append(ids, s.Care.careUserIDs()...)
	ids = slices.DeleteFunc(ids, func(id string) bool { _, ok := known[id]; return ok })
	names, err := c.deps.Identity.DisplayNames(ctx, p.OrgID, ids)
	if err != nil {
		return k, s, err
	}
	maps.Copy(names, known)
	s.PeopleNames = names
	c.finishCare(r, &s.Care, names)
	for i := range s.Interviews {
		s.Interviews[i].Interviewer = or(names[s.Interviews[i].Interviewer], s.Interviews[i].Interviewer)
	}
	for i, events := range rawEvents {
		for _, e := range events {
			s.Evidence[i].Events = append(s.Evidence[i].Events, c.custodyRow(r, e, names))
		}
	}
	return k, s, nil
}

// group runs functions concurrently and keeps the first error.
type group struct {
	wg   sync.WaitGroup
	once sync.Once
	err  error
}

// Go runs f in a goroutine.
func (g *group) Go(f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err })
		}
	})
}

// Wait waits for every function and returns the first error (nil when none failed).
func (g *group) Wait() error {
	g.wg.Wait()
	return g.err
}

// caseworkers lists the organisation's enabled caseworkers (identity.Service.Caseworkers, every
// page), by display name.
func (c *Console) caseworkers(ctx context.Context, p identity.Principal) ([]identity.Caseworker, error) {
	var out []identity.Caseworker
	for after := ""; ; {
		page, err := c.deps.Identity.Caseworkers(ctx, p, after, identity.MaxPageSize)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Caseworkers...)
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	slices.SortStableFunc(out, func(a, b identity.Caseworker) int { return strings.Compare(a.DisplayName, b.DisplayName) })
	return out, nil
}

// runRow localizes a run's view: the protocol's and steps' titles in the page's language (the
// source text when the version has no translation).
func (c *Console) runRow(r *request, v casework.RunView) runRow {
	row := runRow{ID: v.Run.ID, ProtocolID: v.Run.ProtocolID, Title: v.Run.ProtocolID, Version: v.Run.ProtocolVersion,
		StartedAt: v.Run.StartedAt, Progress: v.Progress, Overdue: len(v.Overdue)}
	titles := map[string]string{}
	if pv, err := c.deps.Protocols.Version(r.ctx(), v.Run.ProtocolID, v.Run.ProtocolVersion); err == nil {
		p, _ := pv.Document.Localize(r.loc.Code)
		row.Title = or(p.Title, row.Title)
		for _, ph := range p.Phases {
			for _, st := range ph.Steps {
				titles[st.ID] = st.Title
			}
		}
	}
	for _, sv := range v.Steps {
		sr := stepRow{Title: or(titles[sv.Step.ID], sv.Step.Title), DueAt: sv.DueAt, Overdue: slices.Contains(v.Overdue, sv.Step.ID)}
		if sv.Latest != nil {
			sr.Status = string(sv.Latest.Status)
			at := sv.Latest.RecordedAt
			sr.RecordedAt = &at
		}
		row.Steps = append(row.Steps, sr)
	}
	return row
}

// custodyRow describes one custody event in the page's language; users are named by display name.
func (c *Console) custodyRow(r *request, e evidence.Event, names map[string]string) custodyRow {
	cat, loc := c.deps.Catalog, r.loc.Code
	party := func(p evidence.Party) string {
		switch {
		case p.IsZero():
			return ""
		case p.UserID != "":
			return or(names[p.UserID], p.UserID)
		case p.Organisation != "":
			return p.Name + " (" + p.Organisation + ")"
		}
		return p.Name
	}
	row := custodyRow{Seq: e.Seq, Type: cat.Message(loc, "evidence.event."+string(e.Type), nil), At: e.RecordedAt, ReceivedAt: e.ReceivedAt,
		By: or(party(e.PerformedBy), or(names[e.RecordedBy], e.RecordedBy))}
	var what []string
	if from, to := party(e.From), party(e.To); from != "" || to != "" {
		what = append(what, strings.TrimSpace(from+" → "+to))
	}
	for _, s := range []string{e.Place, e.Purpose, e.Note} {
		if s = strings.TrimSpace(s); s != "" {
			what = append(what, s)
		}
	}
	if e.SealNumber != "" {
		seal := cat.Message(loc, "console.case.evidence.seal", map[string]any{"Seal": e.SealNumber})
		if e.SealIntact != nil && !*e.SealIntact {
			seal += " — " + cat.Message(loc, "console.worklist.seal_broken", nil)
		}
		what = append(what, seal)
	}
	if e.Matches != nil {
		id := "console.case.evidence.hash_matches"
		if !*e.Matches {
			id = "console.case.evidence.hash_differs"
		}
		what = append(what, cat.Message(loc, id, nil))
	}
	row.What = strings.Join(what, " · ")
	return row
}
