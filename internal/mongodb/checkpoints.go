package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/childsafe-protocols/caseguide/internal/checkpoint"
)

// chain_checkpoints holds the signed checkpoints of every hash chain (see package checkpoint): one
// document per checkpoint, _id "<chain>:<n, 12 digits>" (chain "audit:<org>" or "custody:<item>"), so
// that two instances making checkpoint n of a chain cannot both succeed. Documents are only ever
// inserted and read by _id, which the embedded database answers from its _id index whatever the size
// of the collection.
const checkpointsCollection = "chain_checkpoints"

type checkpointDoc struct {
	ID       string    `bson:"_id"`
	Log      string    `bson:"log"`
	N        int64     `bson:"n"`
	Seq      int64     `bson:"seq"`
	Hash     string    `bson:"hash"`
	SignedAt time.Time `bson:"signed_at"`
	KeyID    string    `bson:"key_id"`
	Token    string    `bson:"token"`
}

func checkpointID(log string, n int64) string { return fmt.Sprintf("%s:%012d", log, n) }

// CheckpointStore implements checkpoint.Store.
type CheckpointStore struct{ db *DB }

// Checkpoints returns the checkpoint store.
func (d *DB) Checkpoints() *CheckpointStore { return &CheckpointStore{db: d} }

func (s *CheckpointStore) coll() *mongo.Collection { return s.db.db.Collection(checkpointsCollection) }

// RawCollection returns the collection itself, for tests that tamper with it.
func (s *CheckpointStore) RawCollection() *mongo.Collection { return s.coll() }

// Insert stores cp. It returns checkpoint.ErrTaken when the chain has checkpoint cp.N already, or an
// Unavailable *apperr.Error when the database fails.
func (s *CheckpointStore) Insert(ctx context.Context, cp checkpoint.Checkpoint) error {
	d := checkpointDoc{ID: checkpointID(cp.Log, cp.N), Log: cp.Log, N: cp.N, Seq: cp.Seq, Hash: cp.Hash,
		SignedAt: cp.SignedAt, KeyID: cp.KeyID, Token: cp.Token}
	return insertNew(ctx, s.coll(), d, checkpoint.ErrTaken, "checkpoint "+d.ID)
}

// Get returns checkpoint n of chain log, false when there is none, or an Unavailable *apperr.Error
// when the database fails.
func (s *CheckpointStore) Get(ctx context.Context, log string, n int64) (checkpoint.Checkpoint, bool, error) {
	var d checkpointDoc
	errMissing := errors.New("missing")
	err := findByID(ctx, s.coll(), checkpointID(log, n), &d, errMissing, "checkpoint")
	if errors.Is(err, errMissing) {
		return checkpoint.Checkpoint{}, false, nil
	}
	if err != nil {
		return checkpoint.Checkpoint{}, false, err
	}
	return checkpoint.Checkpoint{Log: d.Log, N: d.N, Seq: d.Seq, Hash: d.Hash, SignedAt: d.SignedAt.UTC(),
		KeyID: d.KeyID, Token: d.Token}, true, nil
}

var _ checkpoint.Store = (*CheckpointStore)(nil)
