package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

const (
	syncDevicesCollection = "sync_devices" // one document per device: _id "<org>:<device>"
	syncResultsCollection = "sync_results" // the first result of each pushed operation: _id "<org>:<user>:<op id>"
)

// SyncStore is the storage of device sync: the case and run feeds, device states and the results
// of pushed operations (encrypted: they may hold case data).
type SyncStore struct {
	db    *DB
	keys  *fieldcrypt.KeyRing
	cases *CaseworkStore
}

// Sync returns the sync store over the casework collections, encrypting with keys.
func (d *DB) Sync(keys *fieldcrypt.KeyRing) *SyncStore {
	return &SyncStore{db: d, keys: keys, cases: d.Casework(keys)}
}

// ensureSyncIndexes creates the indexes the feeds use (organisation and change sequence). Cases and
// runs stored before the sync existed get their change sequence numbers from a schema migration
// (migrateStampChangeSeq), once per database. It is idempotent and returns the first error the
// server gives.
func (d *DB) ensureSyncIndexes(ctx context.Context) error {
	for _, coll := range []string{caseworkCasesCollection, caseworkRunsCollection} {
		if err := d.ensureIndexes(ctx, coll, []mongo.IndexModel{
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "change_seq", Value: 1}}, Options: options.Index().SetName("org_change_seq")},
			// The migration's query for documents stored before sync ({change_seq: {$exists: false}}).
			{Keys: bson.D{{Key: "change_seq", Value: 1}}, Options: options.Index().SetName("change_seq")},
		}); err != nil {
			return err
		}
	}
	return d.ensureIndexes(ctx, syncDevicesCollection, []mongo.IndexModel{{
		Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "device_id", Value: 1}}, Options: options.Index().SetName("org_device")}})
}

// migrateStampChangeSeq (schema version 2 to 3) gives every case and run stored before the sync
// existed a change sequence number (and a case its assignment history), so the feeds carry it. It
// ran at every start before it was a migration, reading every document of both collections on the
// embedded database. It is idempotent, and safe while other instances run it or write: each stamp
// is a conditional update of a document that still has no change_seq, and every case or run written
// since the sync existed has one. It returns the first error.
func migrateStampChangeSeq(ctx context.Context, d *DB, _ *fieldcrypt.KeyRing) error {
	for _, coll := range []string{caseworkCasesCollection, caseworkRunsCollection} {
		if err := d.stampUnstamped(ctx, coll); err != nil {
			return err
		}
	}
	return nil
}

// stampUnstamped gives every document of coll without a change_seq one.
func (d *DB) stampUnstamped(ctx context.Context, coll string) error {
	cur, err := d.db.Collection(coll).Find(ctx, bson.D{{Key: "change_seq", Value: bson.D{{Key: "$exists", Value: false}}}},
		options.Find().SetProjection(bson.D{{Key: "org_id", Value: 1}, {Key: "caseworker_ids", Value: 1}}))
	if err != nil {
		return fmt.Errorf("finding unstamped %s: %w", coll, err)
	}
	var docs []struct {
		ID      string   `bson:"_id"`
		OrgID   string   `bson:"org_id"`
		Workers []string `bson:"caseworker_ids"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("finding unstamped %s: %w", coll, err)
	}
	for _, doc := range docs {
		seq, done, err := d.BeginChange(ctx, doc.OrgID)
		if err != nil {
			return err
		}
		set := bson.D{{Key: "change_seq", Value: seq}}
		if coll == caseworkCasesCollection {
			set = append(set, bson.E{Key: "former_caseworker_ids", Value: []string{}}, bson.E{Key: "assigned", Value: assignmentsSince(nil, doc.Workers, seq)})
		}
		unlock := d.locks.document(coll, doc.ID)
		_, err = d.db.Collection(coll).UpdateOne(ctx, bson.D{{Key: "_id", Value: doc.ID}, {Key: "change_seq", Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "$set", Value: set}})
		unlock()
		done()
		if err != nil {
			return fmt.Errorf("stamping %s %s: %w", coll, doc.ID, err)
		}
	}
	return nil
}

// seqFilter selects the documents of q's organisation in q's change_seq range.
func seqFilter(q devicesync.Query) bson.D {
	return bson.D{{Key: "org_id", Value: q.OrgID}, {Key: "change_seq", Value: bson.D{{Key: "$gt", Value: q.AfterSeq}, {Key: "$lte", Value: q.UpToSeq}}}}
}

func seqOptions(q devicesync.Query) *options.FindOptionsBuilder {
	opts := options.Find().SetSort(bson.D{{Key: "change_seq", Value: 1}})
	if q.Limit > 0 {
		opts.SetLimit(int64(q.Limit))
	}
	return opts
}

// CaseFeed returns the feed of cases.
func (s *SyncStore) CaseFeed() devicesync.CaseFeed { return caseFeed{s} }

// RunFeed returns the feed of protocol runs.
func (s *SyncStore) RunFeed() devicesync.Feed { return runFeed{s} }

type caseFeed struct{ s *SyncStore }

func (caseFeed) Type() string { return devicesync.TypeCase }

// Changes returns the cases of q's range (with q.UserID: those the user is or was assigned to). It
// returns an error when a field cannot be decrypted, or the driver's error.
func (f caseFeed) Changes(ctx context.Context, q devicesync.Query) ([]devicesync.Record, error) {
	filter := seqFilter(q)
	if q.UserID != "" {
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "caseworker_ids", Value: q.UserID}}, bson.D{{Key: "former_caseworker_ids", Value: q.UserID}}}})
	}
	if q.CaseIDs != nil {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$in", Value: q.CaseIDs}}})
	}
	docs, err := findDocs[caseworkCaseDoc](ctx, f.s.db, f.s.cases.cases(), filter, seqOptions(q), "reading case changes: %w")
	if err != nil {
		return nil, err
	}
	out := make([]devicesync.Record, 0, len(docs))
	for _, d := range docs {
		c, err := fromCaseworkCaseDoc(f.s.cases.keys.in(ctx), d)
		if err != nil {
			return nil, err
		}
		rec := devicesync.CaseRecord(c)
		rec.Seq, rec.FormerIDs, rec.AssignedSince = d.ChangeSeq, d.FormerCaseworkerIDs, map[string]int64{}
		for _, a := range d.Assigned {
			rec.AssignedSince[a.UserID] = a.Seq
		}
		out = append(out, rec)
	}
	return out, nil
}

// AssignedCaseIDs returns the ids of the cases of orgID userID is assigned to. It returns the
// driver's error.
func (f caseFeed) AssignedCaseIDs(ctx context.Context, orgID, userID string) ([]string, error) {
	cur, err := f.s.db.find(ctx, f.s.cases.cases(), bson.D{{Key: "org_id", Value: orgID}, {Key: "caseworker_ids", Value: userID}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, unavailable("reading assigned cases: %w", err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, unavailable("reading assigned cases: %w", err)
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}

type runFeed struct{ s *SyncStore }

func (runFeed) Type() string { return devicesync.TypeRun }

// Changes returns the runs of q's range. It returns an error when a field cannot be decrypted, or
// the driver's error.
func (f runFeed) Changes(ctx context.Context, q devicesync.Query) ([]devicesync.Record, error) {
	filter := seqFilter(q)
	if q.CaseIDs != nil {
		filter = append(filter, bson.E{Key: "case_id", Value: bson.D{{Key: "$in", Value: q.CaseIDs}}})
	}
	docs, err := findDocs[caseworkRunDoc](ctx, f.s.db, f.s.cases.runs(), filter, seqOptions(q), "reading run changes: %w")
	if err != nil {
		return nil, err
	}
	out := make([]devicesync.Record, 0, len(docs))
	for _, d := range docs {
		r, err := fromCaseworkRunDoc(f.s.cases.keys.in(ctx), d)
		if err != nil {
			return nil, err
		}
		rec := devicesync.RunRecord(r)
		rec.Seq = d.ChangeSeq
		out = append(out, rec)
	}
	return out, nil
}

type syncDeviceDoc struct {
	ID         string     `bson:"_id"`
	OrgID      string     `bson:"org_id"`
	DeviceID   string     `bson:"device_id"`
	UserID     string     `bson:"user_id"`
	LastPullAt *time.Time `bson:"last_pull_at"`
	LastPushAt *time.Time `bson:"last_push_at"`
	Watermark  int64      `bson:"watermark"`
	Pulls      int64      `bson:"pulls"`
	Pushes     int64      `bson:"pushes"`
}

func (s *SyncStore) devices() *mongo.Collection { return s.db.db.Collection(syncDevicesCollection) }

func (s *SyncStore) touch(ctx context.Context, orgID, deviceID, userID string, set bson.D, counter string) error {
	if deviceID == "" {
		return nil // a principal without a device (an external provider's token) has no sync state
	}
	id := orgID + ":" + deviceID
	set = append(set, bson.E{Key: "org_id", Value: orgID}, bson.E{Key: "device_id", Value: deviceID}, bson.E{Key: "user_id", Value: userID})
	defer s.db.locks.document(syncDevicesCollection, id)()
	_, err := s.devices().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: set}, {Key: "$inc", Value: bson.D{{Key: counter, Value: int64(1)}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return unavailable("recording the sync of device %s: %w", deviceID, err)
	}
	return nil
}

// TouchPull records a pull (watermark > 0: complete up to it). It returns the driver's error.
func (s *SyncStore) TouchPull(ctx context.Context, orgID, deviceID, userID string, at time.Time, watermark int64) error {
	set := bson.D{{Key: "last_pull_at", Value: at}}
	if watermark > 0 {
		set = append(set, bson.E{Key: "watermark", Value: watermark})
	}
	return s.touch(ctx, orgID, deviceID, userID, set, "pulls")
}

// TouchPush records a push. It returns the driver's error.
func (s *SyncStore) TouchPush(ctx context.Context, orgID, deviceID, userID string, at time.Time) error {
	return s.touch(ctx, orgID, deviceID, userID, bson.D{{Key: "last_push_at", Value: at}}, "pushes")
}

// DeviceStates returns the sync states of orgID's devices (deviceID "": all), by device id. It
// returns the driver's error.
func (s *SyncStore) DeviceStates(ctx context.Context, orgID, deviceID string) ([]devicesync.DeviceState, error) {
	filter := bson.D{{Key: "org_id", Value: orgID}}
	if deviceID != "" {
		filter = bson.D{{Key: "_id", Value: orgID + ":" + deviceID}}
	}
	docs, err := findDocs[syncDeviceDoc](ctx, s.db, s.devices(), filter, options.Find().SetSort(bson.D{{Key: "device_id", Value: 1}}), "reading sync states: %w")
	if err != nil {
		return nil, err
	}
	out := make([]devicesync.DeviceState, 0, len(docs))
	for _, d := range docs {
		out = append(out, devicesync.DeviceState{OrgID: d.OrgID, DeviceID: d.DeviceID, UserID: d.UserID,
			LastPullAt: identityUTCPtr(d.LastPullAt), LastPushAt: identityUTCPtr(d.LastPushAt), Watermark: d.Watermark, Pulls: d.Pulls, Pushes: d.Pushes})
	}
	return out, nil
}

type syncResultDoc struct {
	ID        string    `bson:"_id"`
	OrgID     string    `bson:"org_id"`
	Result    string    `bson:"result"` // encrypted, bound to "sync_result:<_id>"
	CreatedAt time.Time `bson:"created_at"`
}

func (s *SyncStore) results() *mongo.Collection { return s.db.db.Collection(syncResultsCollection) }

func resultID(orgID, userID, opID string) string { return orgID + ":" + userID + ":" + opID }

// Result returns the stored first result of an operation. It returns an error when it cannot be
// decrypted, or the driver's error.
func (s *SyncStore) Result(ctx context.Context, orgID, userID, opID string) ([]byte, bool, error) {
	id := resultID(orgID, userID, opID)
	var d syncResultDoc
	err := s.results().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, unavailable("reading an operation result: %w", err)
	}
	plain, err := s.keys.Decrypt(d.Result, "sync_result:"+id)
	if err != nil {
		return nil, false, fmt.Errorf("decrypting an operation result: %w", err)
	}
	return []byte(plain), true, nil
}

// Results returns the stored results of those of opIDs that have one, by op id, with one query. It
// returns an error when one cannot be decrypted, or the driver's error.
func (s *SyncStore) Results(ctx context.Context, orgID, userID string, opIDs []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	if len(opIDs) == 0 {
		return out, nil
	}
	ids := make([]string, len(opIDs))
	byID := map[string]string{}
	for i, op := range opIDs {
		ids[i] = resultID(orgID, userID, op)
		byID[ids[i]] = op
	}
	docs, err := findDocs[syncResultDoc](ctx, s.db, s.results(), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, nil, "reading operation results: %w")
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		plain, err := s.keys.Decrypt(d.Result, "sync_result:"+d.ID)
		if err != nil {
			return nil, fmt.Errorf("decrypting an operation result: %w", err)
		}
		out[byID[d.ID]] = []byte(plain)
	}
	return out, nil
}

// SaveResult stores the first result of an operation (an insert: a concurrent second one fails on
// the key and gets the first). It returns the stored result and whether it is this one, or the
// driver's error.
func (s *SyncStore) SaveResult(ctx context.Context, orgID, userID, opID string, result []byte) ([]byte, bool, error) {
	id := resultID(orgID, userID, opID)
	tok, err := s.keys.Encrypt(string(result), "sync_result:"+id)
	if err != nil {
		return nil, false, fmt.Errorf("encrypting an operation result: %w", err)
	}
	_, err = s.results().InsertOne(ctx, syncResultDoc{ID: id, OrgID: orgID, Result: tok, CreatedAt: time.Now().UTC()})
	if mongo.IsDuplicateKeyError(err) {
		stored, _, err := s.Result(ctx, orgID, userID, opID)
		return stored, false, err
	}
	if err != nil {
		return nil, false, unavailable("storing an operation result: %w", err)
	}
	return result, true, nil
}

// PurgeResults deletes operation results stored before cutoff and returns how many. It returns the
// driver's error.
func (s *SyncStore) PurgeResults(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.results().DeleteMany(ctx, bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: cutoff}}}})
	if err != nil {
		return 0, unavailable("purging operation results: %w", err)
	}
	return res.DeletedCount, nil
}

var (
	_ devicesync.StateStore  = (*SyncStore)(nil)
	_ devicesync.ResultStore = (*SyncStore)(nil)
)
