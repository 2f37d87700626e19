package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

// Evidence lives in two collections:
//   - evidence_items: one document per item, _id the item id; its fixed fields, and the chain's head
//     (head_seq, head.hash, head.receipt) and state, moved forward after each group of appends;
//   - evidence_events: one document per custody event, _id "<item id>:<seq, 12 digits>", so that two
//     writers of the same sequence number cannot both succeed (the second fails on the duplicate key
//     and re-chains after the first): the chain never forks. Events are only ever inserted;
//
// Free text and identifying fields are encrypted with the key ring, bound to
// "evidence_item:<id>:<field>" and "evidence_event:<item id>:<seq>:<field>", so a value copied to
// another record or field does not decrypt. Hashes, types, times, user ids and the chain links are
// stored in clear: verification needs them, and they say nothing about the child.
//
// Every document carries org_id, case_id, updated_at and change_seq (the organisation's change
// sequence, taken with BeginChange / BeginChanges) for device sync. An item's change_seq moves with its head.
const (
	evidenceItemsCollection  = "evidence_items"
	evidenceEventsCollection = "evidence_events"
)

// EvidenceStore implements evidence.Store.
type EvidenceStore struct {
	db   *DB
	keys *CaseKeys
}

// Evidence returns the evidence store, encrypting with keys.
func (d *DB) Evidence(keys *fieldcrypt.KeyRing) *EvidenceStore {
	return &EvidenceStore{db: d, keys: d.CaseKeys(keys)}
}

// ensureEvidenceIndexes creates the indexes of the evidence collections: the events of an item by
// sequence number (unique), the items of a case, and organisation-led change sequences for sync. It
// is idempotent and returns the first error the server gives.
func (d *DB) ensureEvidenceIndexes(ctx context.Context) error {
	indexes := map[string][]mongo.IndexModel{
		evidenceItemsCollection: {
			{Keys: bson.D{{Key: "case_id", Value: 1}, {Key: "created_at", Value: 1}}, Options: options.Index().SetName("case_created")},
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "change_seq", Value: 1}}, Options: options.Index().SetName("org_change_seq")},
		},
		evidenceEventsCollection: {
			{Keys: bson.D{{Key: "item_id", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("item_seq").SetUnique(true)},
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "change_seq", Value: 1}}, Options: options.Index().SetName("org_change_seq")},
		},
	}
	for coll, models := range indexes {
		if err := d.ensureIndexes(ctx, coll, models); err != nil {
			return err
		}
	}
	return nil
}

// RawItemsCollection returns evidence_items itself, bypassing encryption: for tests and
// verification tooling only.
func (s *EvidenceStore) RawItemsCollection() *mongo.Collection {
	return s.db.db.Collection(evidenceItemsCollection)
}

// RawEventsCollection returns evidence_events itself, bypassing encryption: for tests and
// verification tooling only (the service never changes or deletes an event).
func (s *EvidenceStore) RawEventsCollection() *mongo.Collection {
	return s.db.db.Collection(evidenceEventsCollection)
}

func (s *EvidenceStore) items() *mongo.Collection { return s.db.db.Collection(evidenceItemsCollection) }
func (s *EvidenceStore) events() *mongo.Collection {
	return s.db.db.Collection(evidenceEventsCollection)
}

// CreateItem stores a new item, stamped with the next change sequence number. It returns
// evidence.ErrExists when the id is taken, an error when a field cannot be encrypted, or an
// Unavailable *apperr.Error when the database fails.
func (s *EvidenceStore) CreateItem(ctx context.Context, it evidence.Item) error {
	doc, err := toEvidenceItemDoc(s.keys.in(ctx), it)
	if err != nil {
		return err
	}
	seq, done, err := s.db.BeginChange(ctx, it.OrgID)
	if err != nil {
		return err
	}
	defer done()
	doc.ChangeSeq = seq
	return insertNew(ctx, s.items(), doc, evidence.ErrExists, "evidence item "+it.ID)
}

// Item returns an item: evidence.ErrNotFound when there is none, an error when a field cannot be
// decrypted, or an Unavailable *apperr.Error when the database fails.
func (s *EvidenceStore) Item(ctx context.Context, id string) (evidence.Item, error) {
	var d evidenceItemDoc
	if err := s.db.findByID(ctx, s.items(), id, &d, evidence.ErrNotFound, "evidence item "+id); err != nil {
		return evidence.Item{}, err
	}
	return fromEvidenceItemDoc(s.keys.in(ctx), d)
}

// ListItems returns the items of a case after the key after, by creation time, then id: at most
// limit of them, or all when limit is below 1. It returns an error when a field cannot be decrypted,
// or an Unavailable *apperr.Error when the database fails.
func (s *EvidenceStore) ListItems(ctx context.Context, caseID string, after evidence.ItemKey, limit int) ([]evidence.Item, error) {
	filter := bson.D{{Key: "case_id", Value: caseID}}
	if after != (evidence.ItemKey{}) {
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "created_at", Value: bson.D{{Key: "$gt", Value: after.CreatedAt}}}},
			bson.D{{Key: "created_at", Value: after.CreatedAt}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: after.ID}}}},
		}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	docs, err := findDocs[evidenceItemDoc](ctx, s.db, s.items(), filter, opts, "listing evidence of case %s: %w", caseID)
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d evidenceItemDoc) (evidence.Item, error) { return fromEvidenceItemDoc(s.keys.in(ctx), d) })
}

// ListOrgProblemItems returns the items of organisation orgID whose custody chain recorded a
// failed hash verification or a broken seal, by creation time then id, in one query. It returns an
// error when a field cannot be decrypted, or the driver's error.
func (s *EvidenceStore) ListOrgProblemItems(ctx context.Context, orgID string) ([]evidence.Item, error) {
	filter := bson.D{{Key: "org_id", Value: orgID}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "state.integrity_failed", Value: true}},
		bson.D{{Key: "state.seal_intact", Value: false}},
	}}}
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}})
	docs, err := findDocs[evidenceItemDoc](ctx, s.db, s.items(), filter, opts, "listing evidence with problems of organisation %s: %w", orgID)
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d evidenceItemDoc) (evidence.Item, error) { return fromEvidenceItemDoc(s.keys.in(ctx), d) })
}

// InsertEvents stores events (one item's, consecutive Seqs ascending) with one ordered insert that
// stops at the first duplicate _id, stamping them with consecutive change sequence numbers. It returns an *evidence.SeqTakenError with how many were stored when a
// number was taken, an error when a field cannot be encrypted, or an Unavailable *apperr.Error when
// the database fails (a prefix of the events may then be stored).
func (s *EvidenceStore) InsertEvents(ctx context.Context, events []evidence.Event) error {
	if len(events) == 0 {
		return nil
	}
	first, done, err := s.db.BeginChanges(ctx, events[0].OrgID, len(events))
	if err != nil {
		return err
	}
	defer done()
	docs := make([]evidenceEventDoc, len(events))
	for i, e := range events {
		if docs[i], err = toEvidenceEventDoc(s.keys.in(ctx), e, first+int64(i)); err != nil {
			return err
		}
	}
	written := len(docs)
	_, err = s.events().InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
	var taken error
	if err != nil {
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || len(bwe.WriteErrors) == 0 || bwe.WriteConcernError != nil {
			return unavailable("inserting custody events %s to %s: %w", docs[0].ID, docs[len(docs)-1].ID, err)
		}
		firstErr := bwe.WriteErrors[0]
		for _, we := range bwe.WriteErrors[1:] {
			if we.Index < firstErr.Index {
				firstErr = we
			}
		}
		if firstErr.Index < 0 || firstErr.Index >= len(docs) || !mongo.IsDuplicateKeyError(firstErr) {
			return unavailable("inserting custody events %s to %s: %w", docs[0].ID, docs[len(docs)-1].ID, err)
		}
		written = firstErr.Index
		taken = &evidence.SeqTakenError{Written: written, Seq: docs[written].Seq}
	}
	return taken
}

// SetHead records the item's new head and state (and stamps a change sequence number) unless its
// head is already at or past head.Seq. It returns an error when a field cannot be encrypted, or an
// Unavailable *apperr.Error when the database fails.
func (s *EvidenceStore) SetHead(ctx context.Context, it evidence.Item, head evidence.Head, st evidence.State) error {
	x := s.keys.in(ctx).sealing(it.CaseID)
	stDoc := toEvidenceStateDoc(x, it.ID, st)
	if x.err != nil {
		return x.err
	}
	seq, done, err := s.db.BeginChange(ctx, it.OrgID)
	if err != nil {
		return err
	}
	defer done()
	defer s.db.locks.document(evidenceItemsCollection, it.ID)()
	_, err = s.db.updateByID(ctx, s.items(), it.ID,
		bson.D{{Key: "head_seq", Value: bson.D{{Key: "$lt", Value: head.Seq}}}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "head_seq", Value: head.Seq}, {Key: "head", Value: evidenceHeadDoc{Hash: head.Hash, Receipt: head.Receipt}},
			{Key: "state", Value: stDoc}, {Key: "updated_at", Value: time.Now().UTC().Truncate(time.Millisecond)}, {Key: "change_seq", Value: seq},
		}}})
	if err != nil {
		return unavailable("moving the head of evidence item %s: %w", it.ID, err)
	}
	return nil
}

// errNoEvent is findByID's answer for a missing event (Event reports it as false).
var errNoEvent = errors.New("no such custody event")

// Event returns event seq of an item, and false when there is none. It returns an Unavailable
// *apperr.Error when the database fails.
func (s *EvidenceStore) Event(ctx context.Context, itemID string, seq int64) (evidence.Event, bool, error) {
	var d evidenceEventDoc
	err := s.db.findByID(ctx, s.events(), EvidenceEventID(itemID, seq), &d, errNoEvent, "custody event "+EvidenceEventID(itemID, seq))
	if errors.Is(err, errNoEvent) {
		return evidence.Event{}, false, nil
	}
	if err != nil {
		return evidence.Event{}, false, err
	}
	return fromEvidenceEventDoc(s.keys.in(ctx), d), true, nil
}

// EventIDs returns the client id and Seq of every event of an item (one query, read once per item
// by each process, which then keeps the set up to date). It returns an Unavailable *apperr.Error
// when the database fails.
func (s *EvidenceStore) EventIDs(ctx context.Context, itemID string) (map[string]int64, error) {
	cur, err := s.db.find(ctx, s.events(), bson.D{{Key: "item_id", Value: itemID}},
		options.Find().SetProjection(bson.D{{Key: "event_id", Value: 1}, {Key: "seq", Value: 1}}))
	if err != nil {
		return nil, unavailable("reading the event ids of %s: %w", itemID, err)
	}
	var docs []struct {
		EventID string `bson:"event_id"`
		Seq     int64  `bson:"seq"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, unavailable("reading the event ids of %s: %w", itemID, err)
	}
	out := make(map[string]int64, len(docs))
	for _, d := range docs {
		out[d.EventID] = d.Seq
	}
	return out, nil
}

// Events returns up to limit events of an item with Seq > after, ascending. It returns an
// Unavailable *apperr.Error when the database fails.
func (s *EvidenceStore) Events(ctx context.Context, itemID string, after int64, limit int) ([]evidence.Event, error) {
	opts := options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit))
	docs, err := findDocs[evidenceEventDoc](ctx, s.db, s.events(), bson.D{{Key: "item_id", Value: itemID}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: after}}}}, opts, "reading the custody chain of %s: %w", itemID)
	if err != nil {
		return nil, err
	}
	return mapDocs(docs, func(d evidenceEventDoc) evidence.Event { return fromEvidenceEventDoc(s.keys.in(ctx), d) }), nil
}

// ScanEvents calls fn with every event of an item in ascending Seq order. It returns fn's first
// error as is, an error when a document cannot be decoded, or an Unavailable *apperr.Error when the
// database fails.
func (s *EvidenceStore) ScanEvents(ctx context.Context, itemID string, fn func(evidence.Event) error) error {
	// Only _id lookups use an index in FerretDB's own engine: read the events by number there. With
	// the embedded tables (UseTables) the query below is an SQLite range scan on the item_seq index
	// (one query per chain instead of one read per event and the probes past its end).
	if s.db.ferret && s.db.tables == nil {
		return walkByID(ctx, func(ctx context.Context, seq int64) (evidence.Event, bool, error) {
			return s.Event(ctx, itemID, seq)
		}, fn)
	}
	opts := options.Find().SetSort(bson.D{{Key: "seq", Value: 1}})
	cur, err := s.db.find(ctx, s.events(), bson.D{{Key: "item_id", Value: itemID}}, opts)
	if err != nil {
		return unavailable("scanning the custody chain of %s: %w", itemID, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d evidenceEventDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("decoding a custody event of %s: %w", itemID, err)
		}
		if err := fn(fromEvidenceEventDoc(s.keys.in(ctx), d)); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return unavailable("scanning the custody chain of %s: %w", itemID, err)
	}
	return nil
}

var _ evidence.Store = (*EvidenceStore)(nil)
