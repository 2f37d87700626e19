package mongodb

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// Bulk loading (the seed command's bulk mode). The domain services write a case's records one
// request at a time: a run is rewritten for every step recorded, an interview log for every batch of
// prompts, an item for every custody head, each write with its change number and its own transaction.
// On the embedded database those updates are most of a seed's time (FerretDB decodes and re-encodes
// the document; measured with -cpuprofile: about 30 % of the CPU in updates, 8 % in change counters).
//
// Bulk keeps the records of the cases being seeded in memory instead, behind the same Store
// interfaces (BulkCasework, BulkInterviews, BulkEvidence): the services run unchanged (validation,
// version checks, chains, receipts, audit entries, custody checkpoints), and each Store method applies
// to the staged record what the database store's update does to the document. Once a case is done,
// Flush converts its records with the very functions the stores use (encryption under the case's key
// included), stamps each document with a change number as the last write would, and inserts them with
// InsertMany, many cases at a time. The documents are the ones the stores would have written; only the
// change numbers' order among one flush's documents differs (they are taken as one block), as it does
// between concurrent writers.
//
// Only records created through the Bulk stores are staged; any other is read from the database. A
// staged record is visible only to this process until flushed: Bulk is for a seed writing records
// nobody else reads meanwhile.
type Bulk struct {
	db *DB
	cw *CaseworkStore
	iv *InterviewStore
	ev *EvidenceStore

	mu    sync.Mutex
	cases map[string]*bulkCase // staged cases by id
	owner map[string]string    // run, session and item ids -> case id
	ready []string             // cases done, to flush
}

// bulkCase is a staged case with everything it holds.
type bulkCase struct {
	created  casework.Case // as CreateCase stored it
	c        casework.Case
	runs     []*casework.Run
	sessions []*bulkSession
	items    []*bulkItem
}

// bulkSession is a staged interview session and its log, with the log document's own fields.
type bulkSession struct {
	s       interview.Session
	log     interview.Log
	seq     int64     // the log's append counter (interviewLogDoc.Seq)
	updated time.Time // the log's updated_at
}

// bulkItem is a staged evidence item and its custody events.
type bulkItem struct {
	it     evidence.Item
	events []evidence.Event
}

// Bulk returns a bulk loader writing with keys (see Bulk).
func (d *DB) Bulk(keys *fieldcrypt.KeyRing) *Bulk {
	return &Bulk{db: d, cw: d.Casework(keys), iv: d.Interviews(keys), ev: d.Evidence(keys),
		cases: map[string]*bulkCase{}, owner: map[string]string{}}
}

// Casework returns the casework store that stages (see Bulk).
func (b *Bulk) Casework() *BulkCasework { return &BulkCasework{CaseworkStore: b.cw, b: b} }

// Interviews returns the interview store that stages (see Bulk).
func (b *Bulk) Interviews() *BulkInterviews { return &BulkInterviews{InterviewStore: b.iv, b: b} }

// Evidence returns the evidence store that stages (see Bulk).
func (b *Bulk) Evidence() *BulkEvidence { return &BulkEvidence{EvidenceStore: b.ev, b: b} }

// staged returns the staged case that owns record id (a case, run, session or item id), or nil.
// The caller holds b.mu.
func (b *Bulk) staged(id string) *bulkCase {
	if c, ok := b.cases[id]; ok {
		return c
	}
	if cid, ok := b.owner[id]; ok {
		return b.cases[cid]
	}
	return nil
}

// stageChild stages record id of case caseID with add when that case is staged, and returns exists
// when a staged record already has the id; when the case is not staged it calls store instead
// (without holding b.mu).
func (b *Bulk) stageChild(caseID, id string, exists error, store func() error, add func(*bulkCase)) error {
	b.mu.Lock()
	bc := b.cases[caseID]
	if bc == nil {
		b.mu.Unlock()
		return store()
	}
	defer b.mu.Unlock()
	if _, ok := b.owner[id]; ok {
		return exists
	}
	add(bc)
	b.owner[id] = caseID
	return nil
}

// BulkCasework is the casework.Store of a Bulk: it stages new cases and their runs.
type BulkCasework struct {
	*CaseworkStore
	b *Bulk
}

// CreateCase stages a new case. It returns casework.ErrExists when a staged case has its id.
func (s *BulkCasework) CreateCase(_ context.Context, c casework.Case) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.b.cases[c.ID] != nil {
		return casework.ErrExists
	}
	s.b.cases[c.ID] = &bulkCase{created: cloneCase(c), c: cloneCase(c)}
	return nil
}

// Case returns a staged case, or the stored one (see CaseworkStore.Case).
func (s *BulkCasework) Case(ctx context.Context, id string) (casework.Case, error) {
	s.b.mu.Lock()
	bc := s.b.cases[id]
	if bc == nil {
		s.b.mu.Unlock()
		return s.CaseworkStore.Case(ctx, id)
	}
	defer s.b.mu.Unlock()
	return cloneCase(bc.c), nil
}

// UpdateCase replaces a staged case when its version is c.Version-1 (casework.ErrStale otherwise),
// or updates the stored one (see CaseworkStore.UpdateCase).
func (s *BulkCasework) UpdateCase(ctx context.Context, c casework.Case) error {
	s.b.mu.Lock()
	bc := s.b.cases[c.ID]
	if bc == nil {
		s.b.mu.Unlock()
		return s.CaseworkStore.UpdateCase(ctx, c)
	}
	defer s.b.mu.Unlock()
	if bc.c.Version != c.Version-1 {
		return casework.ErrStale
	}
	bc.c = cloneCase(c)
	return nil
}

// CreateRun stages a new run of a staged case (or stores it, see CaseworkStore.CreateRun). It
// returns casework.ErrExists when a staged run has its id.
func (s *BulkCasework) CreateRun(ctx context.Context, r casework.Run) error {
	return s.b.stageChild(r.CaseID, r.ID, casework.ErrExists, func() error { return s.CaseworkStore.CreateRun(ctx, r) },
		func(bc *bulkCase) {
			r.Records = slices.Clone(r.Records)
			bc.runs = append(bc.runs, &r)
		})
}

// stagedRun returns staged run id; the caller holds b.mu.
func (b *Bulk) stagedRun(id string) *casework.Run {
	if bc := b.staged(id); bc != nil {
		for _, r := range bc.runs {
			if r.ID == id {
				return r
			}
		}
	}
	return nil
}

// Run returns a staged run, or the stored one (see CaseworkStore.Run).
func (s *BulkCasework) Run(ctx context.Context, id string) (casework.Run, error) {
	s.b.mu.Lock()
	r := s.b.stagedRun(id)
	if r == nil {
		s.b.mu.Unlock()
		return s.CaseworkStore.Run(ctx, id)
	}
	defer s.b.mu.Unlock()
	out := *r
	out.Records = slices.Clone(r.Records)
	return out, nil
}

// ListRuns returns the runs of a staged case by start time then id, or the stored ones (see
// CaseworkStore.ListRuns).
func (s *BulkCasework) ListRuns(ctx context.Context, caseID string) ([]casework.Run, error) {
	s.b.mu.Lock()
	bc := s.b.cases[caseID]
	if bc == nil {
		s.b.mu.Unlock()
		return s.CaseworkStore.ListRuns(ctx, caseID)
	}
	defer s.b.mu.Unlock()
	out := make([]casework.Run, 0, len(bc.runs))
	for _, r := range bc.runs {
		x := *r
		x.Records = slices.Clone(r.Records)
		out = append(out, x)
	}
	slices.SortStableFunc(out, func(a, b casework.Run) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	return out, nil
}

// AppendStepRecord appends rec to a staged run unless it holds a record with rec.ClientID (or to
// the stored run, see CaseworkStore.AppendStepRecord).
func (s *BulkCasework) AppendStepRecord(ctx context.Context, runID string, rec casework.StepRecord) (bool, error) {
	s.b.mu.Lock()
	r := s.b.stagedRun(runID)
	if r == nil {
		s.b.mu.Unlock()
		return s.CaseworkStore.AppendStepRecord(ctx, runID, rec)
	}
	defer s.b.mu.Unlock()
	for _, x := range r.Records {
		if x.ClientID == rec.ClientID {
			return false, nil
		}
	}
	r.Records = append(r.Records, rec)
	return true, nil
}

func cloneCase(c casework.Case) casework.Case {
	c.CaseTypes = slices.Clone(c.CaseTypes)
	c.CaseworkerIDs = slices.Clone(c.CaseworkerIDs)
	c.Assignments = slices.Clone(c.Assignments)
	c.Flags = slices.Clone(c.Flags)
	return c
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
