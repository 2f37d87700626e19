package mongodb

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/erasure"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

// Erasure requests live in erasure_requests, one document per request. Their reasons are encrypted
// under the key ring (not the case's key: they outlive the case), bound to
// "erasure:<id>:<field>". pending_key is the case id while the request is pending and the request's
// own id after its decision; its unique index allows one pending request per case.
const erasureRequestsCollection = "erasure_requests"

type chainSealDoc struct {
	ItemID   string `bson:"item_id"`
	Events   int    `bson:"events"`
	LastSeq  int64  `bson:"last_seq"`
	LastHash string `bson:"last_hash"`
	OK       bool   `bson:"ok"`
}

type erasureRequestDoc struct {
	ID             string         `bson:"_id"`
	OrgID          string         `bson:"org_id"`
	CaseID         string         `bson:"case_id"`
	PendingKey     string         `bson:"pending_key"`
	Status         string         `bson:"status"`
	Reason         string         `bson:"reason"` // encrypted
	RequestedBy    string         `bson:"requested_by"`
	RequestedAt    time.Time      `bson:"requested_at"`
	DecisionReason string         `bson:"decision_reason"` // encrypted
	DecidedBy      string         `bson:"decided_by"`
	DecidedAt      *time.Time     `bson:"decided_at"`
	ErasedAt       *time.Time     `bson:"erased_at"`
	Chains         []chainSealDoc `bson:"chains"`
}

// ErasureStore implements erasure.Store and erasure.Eraser.
type ErasureStore struct {
	db   *DB
	ring *fieldcrypt.KeyRing
	keys *CaseKeys
}

// Erasure returns the erasure store, encrypting reasons with ring and destroying case keys of ring's
// keeper.
func (d *DB) Erasure(ring *fieldcrypt.KeyRing) *ErasureStore {
	return &ErasureStore{db: d, ring: ring, keys: d.CaseKeys(ring)}
}

func (d *DB) ensureErasureIndexes(ctx context.Context) error {
	return d.ensureIndexes(ctx, erasureRequestsCollection, []mongo.IndexModel{
		{Keys: bson.D{{Key: "pending_key", Value: 1}}, Options: options.Index().SetName("pending_key").SetUnique(true)},
		{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "requested_at", Value: -1}}, Options: options.Index().SetName("org_requested")},
	})
}

func (s *ErasureStore) coll() *mongo.Collection { return s.db.db.Collection(erasureRequestsCollection) }

func erasureAAD(id, field string) string { return "erasure:" + id + ":" + field }

func (s *ErasureStore) toDoc(r erasure.Request) (erasureRequestDoc, error) {
	x := caseworkCipher{c: s.ring}
	d := erasureRequestDoc{ID: r.ID, OrgID: r.OrgID, CaseID: r.CaseID, PendingKey: r.ID, Status: string(r.Status),
		Reason: x.seal(r.Reason, erasureAAD(r.ID, "reason")), RequestedBy: r.RequestedBy, RequestedAt: r.RequestedAt,
		DecisionReason: x.seal(r.DecisionReason, erasureAAD(r.ID, "decision_reason")), DecidedBy: r.DecidedBy,
		DecidedAt: r.DecidedAt, ErasedAt: r.ErasedAt, Chains: make([]chainSealDoc, 0, len(r.Chains))}
	if r.Status == erasure.StatusRequested {
		d.PendingKey = r.CaseID
	}
	for _, c := range r.Chains {
		d.Chains = append(d.Chains, chainSealDoc(c))
	}
	return d, x.err
}

func (s *ErasureStore) fromDoc(d erasureRequestDoc) (erasure.Request, error) {
	x := caseworkCipher{c: s.ring}
	r := erasure.Request{ID: d.ID, OrgID: d.OrgID, CaseID: d.CaseID, Status: erasure.Status(d.Status),
		Reason: x.open(d.Reason, erasureAAD(d.ID, "reason")), RequestedBy: d.RequestedBy, RequestedAt: d.RequestedAt.UTC(),
		DecisionReason: x.open(d.DecisionReason, erasureAAD(d.ID, "decision_reason")), DecidedBy: d.DecidedBy,
		DecidedAt: identityUTCPtr(d.DecidedAt), ErasedAt: identityUTCPtr(d.ErasedAt), Chains: make([]erasure.ChainSeal, 0, len(d.Chains))}
	for _, c := range d.Chains {
		r.Chains = append(r.Chains, erasure.ChainSeal(c))
	}
	if x.err != nil {
		return erasure.Request{}, fmt.Errorf("reading erasure request %s: %w", d.ID, x.err)
	}
	return r, nil
}

// Create stores a new request. It returns erasure.ErrPending when the case has a pending request, an
// error when a reason cannot be encrypted, or an Unavailable *apperr.Error.
func (s *ErasureStore) Create(ctx context.Context, r erasure.Request) error {
	d, err := s.toDoc(r)
	if err != nil {
		return err
	}
	return insertNew(ctx, s.coll(), d, erasure.ErrPending, "erasure request "+r.ID)
}

// Get returns a request: erasure.ErrNotFound when there is none, or an Unavailable *apperr.Error.
func (s *ErasureStore) Get(ctx context.Context, id string) (erasure.Request, error) {
	var d erasureRequestDoc
	if err := findByID(ctx, s.coll(), id, &d, erasure.ErrNotFound, "erasure request "+id); err != nil {
		return erasure.Request{}, err
	}
	return s.fromDoc(d)
}

// Pending returns the pending request of a case, and false when there is none. It returns an
// Unavailable *apperr.Error when the database fails.
func (s *ErasureStore) Pending(ctx context.Context, caseID string) (erasure.Request, bool, error) {
	docs, err := findDocs[erasureRequestDoc](ctx, s.db, s.coll(), bson.D{{Key: "pending_key", Value: caseID}}, options.Find().SetLimit(1),
		"reading the pending erasure of case %s: %w", caseID)
	if err != nil || len(docs) == 0 {
		return erasure.Request{}, false, err
	}
	r, err := s.fromDoc(docs[0])
	return r, err == nil, err
}

// List returns an organisation's requests, newest first. It returns an Unavailable *apperr.Error
// when the database fails.
func (s *ErasureStore) List(ctx context.Context, orgID string, status erasure.Status, limit int) ([]erasure.Request, error) {
	filter := bson.D{{Key: "org_id", Value: orgID}}
	if status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(status)})
	}
	opts := options.Find().SetSort(bson.D{{Key: "requested_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit))
	docs, err := findDocs[erasureRequestDoc](ctx, s.db, s.coll(), filter, opts, "listing erasure requests: %w")
	if err != nil {
		return nil, err
	}
	return convertAll(docs, s.fromDoc)
}

// Decide stores r's decision when the stored request is still pending. It returns
// erasure.ErrDecided otherwise, or an Unavailable *apperr.Error.
func (s *ErasureStore) Decide(ctx context.Context, r erasure.Request) error {
	d, err := s.toDoc(r)
	if err != nil {
		return err
	}
	defer s.db.locks.document(erasureRequestsCollection, r.ID)()
	res, err := s.db.updateByID(ctx, s.coll(), r.ID, bson.D{{Key: "status", Value: string(erasure.StatusRequested)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: d.Status}, {Key: "pending_key", Value: d.ID},
			{Key: "decision_reason", Value: d.DecisionReason}, {Key: "decided_by", Value: d.DecidedBy}, {Key: "decided_at", Value: d.DecidedAt},
			{Key: "erased_at", Value: d.ErasedAt}, {Key: "chains", Value: d.Chains}}}})
	if err != nil {
		return unavailable("deciding erasure request %s: %w", r.ID, err)
	}
	if res.MatchedCount == 0 {
		return erasure.ErrDecided
	}
	return nil
}

// EraseCase destroys the data key of case caseID and clears the clear-text details of the case that
// could help identify the child (birth year, gender, preferred and interpreter language), marking it
// erased_at and stamping a change sequence number so devices pull the erased case. It is idempotent.
// It returns an Unavailable *apperr.Error when the database fails.
func (s *ErasureStore) EraseCase(ctx context.Context, orgID, caseID string, at time.Time) error {
	if err := s.keys.Destroy(ctx, caseID, at); err != nil {
		return err
	}
	seq, done, err := s.db.BeginChange(ctx, orgID)
	if err != nil {
		return err
	}
	defer done()
	defer s.db.locks.document(caseworkCasesCollection, caseID)()
	_, err = s.db.db.Collection(caseworkCasesCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: caseID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "child.birth_year", Value: 0}, {Key: "child.gender", Value: ""},
			{Key: "child.preferred_language", Value: ""}, {Key: "child.needs.interpreter_language", Value: ""},
			{Key: "erased_at", Value: at.UTC().Truncate(time.Millisecond)}, {Key: "updated_at", Value: at.UTC().Truncate(time.Millisecond)},
			{Key: "change_seq", Value: seq}}}})
	if err != nil {
		return unavailable("clearing the erased case %s: %w", caseID, err)
	}
	return nil
}
