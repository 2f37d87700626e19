package mongodb

import (
	"context"
	"errors"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

const (
	caseworkCasesCollection = "cases"
	caseworkRunsCollection  = "runs"
)

// CaseworkStore implements casework.Store. It encrypts the free-text and identifying fields of cases
// and step records with its key ring as it converts them to documents, and decrypts them on reading.
type CaseworkStore struct {
	db   *DB
	keys *CaseKeys
}

// Casework returns the casework store, encrypting with keys (whose active key encrypts new values;
// every key in the ring can decrypt).
func (d *DB) Casework(keys *fieldcrypt.KeyRing) *CaseworkStore {
	return &CaseworkStore{db: d, keys: d.CaseKeys(keys)}
}

// ensureCaseworkIndexes creates the indexes of the cases and runs collections: organisation-led
// indexes for case lists (by id, by assignee, by update time), the runs of a case and of an
// organisation. It is idempotent
// and returns the first error the server gives.
func (d *DB) ensureCaseworkIndexes(ctx context.Context) error {
	indexes := map[string][]mongo.IndexModel{
		caseworkCasesCollection: {
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("org_id")},
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "caseworker_ids", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("org_caseworker")},
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "updated_at", Value: 1}}, Options: options.Index().SetName("org_updated")},
			// the case list filtered by an unresolved flag (GET /v1/cases?flag=)
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "active_flags", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("org_flag")},
			// the open cases of the supervisor's worklist (ListCaseSummaries with a status)
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "status", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("org_status")},
		},
		caseworkRunsCollection: {
			{Keys: bson.D{{Key: "case_id", Value: 1}, {Key: "started_at", Value: 1}}, Options: options.Index().SetName("case_started")},
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "protocol_id", Value: 1}}, Options: options.Index().SetName("org_protocol")}, // usage counts
			// the supervisor's worklist reads the runs of the organisation's open cases (ListRunProgress)
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "case_id", Value: 1}, {Key: "started_at", Value: 1}}, Options: options.Index().SetName("org_case_started")},
		},
	}
	for coll, models := range indexes {
		if err := d.ensureIndexes(ctx, coll, models); err != nil {
			return err
		}
	}
	return nil
}

// RawCasesCollection returns the cases collection itself, bypassing encryption. It is for tests and
// verification tooling only (for example to show that no plaintext reaches the database); the
// service never uses it.
func (s *CaseworkStore) RawCasesCollection() *mongo.Collection {
	return s.db.db.Collection(caseworkCasesCollection)
}

// RawRunsCollection returns the runs collection itself, bypassing encryption. It is for tests and
// verification tooling only; the service never uses it.
func (s *CaseworkStore) RawRunsCollection() *mongo.Collection {
	return s.db.db.Collection(caseworkRunsCollection)
}

func (s *CaseworkStore) cases() *mongo.Collection { return s.db.db.Collection(caseworkCasesCollection) }
func (s *CaseworkStore) runs() *mongo.Collection  { return s.db.db.Collection(caseworkRunsCollection) }

// CreateCase stores a new case. It returns casework.ErrExists when the id is taken, an error when a
// field cannot be encrypted, or the driver's error.
func (s *CaseworkStore) CreateCase(ctx context.Context, c casework.Case) error {
	doc, err := toCaseworkCaseDoc(s.keys.in(ctx), c)
	if err != nil {
		return err
	}
	seq, done, err := s.db.BeginChange(ctx, c.OrgID)
	if err != nil {
		return err
	}
	defer done()
	doc.ChangeSeq, doc.FormerCaseworkerIDs, doc.Assigned = seq, []string{}, assignmentsSince(nil, doc.CaseworkerIDs, seq)
	return insertNew(ctx, s.cases(), doc, casework.ErrExists, "case "+c.ID)
}

// Case returns a case: casework.ErrNotFound when there is none, an error when a field cannot be
// decrypted, or the driver's error.
func (s *CaseworkStore) Case(ctx context.Context, id string) (casework.Case, error) {
	var d caseworkCaseDoc
	if err := s.db.findByID(ctx, s.cases(), id, &d, casework.ErrNotFound, "case "+id); err != nil {
		return casework.Case{}, err
	}
	return fromCaseworkCaseDoc(s.keys.in(ctx), d)
}

// ListCases returns up to limit cases matching f with ids after afterID, by id. It returns an error
// when a field cannot be decrypted, or the driver's error.
func (s *CaseworkStore) ListCases(ctx context.Context, f casework.StoreFilter, afterID string, limit int) ([]casework.Case, error) {
	filter := caseFilter(f, afterID)
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	docs, err := findDocs[caseworkCaseDoc](ctx, s.db, s.cases(), filter, opts, "listing cases: %w")
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d caseworkCaseDoc) (casework.Case, error) { return fromCaseworkCaseDoc(s.keys.in(ctx), d) })
}

// UpdateCase replaces every mutable field of case c.ID when its stored version is c.Version-1. It
// returns casework.ErrStale when the version differs, casework.ErrNotFound when the case does not
// exist, an error when a field cannot be encrypted, or the driver's error.
func (s *CaseworkStore) UpdateCase(ctx context.Context, c casework.Case) error {
	doc, err := toCaseworkCaseDoc(s.keys.in(ctx), c)
	if err != nil {
		return err
	}
	// The number is taken before the document lock: both locks share stripes, so taking the
	// counter's while holding the document's could deadlock. A number of a write that turns out
	// stale is simply skipped.
	seq, done, err := s.db.BeginChange(ctx, c.OrgID)
	if err != nil {
		return err
	}
	defer done()
	defer s.db.locks.document(caseworkCasesCollection, c.ID)()
	var old struct {
		Version  int64                   `bson:"version"`
		Workers  []string                `bson:"caseworker_ids"`
		Former   []string                `bson:"former_caseworker_ids"`
		Assigned []caseworkAssignmentDoc `bson:"assigned"`
	}
	if err := s.db.findByID(ctx, s.cases(), c.ID, &old, casework.ErrNotFound, "case "+c.ID); err != nil {
		return err
	}
	if old.Version != c.Version-1 {
		return casework.ErrStale
	}
	former := formerCaseworkers(old.Former, old.Workers, doc.CaseworkerIDs)
	assigned := assignmentsSince(old.Assigned, doc.CaseworkerIDs, seq)
	res, err := s.db.updateByID(ctx, s.cases(), c.ID,
		bson.D{{Key: "version", Value: c.Version - 1}},
		bson.D{{Key: "$set", Value: caseUpdateSet(doc, seq, former, assigned)}})
	if err != nil {
		return unavailable("updating case %s: %w", c.ID, err)
	}
	if res.MatchedCount == 0 {
		return casework.ErrStale
	}
	return nil
}

// caseUpdateSet is the $set of UpdateCase: every mutable field of doc, with its change number, former
// caseworkers and assignments.
func caseUpdateSet(doc caseworkCaseDoc, seq int64, former []string, assigned []caseworkAssignmentDoc) bson.D {
	return bson.D{
		{Key: "reference_number", Value: doc.ReferenceNumber}, {Key: "child", Value: doc.Child},
		{Key: "case_types", Value: doc.CaseTypes}, {Key: "caseworker_ids", Value: doc.CaseworkerIDs},
		{Key: "supervisor_id", Value: doc.SupervisorID}, {Key: "status", Value: doc.Status},
		{Key: "closed_at", Value: doc.ClosedAt}, {Key: "status_reason", Value: doc.StatusReason},
		{Key: "updated_at", Value: doc.UpdatedAt}, {Key: "version", Value: doc.Version},
		{Key: "change_seq", Value: seq}, {Key: "former_caseworker_ids", Value: former}, {Key: "assigned", Value: assigned},
		{Key: "transferred_by", Value: doc.TransferredBy}, {Key: "assignment_history", Value: doc.AssignmentHistory},
	}
}

// CreateRun stores a new run with its records. It returns casework.ErrExists when the id is taken,
// an error when a field cannot be encrypted, or the driver's error.
func (s *CaseworkStore) CreateRun(ctx context.Context, r casework.Run) error {
	doc, err := toCaseworkRunDoc(s.keys.in(ctx), r)
	if err != nil {
		return err
	}
	seq, done, err := s.db.BeginChange(ctx, r.OrgID)
	if err != nil {
		return err
	}
	defer done()
	doc.ChangeSeq, doc.UpdatedAt = seq, r.StartedAt
	for _, rec := range doc.Records {
		if rec.ReceivedAt.After(doc.UpdatedAt) {
			doc.UpdatedAt = rec.ReceivedAt
		}
	}
	return insertNew(ctx, s.runs(), doc, casework.ErrExists, "run "+r.ID)
}

// Run returns a run: casework.ErrNotFound when there is none, an error when a field cannot be
// decrypted, or the driver's error.
func (s *CaseworkStore) Run(ctx context.Context, id string) (casework.Run, error) {
	var d caseworkRunDoc
	if err := s.db.findByID(ctx, s.runs(), id, &d, casework.ErrNotFound, "run "+id); err != nil {
		return casework.Run{}, err
	}
	return fromCaseworkRunDoc(s.keys.in(ctx), d)
}

// ListRuns returns the runs of a case by start time, then id. It returns an error when a field cannot
// be decrypted, or the driver's error.
func (s *CaseworkStore) ListRuns(ctx context.Context, caseID string) ([]casework.Run, error) {
	opts := options.Find().SetSort(bson.D{{Key: "started_at", Value: 1}, {Key: "_id", Value: 1}})
	docs, err := findDocs[caseworkRunDoc](ctx, s.db, s.runs(), bson.D{{Key: "case_id", Value: caseID}}, opts, "listing runs of case %s: %w", caseID)
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d caseworkRunDoc) (casework.Run, error) { return fromCaseworkRunDoc(s.keys.in(ctx), d) })
}

// AppendStepRecord appends rec to run runID with one conditional update that matches only while no
// record of the run has rec.ClientID, so a retried record is never stored twice. appended reports
// whether rec was stored. It returns casework.ErrNotFound when the run does not exist, an error when a
// field cannot be encrypted, or the driver's error.
func (s *CaseworkStore) AppendStepRecord(ctx context.Context, runID string, rec casework.StepRecord) (bool, error) {
	var owner struct {
		OrgID  string `bson:"org_id"`
		CaseID string `bson:"case_id"`
	}
	err := s.runs().FindOne(ctx, bson.D{{Key: "_id", Value: runID}}, options.FindOne().SetProjection(bson.D{{Key: "org_id", Value: 1}, {Key: "case_id", Value: 1}})).Decode(&owner)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, casework.ErrNotFound
	}
	if err != nil {
		return false, unavailable("reading run %s: %w", runID, err)
	}
	doc, err := toCaseworkRecordDoc(s.keys.in(ctx), owner.CaseID, runID, rec)
	if err != nil {
		return false, err
	}
	seq, done, err := s.db.BeginChange(ctx, owner.OrgID)
	if err != nil {
		return false, err
	}
	defer done()
	unlock := s.db.locks.document(caseworkRunsCollection, runID)
	filter := bson.D{{Key: "_id", Value: runID}, {Key: "records.client_id", Value: bson.D{{Key: "$ne", Value: rec.ClientID}}}}
	update := bson.D{{Key: "$push", Value: bson.D{{Key: "records", Value: doc}}},
		{Key: "$set", Value: bson.D{{Key: "change_seq", Value: seq}, {Key: "updated_at", Value: rec.ReceivedAt}}}}
	var res *mongo.UpdateResult
	// On the embedded database the condition is checked on the tables, under the run's lock (see
	// DB.updateByID): FerretDB would decode every run to evaluate it.
	lacks, exists, embedded, err := s.db.lacksRecord(ctx, runID, rec.ClientID)
	switch {
	case err != nil:
	case !embedded:
		res, err = s.runs().UpdateOne(ctx, filter, update)
	case !exists:
		unlock()
		return false, casework.ErrNotFound
	case !lacks:
		res = &mongo.UpdateResult{}
	default:
		res, err = s.runs().UpdateOne(ctx, bson.D{{Key: "_id", Value: runID}}, update)
	}
	unlock()
	if err != nil {
		return false, unavailable("recording a step of run %s: %w", runID, err)
	}
	if res.MatchedCount == 1 {
		return true, nil
	}
	n, err := s.runs().CountDocuments(ctx, bson.D{{Key: "_id", Value: runID}})
	if err != nil {
		return false, unavailable("reading run %s: %w", runID, err)
	}
	if n == 0 {
		return false, casework.ErrNotFound
	}
	return false, nil
}

// formerCaseworkers returns the caseworkers once assigned and not in now: the earlier former ones
// and those of before that are no longer assigned.
func formerCaseworkers(former, before, now []string) []string {
	out := []string{}
	for _, id := range append(slices.Clone(former), before...) {
		if !slices.Contains(now, id) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// assignmentsSince returns, for every caseworker in now, since which change they are assigned: the
// earlier entry when they were assigned before, seq otherwise.
func assignmentsSince(before []caseworkAssignmentDoc, now []string, seq int64) []caseworkAssignmentDoc {
	out := make([]caseworkAssignmentDoc, 0, len(now))
	for _, id := range now {
		a := caseworkAssignmentDoc{UserID: id, Seq: seq}
		if i := slices.IndexFunc(before, func(b caseworkAssignmentDoc) bool { return b.UserID == id }); i >= 0 {
			a.Seq = before[i].Seq
		}
		out = append(out, a)
	}
	return out
}

var _ casework.Store = (*CaseworkStore)(nil)
