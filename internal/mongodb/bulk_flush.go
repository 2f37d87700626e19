package mongodb

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"

	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Done marks staged case id complete: the next Flush writes it with everything it holds. Nothing
// may write its records through the Bulk stores after Done.
func (b *Bulk) Done(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cases[id] != nil {
		b.ready = append(b.ready, id)
	}
}

// Pending returns how many cases are done and not yet flushed.
func (b *Bulk) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.ready)
}

// bulkDocs are the documents of one flush, by collection.
type bulkDocs struct {
	cases, runs, sessions, logs, items, events []any
}

// Flush writes every case marked Done, with its runs, interview sessions and logs, evidence items
// and custody events, as the stores would have left them (see Bulk): each collection's documents in
// one InsertMany (split by the driver into the server's batches), stamped with change numbers taken
// as one block per organisation. The cases are then no longer staged. It returns an error when a
// field cannot be encrypted, or an Unavailable *apperr.Error when the database fails (the cases of
// that flush may then be partly written).
func (b *Bulk) Flush(ctx context.Context) error {
	b.mu.Lock()
	ready := b.ready
	b.ready = nil
	staged := make([]*bulkCase, 0, len(ready))
	for _, id := range ready {
		bc := b.cases[id]
		staged = append(staged, bc)
		delete(b.cases, id)
		for _, r := range bc.runs {
			delete(b.owner, r.ID)
		}
		for _, s := range bc.sessions {
			delete(b.owner, s.s.ID)
		}
		for _, it := range bc.items {
			delete(b.owner, it.it.ID)
		}
	}
	b.mu.Unlock()
	if len(staged) == 0 {
		return nil
	}
	// Change numbers: one per document (a session and its log share one, as CreateSession's do).
	need := map[string]int{}
	for _, bc := range staged {
		n := 1 + len(bc.runs) + len(bc.sessions) + len(bc.items)
		for _, it := range bc.items {
			n += len(it.events)
		}
		need[bc.c.OrgID] += n
	}
	orgs := make([]string, 0, len(need))
	for o := range need {
		orgs = append(orgs, o)
	}
	sort.Strings(orgs)
	next := map[string]int64{}
	for _, o := range orgs {
		first, done, err := b.db.BeginChanges(ctx, o, need[o])
		if err != nil {
			return err
		}
		defer done()
		next[o] = first
	}
	var docs bulkDocs
	for _, bc := range staged {
		if err := b.documents(ctx, bc, next, &docs); err != nil {
			return err
		}
	}
	for _, w := range []struct {
		coll string
		docs []any
	}{{caseworkCasesCollection, docs.cases}, {caseworkRunsCollection, docs.runs}, {interviewLogsCollection, docs.logs},
		{interviewSessionsCollection, docs.sessions}, {evidenceItemsCollection, docs.items}, {evidenceEventsCollection, docs.events}} {
		if len(w.docs) == 0 {
			continue
		}
		if _, err := b.db.db.Collection(w.coll).InsertMany(ctx, w.docs, options.InsertMany().SetOrdered(true)); err != nil {
			return unavailable("bulk inserting %d documents into %s: %w", len(w.docs), w.coll, err)
		}
	}
	return nil
}

// documents appends the documents of staged case bc to docs, as the stores would have written them,
// taking change numbers from next.
func (b *Bulk) documents(ctx context.Context, bc *bulkCase, next map[string]int64, docs *bulkDocs) error {
	keys := b.cw.keys.in(ctx)
	org := bc.c.OrgID
	take := func() int64 { seq := next[org]; next[org]++; return seq }

	// The document CreateCase inserted, then UpdateCase's $set when the case changed since.
	c, err := toCaseworkCaseDoc(keys, bc.created)
	if err != nil {
		return err
	}
	c.ChangeSeq = take()
	c.FormerCaseworkerIDs, c.Assigned = []string{}, assignmentsSince(nil, c.CaseworkerIDs, c.ChangeSeq)
	if bc.c.Version == bc.created.Version {
		docs.cases = append(docs.cases, c)
	} else {
		now, err := toCaseworkCaseDoc(keys, bc.c)
		if err != nil {
			return err
		}
		created, err := asD(c)
		if err != nil {
			return err
		}
		former := formerCaseworkers(c.FormerCaseworkerIDs, c.CaseworkerIDs, now.CaseworkerIDs)
		docs.cases = append(docs.cases, applySet(created, caseUpdateSet(now, c.ChangeSeq, former, assignmentsSince(c.Assigned, now.CaseworkerIDs, c.ChangeSeq))))
	}

	for _, r := range bc.runs {
		d, err := toCaseworkRunDoc(keys, *r)
		if err != nil {
			return err
		}
		// CreateRun's updated_at, then each AppendStepRecord's (its record's receipt time).
		d.ChangeSeq, d.UpdatedAt = take(), r.StartedAt
		for _, rec := range d.Records {
			if rec.ReceivedAt.After(d.UpdatedAt) {
				d.UpdatedAt = rec.ReceivedAt
			}
		}
		docs.runs = append(docs.runs, d)
	}

	for _, s := range bc.sessions {
		d, err := toInterviewSessionDoc(keys, s.s)
		if err != nil {
			return err
		}
		l, err := toInterviewEntryDocs(keys, s.s.CaseID, s.s.ID, s.log.Entries)
		if err != nil {
			return err
		}
		d.ChangeSeq = take()
		l.ID, l.OrgID, l.CaseID, l.UpdatedAt, l.ChangeSeq = s.s.ID, s.s.OrgID, s.s.CaseID, s.updated, d.ChangeSeq
		l.Open, l.ClosedAt, l.Seq = s.log.Open, s.log.ClosedAt, s.seq
		if l.Prompts == nil { // CreateSession stores empty arrays, which AppendLog pushes to
			l.Prompts = []interviewPromptDoc{}
		}
		if l.Breaks == nil {
			l.Breaks = []interviewBreakDoc{}
		}
		if l.Checks == nil {
			l.Checks = []interviewCheckDoc{}
		}
		if l.Marks == nil {
			l.Marks = []interviewMarkDoc{}
		}
		docs.sessions = append(docs.sessions, d)
		docs.logs = append(docs.logs, l)
	}

	for _, it := range bc.items {
		d, err := toEvidenceItemDoc(keys, it.it)
		if err != nil {
			return err
		}
		d.ChangeSeq = take()
		docs.items = append(docs.items, d)
		for _, e := range it.events {
			ed, err := toEvidenceEventDoc(keys, e, take())
			if err != nil {
				return fmt.Errorf("custody event %d of item %s: %w", e.Seq, it.it.ID, err)
			}
			docs.events = append(docs.events, ed)
		}
	}
	return nil
}

// asD returns doc as a bson.D, its fields in the order they are stored.
func asD(doc any) (bson.D, error) {
	raw, err := bson.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var d bson.D
	return d, bson.Unmarshal(raw, &d)
}

// applySet applies the top-level $set set to d as the server does: a field d holds gets its new
// value in place, another is appended.
func applySet(d, set bson.D) bson.D {
	for _, e := range set {
		i := slices.IndexFunc(d, func(x bson.E) bool { return x.Key == e.Key })
		if i < 0 {
			d = append(d, e)
		} else {
			d[i].Value = e.Value
		}
	}
	return d
}
