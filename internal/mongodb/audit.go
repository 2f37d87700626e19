package mongodb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/audit"
)

// The audit log lives in two collections:
//   - audit_log: one document per entry, _id "<org id>:<seq, 12 digits>", so that a second writer of
//     the same number fails on the duplicate key (the unique _id index is enforced on every server);
//   - audit_heads: one small document per organisation, _id the org id, holding the Seq and a copy of
//     a recent entry (audit.Store's head). MoveHead moves it forward with a conditional update after
//     entries are inserted, so it may lag by the entries whose writers have not moved it yet; a writer
//     that collides with one of those finds the newest of them (audit.Service probes Entry) and goes on.
//
// Finding the end of the log reads only audit_heads. That matters on the embedded FerretDB 1.24
// (sqlite): measured here, even an {_id: value} filter scans the table (its query uses the expression
// _ferretdb_sjson->'$._id', which SQLite does not match with the _id index built on
// _ferretdb_sjson->"_id"; EXPLAIN QUERY PLAN says SCAN), so reading or probing audit_log by _id costs
// up to about 2.7 µs per document in the collection (13 ms at 5,000 entries for a miss or a recent
// entry; the scan stops at the match, so old entries are found sooner) while audit_heads holds one
// document per organisation. Entry (a recent entry by _id) is read only when writers of two instances
// collide. Record therefore costs a few small operations whatever the log size
// (BenchmarkAuditRecord: about 6 ms both at 10 and at 5,000 entries; it was 75 ms at 5,000 when Last
// probed audit_log by _id). audit.Service commits concurrent entries of an organisation in groups
// through AppendMany: one ordered InsertMany and one head update per batch, and the head is read only
// by a Service's first batch or after another instance took a number. BenchmarkAuditRecordParallel
// with 32 goroutines recording for one organisation: about 4.1 ms per entry with one entry per
// Record (three operations each, serialised), 0.36 ms with group commit.
//
// Sizes: List and Scan (VerifyFull) use the indexes ensureAuditIndexes defines, on MongoDB and on the
// embedded database (where they are answered from its SQLite tables, see embedded.go; before, they
// scanned the whole audit_log collection at 100-200 µs per entry: 0.9-1.9 s per page at 10,000).
// Routine verification (audit.Service.Verify) reads only the entries after the newest signed
// checkpoint, through ScanFrom: by _id on the embedded database, so its cost does not grow with the
// collection (BenchmarkAuditVerify).
const (
	auditCollection      = "audit_log"
	auditHeadsCollection = "audit_heads"
)

// auditEntryDoc is one audit entry. Every field is stored, empty ones included, so a document always
// holds all the hashed fields.
type auditEntryDoc struct {
	ID           string    `bson:"_id"`
	OrgID        string    `bson:"org_id"`
	Seq          int64     `bson:"seq"`
	Time         time.Time `bson:"time"`
	ActorID      string    `bson:"actor_id"`
	ActorRole    string    `bson:"actor_role"`
	DeviceID     string    `bson:"device_id"`
	Action       string    `bson:"action"`
	ResourceType string    `bson:"resource_type"`
	ResourceID   string    `bson:"resource_id"`
	Outcome      string    `bson:"outcome"`
	RequestID    string    `bson:"request_id"`
	PrevHash     string    `bson:"prev_hash"`
	Hash         string    `bson:"hash"`
}

// auditHeadDoc is an organisation's head: Seq of the newest entry appended and a copy of it.
type auditHeadDoc struct {
	ID    string        `bson:"_id"`
	Seq   int64         `bson:"seq"`
	Entry auditEntryDoc `bson:"entry"`
}

func auditEntryID(orgID string, seq int64) string {
	return fmt.Sprintf("%s:%012d", orgID, seq)
}

func toAuditEntryDoc(e audit.Entry) auditEntryDoc {
	return auditEntryDoc{ID: auditEntryID(e.OrgID, e.Seq), OrgID: e.OrgID, Seq: e.Seq, Time: e.Time, ActorID: e.ActorID,
		ActorRole: e.ActorRole, DeviceID: e.DeviceID, Action: e.Action, ResourceType: e.ResourceType,
		ResourceID: e.ResourceID, Outcome: string(e.Outcome), RequestID: e.RequestID, PrevHash: e.PrevHash, Hash: e.Hash}
}

func fromAuditEntryDoc(d auditEntryDoc) audit.Entry {
	return audit.Entry{OrgID: d.OrgID, Seq: d.Seq, Time: d.Time.UTC(), ActorID: d.ActorID, ActorRole: d.ActorRole,
		DeviceID: d.DeviceID, Action: d.Action, ResourceType: d.ResourceType, ResourceID: d.ResourceID,
		Outcome: audit.Outcome(d.Outcome), RequestID: d.RequestID, PrevHash: d.PrevHash, Hash: d.Hash}
}

// AuditStore implements audit.Store.
type AuditStore struct{ db *DB }

// Audit returns the audit log store.
func (d *DB) Audit() *AuditStore { return &AuditStore{db: d} }

// ensureAuditIndexes creates the indexes of the audit collections: organisation and sequence, and
// the list's filters (actor, resource). It is idempotent. On FerretDB it creates none through the
// server (its query engine uses no index but the one on _id, and FerretDB's index upkeep would slow
// every request's audit insert); it registers them for the embedded tables instead (UseTables),
// where SQLite keeps them at little cost. It returns the first error the server gives.
func (d *DB) ensureAuditIndexes(ctx context.Context) error {
	models := []mongo.IndexModel{
		{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("org_seq").SetUnique(true)},
		{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "actor_id", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("org_actor_seq")},
		{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "resource_type", Value: 1}, {Key: "resource_id", Value: 1}, {Key: "seq", Value: 1}},
			Options: options.Index().SetName("org_resource_seq")},
		{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "time", Value: 1}}, Options: options.Index().SetName("org_time")},
	}
	if d.ferret { // the embedded tables get them (UseTables), where SQLite maintains them cheaply
		for _, m := range models {
			d.registerSQLIndex(auditCollection, m)
		}
		return nil
	}
	return d.ensureIndexes(ctx, auditCollection, models)
}

// RawCollection returns the audit_log collection itself. It is for tests and verification tooling
// only (for example to show that Verify finds an entry altered behind the service's back); the
// service never changes entries.
func (s *AuditStore) RawCollection() *mongo.Collection { return s.db.db.Collection(auditCollection) }

func (s *AuditStore) entries() *mongo.Collection { return s.db.db.Collection(auditCollection) }
func (s *AuditStore) heads() *mongo.Collection   { return s.db.db.Collection(auditHeadsCollection) }

// AppendMany stores entries (consecutive entries of one organisation, in ascending Seq order) with
// one ordered insert, which stops at the first duplicate _id. It does not move the head (MoveHead
// does). It returns nil when every entry is stored, an *audit.SeqTakenError (matching
// audit.ErrSeqTaken) with how many were stored when a number was taken, or an Unavailable
// *apperr.Error when the database fails (a prefix of the entries may then be stored).
func (s *AuditStore) AppendMany(ctx context.Context, entries []audit.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	docs := make([]auditEntryDoc, len(entries))
	for i, e := range entries {
		docs[i] = toAuditEntryDoc(e)
	}
	_, err := s.entries().InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
	if err == nil {
		return nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || len(bwe.WriteErrors) == 0 || bwe.WriteConcernError != nil {
		return unavailable("inserting audit entries %s to %s: %w", docs[0].ID, docs[len(docs)-1].ID, err)
	}
	first := bwe.WriteErrors[0]
	for _, we := range bwe.WriteErrors[1:] {
		if we.Index < first.Index {
			first = we
		}
	}
	if first.Index < 0 || first.Index >= len(docs) || !mongo.IsDuplicateKeyError(first) {
		return unavailable("inserting audit entries %s to %s: %w", docs[0].ID, docs[len(docs)-1].ID, err)
	}
	return &audit.SeqTakenError{Written: first.Index, Seq: docs[first.Index].Seq}
}

// MoveHead makes e its organisation's head unless the head is already at or past e.Seq: it moves a
// head that is behind (a conditional update by _id, see DB.updateByID), or creates a missing one; the
// insert fails on the duplicate _id when another writer created the head at the same moment, and then
// it tries again unless that head is at or past e.Seq. It returns an Unavailable *apperr.Error when
// the database fails.
func (s *AuditStore) MoveHead(ctx context.Context, e audit.Entry) error {
	d := toAuditEntryDoc(e)
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: d.Seq}, {Key: "entry", Value: d}}}}
	defer s.db.locks.document(auditHeadsCollection, d.OrgID)()
	for range 3 {
		res, err := s.db.updateByID(ctx, s.heads(), d.OrgID, bson.D{{Key: "seq", Value: bson.D{{Key: "$lt", Value: d.Seq}}}}, update)
		if err != nil {
			return unavailable("moving the audit head of %s to %d: %w", d.OrgID, d.Seq, err)
		}
		if res.MatchedCount > 0 {
			return nil
		}
		_, err = s.heads().InsertOne(ctx, auditHeadDoc{ID: d.OrgID, Seq: d.Seq, Entry: d})
		if err == nil {
			return nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return unavailable("creating the audit head of %s at %d: %w", d.OrgID, d.Seq, err)
		}
		head, found, err := s.head(ctx, d.OrgID)
		if err != nil {
			return err
		}
		if found && head.Seq >= d.Seq {
			return nil
		}
	}
	return nil // left behind: a later move catches up
}

func (s *AuditStore) head(ctx context.Context, orgID string) (auditHeadDoc, bool, error) {
	var h auditHeadDoc
	err := s.heads().FindOne(ctx, bson.D{{Key: "_id", Value: orgID}}).Decode(&h)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return h, false, nil
	}
	if err != nil {
		return h, false, unavailable("reading the audit head of %s: %w", orgID, err)
	}
	return h, true, nil
}

// Last returns the organisation's head: a copy of the newest entry appended (see audit.Store), and
// false when nothing was appended. It reads audit_heads only, unless the organisation has no head
// (before its first entry, or when the head document was lost): then it reads the entry with the
// highest Seq through the org_seq index (on the embedded database, the tables' copy of it). It
// returns an Unavailable *apperr.Error when the database fails.
func (s *AuditStore) Last(ctx context.Context, orgID string) (audit.Entry, bool, error) {
	head, found, err := s.head(ctx, orgID)
	if err != nil {
		return audit.Entry{}, false, err
	}
	if found {
		return fromAuditEntryDoc(head.Entry), true, nil
	}
	opts := options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(1)
	newest, err := findDocs[auditEntryDoc](ctx, s.db, s.entries(), bson.D{{Key: "org_id", Value: orgID}}, opts, "reading the newest audit entry of %s: %w", orgID)
	if err != nil || len(newest) == 0 {
		return audit.Entry{}, false, err
	}
	return fromAuditEntryDoc(newest[0]), true, nil
}

// Entry returns the organisation's entry numbered seq, and false when there is none. It returns an
// Unavailable *apperr.Error when the database fails.
func (s *AuditStore) Entry(ctx context.Context, orgID string, seq int64) (audit.Entry, bool, error) {
	var d auditEntryDoc
	id := auditEntryID(orgID, seq)
	err := s.entries().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return audit.Entry{}, false, nil
	}
	if err != nil {
		return audit.Entry{}, false, unavailable("reading audit entry %s: %w", id, err)
	}
	return fromAuditEntryDoc(d), true, nil
}

// List returns up to limit entries of the organisation with Seq > after that match f, in ascending
// Seq order. It returns an Unavailable *apperr.Error when the database fails.
func (s *AuditStore) List(ctx context.Context, orgID string, f audit.Filter, after int64, limit int) ([]audit.Entry, error) {
	filter := bson.D{{Key: "org_id", Value: orgID}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: after}}}}
	for _, eq := range []struct{ key, value string }{
		{"actor_id", f.ActorID}, {"action", f.Action}, {"resource_type", f.ResourceType}, {"resource_id", f.ResourceID},
	} {
		if eq.value != "" {
			filter = append(filter, bson.E{Key: eq.key, Value: eq.value})
		}
	}
	var times bson.D
	if !f.Since.IsZero() {
		times = append(times, bson.E{Key: "$gte", Value: f.Since})
		first, found, err := s.firstSince(ctx, orgID, f.Since)
		if err != nil {
			return nil, err
		}
		if !found {
			return []audit.Entry{}, nil
		}
		after = max(after, first-1)
		filter[1] = bson.E{Key: "seq", Value: bson.D{{Key: "$gt", Value: after}}}
	}
	if !f.Until.IsZero() {
		times = append(times, bson.E{Key: "$lt", Value: f.Until})
	}
	if times != nil {
		filter = append(filter, bson.E{Key: "time", Value: times})
	}
	opts := options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit))
	docs, err := findDocs[auditEntryDoc](ctx, s.db, s.entries(), filter, opts, "listing the audit log of %s: %w", orgID)
	if err != nil {
		return nil, err
	}
	out := make([]audit.Entry, 0, len(docs))
	for _, d := range docs {
		out = append(out, fromAuditEntryDoc(d))
	}
	return out, nil
}

// firstSince returns the Seq of the organisation's first entry recorded at or after since (found
// by the org_time index: entries' times do not decrease with Seq, see audit.Service), and false when
// there is none. It returns an Unavailable *apperr.Error when the database fails.
func (s *AuditStore) firstSince(ctx context.Context, orgID string, since time.Time) (int64, bool, error) {
	filter := bson.D{{Key: "org_id", Value: orgID}, {Key: "time", Value: bson.D{{Key: "$gte", Value: since}}}}
	opts := options.Find().SetSort(bson.D{{Key: "time", Value: 1}}).SetLimit(1)
	docs, err := findDocs[auditEntryDoc](ctx, s.db, s.entries(), filter, opts, "finding the first audit entry of %s since a time: %w", orgID)
	if err != nil || len(docs) == 0 {
		return 0, false, err
	}
	return docs[0].Seq, true, nil
}

// Scan calls fn with every entry of the organisation in ascending Seq order. It returns fn's first
// error as is, an error when a document cannot be decoded, or an Unavailable *apperr.Error when the
// database fails.
func (s *AuditStore) Scan(ctx context.Context, orgID string, fn func(audit.Entry) error) error {
	opts := options.Find().SetSort(bson.D{{Key: "seq", Value: 1}})
	var fnErr error
	err := s.db.each(ctx, s.entries(), bson.D{{Key: "org_id", Value: orgID}}, opts, func(raw bson.Raw) error {
		var d auditEntryDoc
		if err := bson.Unmarshal(raw, &d); err != nil {
			fnErr = fmt.Errorf("decoding an audit entry of %s: %w", orgID, err) // a malformed document, not an outage
			return fnErr
		}
		if err := fn(fromAuditEntryDoc(d)); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	if err != nil && fnErr == nil {
		return unavailable("scanning the audit log of %s: %w", orgID, err)
	}
	return err
}

var _ audit.Store = (*AuditStore)(nil)

// ScanFrom calls fn with the organisation's entries numbered from on, ascending (audit.RangeScanner).
// On MongoDB it is one query on the org_seq index. On the embedded database, where only a filter on
// _id uses an index, it reads the entries by _id, readAhead at a time concurrently, and stops at the
// first number missing. It
// returns fn's first error as is, or an Unavailable *apperr.Error when the database fails.
func (s *AuditStore) ScanFrom(ctx context.Context, orgID string, from int64, fn func(audit.Entry) error) error {
	if s.db.ferret {
		for seq := from; ; seq += readAhead {
			window, err := s.entriesByID(ctx, orgID, seq, readAhead)
			if err != nil {
				return err
			}
			for _, e := range window {
				if err := fn(e); err != nil {
					return err
				}
			}
			if len(window) < readAhead {
				return nil
			}
		}
	}
	filter := bson.D{{Key: "org_id", Value: orgID}, {Key: "seq", Value: bson.D{{Key: "$gte", Value: from}}}}
	cur, err := s.entries().Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
	if err != nil {
		return unavailable("scanning the audit log of %s: %w", orgID, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d auditEntryDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("decoding an audit entry of %s: %w", orgID, err)
		}
		if err := fn(fromAuditEntryDoc(d)); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return unavailable("scanning the audit log of %s: %w", orgID, err)
	}
	return nil
}

// readAhead is how many entries ScanFrom reads by _id at once on the embedded database.
const readAhead = 8

// entriesByID reads entries from to from+n-1 by _id concurrently and returns those up to the first
// missing one, in order. It returns an Unavailable *apperr.Error when the database fails.
func (s *AuditStore) entriesByID(ctx context.Context, orgID string, from int64, n int) ([]audit.Entry, error) {
	type result struct {
		e   audit.Entry
		ok  bool
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			r.e, r.ok, r.err = s.Entry(ctx, orgID, from+int64(i))
		}()
	}
	wg.Wait()
	out := make([]audit.Entry, 0, n)
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		if !r.ok {
			break
		}
		out = append(out, r.e)
	}
	return out, nil
}

var _ audit.RangeScanner = (*AuditStore)(nil)
