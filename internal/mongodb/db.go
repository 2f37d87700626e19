// Package mongodb is the storage adapter: it wraps the MongoDB Go driver (v2) and implements the
// domain packages' Store interfaces. It works against MongoDB and against the embedded FerretDB,
// using only the operations that work on both (README, "Storage decisions and the embedded
// database's measured limits").
package mongodb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/ferret"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

// unavailable wraps a failed database operation: the client sees a 503 (try again), never internals.
func unavailable(format string, args ...any) error {
	return &apperr.Error{Kind: apperr.Unavailable, Code: "database_unavailable", MessageID: "ErrDatabaseUnavailable", Err: fmt.Errorf(format, args...)}
}

// DB is a connected database.
type DB struct {
	client *mongo.Client
	db     *mongo.Database
	locks  *writeLocks // serializes read-modify-write commands (see writeLocks)
	ferret bool        // the server is FerretDB, whose queries use no index but the one on _id
	// The embedded database's tables, read directly for queries (see embedded.go), and the indexes
	// created there.
	tables *ferret.Tables
	// tablesRead: another process (the running service) writes the tables; this one only reads them
	// and sends its conditional writes to the server whole (see byIDFilter)
	tablesRead bool
	sqlIndexMu sync.Mutex
	sqlIndexes []sqlIndex
	// the case key keepers, one per key ring (see CaseKeys)
	caseKeysMu sync.Mutex
	caseKeys   map[*fieldcrypt.KeyRing]*CaseKeys
	// the open cases and runs of the supervisors' overviews, per organisation (see openWork)
	openWork *orgSnapshots[openWork]
	// what coaching reports count of every session, per organisation (see coachingSessions)
	coaching *orgSnapshots[coachingSessions]
}

// Connect connects to uri, selects database name and checks the server answers within timeout.
// It returns an error when the server cannot be reached.
func Connect(ctx context.Context, uri, name string, timeout time.Duration) (*DB, error) {
	opts := options.Client().ApplyURI(uri).SetServerSelectionTimeout(timeout).SetAppName("caseguide")
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("connecting to the database: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := client.Ping(pctx, nil); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("the database does not answer: %w", err)
	}
	var info bson.M
	if err := client.Database("admin").RunCommand(pctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("asking the database what it is: %w", err)
	}
	_, ferret := info["ferretdbVersion"]
	return &DB{client: client, db: client.Database(name), locks: newWriteLocks(), ferret: ferret, openWork: newOrgSnapshots[openWork](),
		coaching: newOrgSnapshots[coachingSessions]()}, nil
}

// Ping checks that the database answers. It returns the driver's error when it does not.
func (d *DB) Ping(ctx context.Context) error {
	return d.db.RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err()
}

// Close disconnects, waiting for in-use connections until ctx ends.
func (d *DB) Close(ctx context.Context) error { return d.client.Disconnect(ctx) }

// EnsureIndexes creates every index the stores need: those of protocol versions, identity, the
// audit log, casework, interviews, evidence, sync and authoring, one at a time (FerretDB's
// createIndexes fails when given several that exist). It is idempotent. It returns the first error
// the server gives.
func (d *DB) EnsureIndexes(ctx context.Context) error {
	for _, ensure := range []func(context.Context) error{d.ensureProtocolIndexes, d.ensureIdentityIndexes, d.ensureAuditIndexes,
		d.ensureCaseworkIndexes, d.ensureInterviewIndexes, d.ensureEvidenceIndexes, d.ensureSyncIndexes, d.ensureAuthoringIndexes, d.ensureErasureIndexes,
		d.ensureCareIndexes, d.ensureSharingIndexes} {
		if err := ensure(ctx); err != nil {
			return err
		}
	}
	return nil
}

// ensureProtocolIndexes creates the index of protocol versions by protocol and number.
func (d *DB) ensureProtocolIndexes(ctx context.Context) error {
	indexes := map[string][]mongo.IndexModel{
		versionsCollection: {{
			Keys:    bson.D{{Key: "protocol_id", Value: 1}, {Key: "version", Value: -1}},
			Options: options.Index().SetName("protocol_version").SetUnique(true),
		}},
	}
	for coll, models := range indexes {
		if err := d.ensureIndexes(ctx, coll, models); err != nil {
			return err
		}
	}
	return nil
}

// Name returns the database's name.
func (d *DB) Name() string { return d.db.Name() }

// collections lists every collection the stores use (TestCollectionsListsEveryCollection checks it
// against the package's *Collection constants).
var collections = []string{
	versionsCollection, headsCollection, auditCollection, auditHeadsCollection, authoringDraftsCollection,
	authoringRetirementsCollection, caseworkCasesCollection, caseworkRunsCollection, changeCountersCollection,
	evidenceItemsCollection, evidenceEventsCollection, idempotencyCollection, identityOrgsCollection,
	identityUsersCollection, identityDevicesCollection, identitySessionsCollection, identityThrottleCollection,
	interviewSessionsCollection, interviewLogsCollection, syncDevicesCollection, syncResultsCollection,
	checkpointsCollection, schemaCollection, caseKeysCollection, erasureRequestsCollection,
	consentsCollection, referralsCollection,
}

// CreateCollections creates the collections that do not exist yet (a collection otherwise appears
// with its first document), so that what is done to every collection at start, such as the embedded
// database's _id indexes (ferret.Server.IndexIDs), reaches all of them. It is idempotent and returns
// the first error the server gives.
func (d *DB) CreateCollections(ctx context.Context) error {
	have, err := d.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("listing the collections: %w", err)
	}
	for _, name := range collections {
		if slices.Contains(have, name) {
			continue
		}
		var exists mongo.CommandError
		if err := d.db.CreateCollection(ctx, name); err != nil && !(errors.As(err, &exists) && exists.Code == codeNamespaceExists) {
			return fmt.Errorf("creating collection %s: %w", name, err)
		}
	}
	return nil
}

// codeNamespaceExists is the server's error code for creating a collection that exists (another
// instance created it at the same moment).
const codeNamespaceExists = 48

// ensureIndexes creates indexes one at a time: FerretDB 1.24.2 drops the connection (a panic in its
// handler) when one createIndexes command names several indexes that already exist.
func (d *DB) ensureIndexes(ctx context.Context, coll string, models []mongo.IndexModel) error {
	for _, m := range models {
		d.registerSQLIndex(coll, m)
		if _, err := d.db.Collection(coll).Indexes().CreateOne(ctx, m); err != nil {
			return fmt.Errorf("creating indexes on %s: %w", coll, err)
		}
	}
	return nil
}

// HoldsData reports whether the database holds an agency's records: any case, interview session or
// evidence item, or users other than the first administrator. It returns the driver's error.
func (d *DB) HoldsData(ctx context.Context) (bool, error) {
	for _, coll := range []string{caseworkCasesCollection, interviewSessionsCollection, evidenceItemsCollection} {
		n, err := d.db.Collection(coll).CountDocuments(ctx, bson.D{}, options.Count().SetLimit(1))
		if err != nil {
			return false, fmt.Errorf("counting %s: %w", coll, err)
		}
		if n > 0 {
			return true, nil
		}
	}
	n, err := d.db.Collection(identityUsersCollection).CountDocuments(ctx, bson.D{}, options.Count().SetLimit(2))
	if err != nil {
		return false, fmt.Errorf("counting users: %w", err)
	}
	return n > 1, nil
}
