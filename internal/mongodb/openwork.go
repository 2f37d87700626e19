package mongodb

import (
	"cmp"
	"context"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/casework"
)

// openWork is one organisation's open cases (summaries) and their runs' progress, kept in an
// orgSnapshots (DB.openWork) so that the supervisor's overview does not read every open case and run
// on every request (README, "Page times"). Every write of a case or run stamps it with a number of
// the organisation's change sequence.
type openWork struct {
	cases map[string]casework.Case           // open case id -> summary
	runs  map[string]map[string]casework.Run // open case id -> run id -> progress
}

// OpenWorkCachedOrgs returns how many organisations' open work this process holds in memory (at
// most 64). It returns no error.
func (d *DB) OpenWorkCachedOrgs() int { return d.openWork.cachedOrgs() }

// caseChangeFields are the fields of a changed case the open work reads: the summary, its status
// and its change number.
var caseChangeFields = append(slices.Clone(caseSummaryFields), bson.E{Key: "status", Value: 1}, bson.E{Key: "change_seq", Value: 1})

// OpenWork returns every open case of orgID (summaries, by id) and their runs (progress, by case,
// start time and id), as ListCaseSummaries and ListRunProgress would, from a snapshot in memory
// brought up to date first with the cases and runs written since it was (see orgSnapshots): every
// write that ended before the call is in the answer. The snapshot is read in full the first time,
// every ten minutes and after a failed update. It returns the driver's error (the snapshot is then
// read in full next time).
func (s *CaseworkStore) OpenWork(ctx context.Context, orgID string) (casework.OpenWork, error) {
	var out casework.OpenWork
	err := s.db.openWork.use(ctx, s.db, orgID, func(sn *openWork, full bool, since int64) error {
		if full {
			return s.readOpenWork(ctx, orgID, sn)
		}
		return s.applyOpenWorkChanges(ctx, orgID, sn, since)
	}, func(sn *openWork) { out = sn.copyOut() })
	return out, err
}

// readOpenWork replaces sn's cases and runs with orgID's open cases and their runs as stored now.
func (s *CaseworkStore) readOpenWork(ctx context.Context, orgID string, sn *openWork) error {
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
func (s *CaseworkStore) addRuns(ctx context.Context, orgID string, sn *openWork, ids []string) error {
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
// mark: an open case is put in (a newly open one with all its runs), a case no longer open
// leaves with its runs, and a run of an open case is replaced.
func (s *CaseworkStore) applyOpenWorkChanges(ctx context.Context, orgID string, sn *openWork, mark int64) error {
	since := bson.D{{Key: "org_id", Value: orgID}, {Key: "change_seq", Value: bson.D{{Key: "$gt", Value: mark}}}}
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

func (sn *openWork) putRun(r casework.Run) {
	m := sn.runs[r.CaseID]
	if m == nil {
		m = map[string]casework.Run{}
		sn.runs[r.CaseID] = m
	}
	m[r.ID] = r
}

// copyOut returns the snapshot sorted, as copies the caller may change (nil slices when empty, as
// ListCaseSummaries and ListRunProgress answer).
func (sn *openWork) copyOut() casework.OpenWork {
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
