package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/caseflag"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

// Case flags live in case_flags, one document per flag; their reasons are encrypted under the case's
// data key, bound to "case_flag:<id>:<field>". The kinds of a case's unresolved flags are also kept on
// the case itself (cases.active_flags), so the case list filters and shows them without reading
// the flags.
const caseFlagsCollection = "case_flags"

func init() {
	collections = append(collections, caseFlagsCollection)
	// arrays of the stores for working across agencies (the cases' flags, the cases an appointment
	// names, court dates), for the embedded database's tables (embedded.go)
	for _, f := range []string{"active_flags", "case_ids", "court_dates", "actions"} {
		arrayFields[f] = true
	}
}

type caseFlagDoc struct {
	ID               string     `bson:"_id"`
	OrgID            string     `bson:"org_id"`
	CaseID           string     `bson:"case_id"`
	Kind             string     `bson:"kind"`
	Reason           string     `bson:"reason"` // encrypted
	RaisedBy         string     `bson:"raised_by"`
	RaisedAt         time.Time  `bson:"raised_at"`
	ResolvedBy       string     `bson:"resolved_by"`
	ResolvedAt       *time.Time `bson:"resolved_at"`
	ResolutionReason string     `bson:"resolution_reason"` // encrypted
	Version          int64      `bson:"version"`
	// Sync metadata: the time (raised, then resolved) and the organisation's change sequence number
	// of the last write.
	UpdatedAt time.Time `bson:"updated_at"`
	ChangeSeq int64     `bson:"change_seq"`
}

// CaseFlagStore implements caseflag.Store.
type CaseFlagStore struct {
	db   *DB
	keys *CaseKeys
}

// CaseFlags returns the case flags store, encrypting reasons under the cases' data keys.
func (d *DB) CaseFlags(ring *fieldcrypt.KeyRing) *CaseFlagStore {
	return &CaseFlagStore{db: d, keys: d.CaseKeys(ring)}
}

func (d *DB) ensureCaseFlagIndexes(ctx context.Context) error {
	return d.ensureIndexes(ctx, caseFlagsCollection, []mongo.IndexModel{
		{Keys: bson.D{{Key: "case_id", Value: 1}, {Key: "raised_at", Value: 1}}, Options: options.Index().SetName("case_raised")},
		{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "change_seq", Value: 1}}, Options: options.Index().SetName("org_change_seq")},
	})
}

func (s *CaseFlagStore) coll() *mongo.Collection { return s.db.db.Collection(caseFlagsCollection) }

func caseFlagAAD(id, field string) string { return "case_flag:" + id + ":" + field }

func (s *CaseFlagStore) toDoc(ctx context.Context, f caseflag.Flag) (caseFlagDoc, error) {
	x := s.keys.in(ctx).sealing(f.CaseID)
	d := caseFlagDoc{ID: f.ID, OrgID: f.OrgID, CaseID: f.CaseID, Kind: string(f.Kind), Reason: x.seal(f.Reason, caseFlagAAD(f.ID, "reason")),
		RaisedBy: f.RaisedBy, RaisedAt: f.RaisedAt, ResolvedBy: f.ResolvedBy, ResolvedAt: f.ResolvedAt,
		ResolutionReason: x.seal(f.ResolutionReason, caseFlagAAD(f.ID, "resolution_reason")), Version: f.Version, UpdatedAt: f.RaisedAt}
	if f.ResolvedAt != nil {
		d.UpdatedAt = *f.ResolvedAt
	}
	return d, x.err
}

func (s *CaseFlagStore) fromDoc(ctx context.Context, d caseFlagDoc) (caseflag.Flag, error) {
	x := s.keys.in(ctx).opening(d.CaseID)
	f := caseflag.Flag{ID: d.ID, OrgID: d.OrgID, CaseID: d.CaseID, Kind: caseflag.Kind(d.Kind), Reason: x.open(d.Reason, caseFlagAAD(d.ID, "reason")),
		RaisedBy: d.RaisedBy, RaisedAt: d.RaisedAt.UTC(), ResolvedBy: d.ResolvedBy, ResolvedAt: identityUTCPtr(d.ResolvedAt),
		ResolutionReason: x.open(d.ResolutionReason, caseFlagAAD(d.ID, "resolution_reason")), Version: d.Version}
	return f, x.err
}

// CreateFlag stores a new flag, stamped with the organisation's next change sequence number, and
// adds its kind to the case's unresolved kinds. It returns caseflag.ErrExists when the id is taken,
// an error when a reason cannot be encrypted, or an Unavailable *apperr.Error.
func (s *CaseFlagStore) CreateFlag(ctx context.Context, f caseflag.Flag) error {
	d, err := s.toDoc(ctx, f)
	if err != nil {
		return err
	}
	seq, done, err := s.db.BeginChange(ctx, f.OrgID)
	if err != nil {
		return err
	}
	defer done()
	d.ChangeSeq = seq
	if err := insertNew(ctx, s.coll(), d, caseflag.ErrExists, "case flag "+f.ID); err != nil {
		return err
	}
	return s.refreshCase(ctx, f.OrgID, f.CaseID)
}

// Flag returns a flag: caseflag.ErrNotFound when there is none, an error when a reason cannot be
// decrypted, or an Unavailable *apperr.Error.
func (s *CaseFlagStore) Flag(ctx context.Context, id string) (caseflag.Flag, error) {
	var d caseFlagDoc
	if err := findByID(ctx, s.coll(), id, &d, caseflag.ErrNotFound, "case flag "+id); err != nil {
		return caseflag.Flag{}, err
	}
	return s.fromDoc(ctx, d)
}

// ListFlags returns the flags of a case by time raised, then id. It returns an error when a reason
// cannot be decrypted, or an Unavailable *apperr.Error.
func (s *CaseFlagStore) ListFlags(ctx context.Context, caseID string) ([]caseflag.Flag, error) {
	opts := options.Find().SetSort(bson.D{{Key: "raised_at", Value: 1}, {Key: "_id", Value: 1}})
	docs, err := findDocs[caseFlagDoc](ctx, s.db, s.coll(), bson.D{{Key: "case_id", Value: caseID}}, opts, "listing the flags of case %s: %w", caseID)
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d caseFlagDoc) (caseflag.Flag, error) { return s.fromDoc(ctx, d) })
}

// ResolveFlag stores f's resolution when the stored flag is at version f.Version-1, stamping the
// organisation's next change sequence number, and recomputes the case's unresolved kinds. It
// returns caseflag.ErrStale when the version differs, an error when a reason cannot be encrypted, or
// an Unavailable *apperr.Error.
func (s *CaseFlagStore) ResolveFlag(ctx context.Context, f caseflag.Flag) error {
	d, err := s.toDoc(ctx, f)
	if err != nil {
		return err
	}
	// The number is taken before the document lock (both locks share stripes).
	seq, done, err := s.db.BeginChange(ctx, f.OrgID)
	if err != nil {
		return err
	}
	defer done()
	unlock := s.db.locks.document(caseFlagsCollection, f.ID)
	res, err := s.db.updateByID(ctx, s.coll(), f.ID, bson.D{{Key: "version", Value: f.Version - 1}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "resolved_by", Value: d.ResolvedBy}, {Key: "resolved_at", Value: d.ResolvedAt},
			{Key: "resolution_reason", Value: d.ResolutionReason}, {Key: "version", Value: d.Version},
			{Key: "updated_at", Value: d.UpdatedAt}, {Key: "change_seq", Value: seq}}}})
	unlock()
	if err != nil {
		return unavailable("resolving case flag %s: %w", f.ID, err)
	}
	if res.MatchedCount == 0 {
		return caseflag.ErrStale
	}
	return s.refreshCase(ctx, f.OrgID, f.CaseID)
}

// refreshCase sets the case's active_flags to the kinds of its unresolved flags, each once, in the
// order of caseflag.Kinds; it holds the case's lock, so concurrent raises and resolutions each see
// the others' flags. The case is stamped with a new change sequence number (devices show its
// flags): taken before the lock, and taken again when another write of the case got a higher one
// meanwhile, so that the case's number never goes down.
func (s *CaseFlagStore) refreshCase(ctx context.Context, orgID, caseID string) error {
	for range 5 {
		retry, err := s.refreshCaseAt(ctx, orgID, caseID)
		if !retry || err != nil {
			return err
		}
	}
	return fmt.Errorf("case %s keeps changing", caseID)
}

func (s *CaseFlagStore) refreshCaseAt(ctx context.Context, orgID, caseID string) (retry bool, err error) {
	seq, done, err := s.db.BeginChange(ctx, orgID)
	if err != nil {
		return false, err
	}
	defer done()
	defer s.db.locks.document(caseworkCasesCollection, caseID)()
	var cur struct {
		ChangeSeq int64 `bson:"change_seq"`
	}
	err = s.db.findByID(ctx, s.db.db.Collection(caseworkCasesCollection), caseID, &cur, casework.ErrNotFound, "case "+caseID)
	switch {
	case errors.Is(err, casework.ErrNotFound): // no case to show the flags on
		return false, nil
	case err != nil:
		return false, err
	}
	if cur.ChangeSeq > seq {
		return true, nil
	}
	return false, s.setActiveFlags(ctx, caseID, seq)
}

func (s *CaseFlagStore) setActiveFlags(ctx context.Context, caseID string, seq int64) error {
	docs, err := findDocs[caseFlagDoc](ctx, s.db, s.coll(), bson.D{{Key: "case_id", Value: caseID}, {Key: "resolved_at", Value: nil}}, nil,
		"listing the flags of case %s: %w", caseID)
	if err != nil {
		return err
	}
	active := []string{}
	for _, k := range caseflag.Kinds {
		for _, d := range docs {
			if d.Kind == string(k) {
				active = append(active, d.Kind)
				break
			}
		}
	}
	if _, err := s.db.db.Collection(caseworkCasesCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: caseID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "active_flags", Value: active}, {Key: "change_seq", Value: seq}}}}); err != nil {
		return unavailable("updating the flags of case %s: %w", caseID, err)
	}
	return nil
}

var _ caseflag.Store = (*CaseFlagStore)(nil)
