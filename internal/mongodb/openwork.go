package mongodb

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/casework"
)

const (
	// openWorkMaxOrgs is how many organisations' open work the cache holds; the least recently
	// asked for leaves first.
	openWorkMaxOrgs = 64
	// openWorkFullEvery is how old a snapshot's last full read may be before it is read in full
	// again (a bound on what a missed change could cost; none should be missed).
	openWorkFullEvery = 10 * time.Minute
)

// openWorkCache keeps, per organisation, a snapshot of its open cases (summaries) and their runs'
// progress, so that the supervisor's overview does not read every open case and run on every
// request (README, "Page times").
//
// Every write of a case or run stamps the document with a number of the organisation's change
// sequence (change_seq). A snapshot holds a watermark: ChangeWatermark as it was before the
// snapshot was last brought up to date. Every write that took a number up to the watermark had
// ended by then, so its effect is in the snapshot; every write that ended later carries a higher
// number and leaves its document with one (a document's number is its last write's). Bringing the
// snapshot up to date therefore takes a new watermark first, then reads the cases and runs whose
// change_seq is above the old one (with no upper bound: a write that ended is shown at once, even
// while a lower number is still being written) and applies them; the new watermark becomes the
// snapshot's. With several instances ChangeWatermark also lags by the settle time (numbers other
// processes take are not seen in flight), so each request rereads the changes of the last settle
// time: more documents, the same answer.
type openWorkCache struct {
	mu   sync.Mutex
	orgs map[string]*openWorkSnap
	now  func() time.Time
	tick int64 // the number of the last use (least recently used leaves first)
}

// openWorkSnap is one organisation's snapshot; mu serialises its reads and updates.
type openWorkSnap struct {
	mu     sync.Mutex
	used   int64 // guarded by openWorkCache.mu
	loaded bool  // false until a full read succeeded, and again after any failed update
	mark   int64 // every write with a number up to it is reflected
	fullAt time.Time
	cases  map[string]casework.Case           // open case id -> summary
	runs   map[string]map[string]casework.Run // open case id -> run id -> progress
}

func newOpenWorkCache() *openWorkCache {
	return &openWorkCache{orgs: map[string]*openWorkSnap{}, now: time.Now}
}

// snap returns orgID's snapshot, making an empty one (and dropping the least recently used when
// there are too many).
func (c *openWorkCache) snap(orgID string) *openWorkSnap {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	s := c.orgs[orgID]
	if s == nil {
		if len(c.orgs) >= openWorkMaxOrgs {
			oldest := ""
			for id, o := range c.orgs {
				if oldest == "" || o.used < c.orgs[oldest].used {
					oldest = id
				}
			}
			delete(c.orgs, oldest)
		}
		s = &openWorkSnap{}
		c.orgs[orgID] = s
	}
	s.used = c.tick
	return s
}

// cachedOrgs returns how many organisations the cache holds (tests).
func (c *openWorkCache) cachedOrgs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.orgs)
}

// OpenWorkCachedOrgs returns how many organisations' open work this process holds in memory (at
// most 64). It returns no error.
func (d *DB) OpenWorkCachedOrgs() int { return d.openWork.cachedOrgs() }

// caseChangeFields are the fields of a changed case the open work reads: the summary, its status
// and its change number.
var caseChangeFields = append(slices.Clone(caseSummaryFields), bson.E{Key: "status", Value: 1}, bson.E{Key: "change_seq", Value: 1})

// OpenWork returns every open case of orgID (summaries, by id) and their runs (progress, by case,
// start time and id), as ListCaseSummaries and ListRunProgress would, from a snapshot in memory
// brought up to date first with the cases and runs written since it was (see openWorkCache): every
// write that ended before the call is in the answer. The snapshot is read in full the first time,
// every ten minutes and after a failed update. It returns the driver's error (the snapshot is then
// read in full next time).
func (s *CaseworkStore) OpenWork(ctx context.Context, orgID string) (casework.OpenWork, error) {
	sn := s.db.openWork.snap(orgID)
	sn.mu.Lock()
	defer sn.mu.Unlock()
	w, err := s.db.ChangeWatermark(ctx, orgID)
	if err != nil {
		return casework.OpenWork{}, err
	}
	now := s.db.openWork.now()
	if !sn.loaded || w < sn.mark || now.Sub(sn.fullAt) >= openWorkFullEvery {
		err = s.readOpenWork(ctx, orgID, sn)
		sn.fullAt = now
	} else {
		err = s.applyOpenWorkChanges(ctx, orgID, sn)
	}
	sn.loaded = err == nil
	if err != nil {
		return casework.OpenWork{}, err
	}
	sn.mark = w
	return sn.copyOut(), nil
}

// readOpenWork replaces sn's cases and runs with orgID's open cases and their runs as stored now.
func (s *CaseworkStore) readOpenWork(ctx context.Context, orgID string, sn *openWorkSnap) error {
	sn.cases, sn.runs = map[string]casework.Case{}, map[string]map[string]casework.Run{}
	var ids []string
	for after := ""; ; {
		page, err := s.ListCaseSummaries(ctx, casework.StoreFilter{OrgID: orgID, Status: casework.StatusOpen}, after, 1000)
		if err != nil {
			return err
		}
		for _, c := range page {
			sn.cases[c.ID] = c
			ids = append(ids, c.ID)
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	return s.addRuns(ctx, orgID, sn, ids)
}

// addRuns sets the runs of cases ids in sn as stored now.
func (s *CaseworkStore) addRuns(ctx context.Context, orgID string, sn *openWorkSnap, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	runs, err := s.ListRunProgress(ctx, orgID, ids)
	if err != nil {
		return err
	}
	for _, r := range runs {
		sn.putRun(r)
	}
	return nil
}

// applyOpenWorkChanges applies to sn the cases and runs of orgID whose change number is above
// sn.mark: an open case is put in (a newly open one with all its runs), a case no longer open
// leaves with its runs, and a run of an open case is replaced.
func (s *CaseworkStore) applyOpenWorkChanges(ctx context.Context, orgID string, sn *openWorkSnap) error {
	since := bson.D{{Key: "org_id", Value: orgID}, {Key: "change_seq", Value: bson.D{{Key: "$gt", Value: sn.mark}}}}
	cases, err := findDocs[caseworkCaseDoc](ctx, s.db, s.cases(), since, options.Find().SetProjection(caseChangeFields),
		"reading the changed cases of %s: %w", orgID)
	if err != nil {
		return err
	}
	runs, err := findDocs[caseworkRunDoc](ctx, s.db, s.runs(), since, options.Find().SetProjection(runProgressFields),
		"reading the changed runs of %s: %w", orgID)
	if err != nil {
		return err
	}
	var opened []string
	for _, d := range cases {
		if d.Status != string(casework.StatusOpen) {
			delete(sn.cases, d.ID)
			delete(sn.runs, d.ID)
			continue
		}
		if _, ok := sn.cases[d.ID]; !ok {
			opened = append(opened, d.ID)
		}
		sn.cases[d.ID] = caseSummary(d)
	}
	for _, d := range runs {
		if _, ok := sn.cases[d.CaseID]; ok {
			sn.putRun(runProgress(d))
		}
	}
	// A case that was closed (or is new to the snapshot) has runs written before the mark: read
	// them, after the changes above, so that what is read here is the newer.
	return s.addRuns(ctx, orgID, sn, opened)
}

func (sn *openWorkSnap) putRun(r casework.Run) {
	m := sn.runs[r.CaseID]
	if m == nil {
		m = map[string]casework.Run{}
		sn.runs[r.CaseID] = m
	}
	m[r.ID] = r
}

// copyOut returns the snapshot sorted, as copies the caller may change (nil slices when empty, as
// ListCaseSummaries and ListRunProgress answer).
func (sn *openWorkSnap) copyOut() casework.OpenWork {
	var out casework.OpenWork
	for _, c := range sn.cases {
		out.Cases = append(out.Cases, cloneCase(c))
		for _, r := range sn.runs[c.ID] {
			r.Records = slices.Clone(r.Records)
			out.Runs = append(out.Runs, r)
		}
	}
	slices.SortFunc(out.Cases, func(a, b casework.Case) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(out.Runs, compareRunProgress)
	return out
}

// compareRunProgress orders runs by case, start time and id.
func compareRunProgress(a, b casework.Run) int {
	return cmp.Or(cmp.Compare(a.CaseID, b.CaseID), a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.ID, b.ID))
}
