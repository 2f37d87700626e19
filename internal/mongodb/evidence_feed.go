package mongodb

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/childsafe-protocols/caseguide/internal/devicesync"
)

// ItemFeed returns the sync feed of evidence items.
func (s *EvidenceStore) ItemFeed() devicesync.Feed { return evidenceItemFeed{s} }

// EventFeed returns the sync feed of custody events.
func (s *EvidenceStore) EventFeed() devicesync.Feed { return custodyEventFeed{s} }

type evidenceItemFeed struct{ s *EvidenceStore }

func (evidenceItemFeed) Type() string { return devicesync.TypeEvidenceItem }

// Changes returns the items of q's range. It returns an error when a field cannot be decrypted, or
// the driver's error.
func (f evidenceItemFeed) Changes(ctx context.Context, q devicesync.Query) ([]devicesync.Record, error) {
	var docs []evidenceItemDoc
	if err := findChanges(ctx, f.s.db, f.s.items(), q, &docs); err != nil {
		return nil, err
	}
	out := make([]devicesync.Record, 0, len(docs))
	for _, d := range docs {
		it, err := fromEvidenceItemDoc(f.s.keys.in(ctx), d)
		if err != nil {
			return nil, err
		}
		rec := devicesync.EvidenceItemRecord(it)
		rec.Seq = d.ChangeSeq
		out = append(out, rec)
	}
	return out, nil
}

type custodyEventFeed struct{ s *EvidenceStore }

func (custodyEventFeed) Type() string { return devicesync.TypeCustodyEvent }

// Changes returns the custody events of q's range (an event whose encrypted fields do not decrypt
// comes with them empty; verification reports it). It returns the driver's error.
func (f custodyEventFeed) Changes(ctx context.Context, q devicesync.Query) ([]devicesync.Record, error) {
	var docs []evidenceEventDoc
	if err := findChanges(ctx, f.s.db, f.s.events(), q, &docs); err != nil {
		return nil, err
	}
	out := make([]devicesync.Record, 0, len(docs))
	for _, d := range docs {
		rec := devicesync.CustodyEventRecord(fromEvidenceEventDoc(f.s.keys.in(ctx), d))
		rec.Seq = d.ChangeSeq
		out = append(out, rec)
	}
	return out, nil
}

// findChanges reads the documents of coll in q's range (and cases), by change_seq, into dst.
func findChanges(ctx context.Context, d *DB, coll *mongo.Collection, q devicesync.Query, dst any) error {
	filter := seqFilter(q)
	if q.CaseIDs != nil {
		filter = append(filter, bson.E{Key: "case_id", Value: bson.D{{Key: "$in", Value: q.CaseIDs}}})
	}
	cur, err := d.find(ctx, coll, filter, seqOptions(q))
	if err != nil {
		return unavailable("reading %s changes: %w", coll.Name(), err)
	}
	if err := cur.All(ctx, dst); err != nil {
		return unavailable("reading %s changes: %w", coll.Name(), err)
	}
	return nil
}
