package mongodb

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/caseservice"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

// The services of cases and their outcomes live in case_services, one document per service; the
// provider and notes are encrypted under the case's data key, bound to "case_service:<id>:<field>".
const caseServicesCollection = "case_services"

func init() { collections = append(collections, caseServicesCollection) }

type caseServiceDoc struct {
	ID                string      `bson:"_id"`
	OrgID             string      `bson:"org_id"`
	CaseID            string      `bson:"case_id"`
	Discipline        string      `bson:"discipline"`
	Status            string      `bson:"status"`
	Provider          string      `bson:"provider"` // encrypted
	Notes             string      `bson:"notes"`    // encrypted
	ExaminationDone   *bool       `bson:"examination_done"`
	FollowUpNeeded    *bool       `bson:"follow_up_needed"`
	Sessions          *int        `bson:"sessions"`
	AssessmentOutcome string      `bson:"assessment_outcome"`
	SafetyPlan        *bool       `bson:"safety_plan"`
	ChargesFiled      *bool       `bson:"charges_filed"`
	CourtDates        []time.Time `bson:"court_dates"`
	Disposition       string      `bson:"disposition"`
	CreatedBy         string      `bson:"created_by"`
	CreatedAt         time.Time   `bson:"created_at"`
	UpdatedBy         string      `bson:"updated_by"`
	UpdatedAt         time.Time   `bson:"updated_at"`
	Version           int64       `bson:"version"`
	ChangeSeq         int64       `bson:"change_seq"` // the organisation's change sequence number of the last write (device sync)
}

// CaseServiceStore implements caseservice.Store.
type CaseServiceStore struct {
	db   *DB
	keys *CaseKeys
}

// CaseServices returns the case services store, encrypting under the cases' data keys.
func (d *DB) CaseServices(ring *fieldcrypt.KeyRing) *CaseServiceStore {
	return &CaseServiceStore{db: d, keys: d.CaseKeys(ring)}
}

func (d *DB) ensureCaseServiceIndexes(ctx context.Context) error {
	return d.ensureIndexes(ctx, caseServicesCollection, []mongo.IndexModel{
		{Keys: bson.D{{Key: "case_id", Value: 1}, {Key: "created_at", Value: 1}}, Options: options.Index().SetName("case_created")},
		{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "change_seq", Value: 1}}, Options: options.Index().SetName("org_change_seq")},
	})
}

func (s *CaseServiceStore) coll() *mongo.Collection {
	return s.db.db.Collection(caseServicesCollection)
}

func caseServiceAAD(id, field string) string { return "case_service:" + id + ":" + field }

func (s *CaseServiceStore) toDoc(ctx context.Context, r caseservice.Record) (caseServiceDoc, error) {
	x := s.keys.in(ctx).sealing(r.CaseID)
	o := r.Outcome
	dates := o.CourtDates
	if dates == nil {
		dates = []time.Time{}
	}
	d := caseServiceDoc{ID: r.ID, OrgID: r.OrgID, CaseID: r.CaseID, Discipline: string(r.Discipline), Status: string(r.Status),
		Provider: x.seal(r.Provider, caseServiceAAD(r.ID, "provider")), Notes: x.seal(r.Notes, caseServiceAAD(r.ID, "notes")),
		ExaminationDone: o.ExaminationDone, FollowUpNeeded: o.FollowUpNeeded, Sessions: o.Sessions, AssessmentOutcome: string(o.AssessmentOutcome),
		SafetyPlan: o.SafetyPlan, ChargesFiled: o.ChargesFiled, CourtDates: dates, Disposition: string(o.Disposition),
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt, Version: r.Version}
	return d, x.err
}

func (s *CaseServiceStore) fromDoc(ctx context.Context, d caseServiceDoc) (caseservice.Record, error) {
	x := s.keys.in(ctx).opening(d.CaseID)
	dates := make([]time.Time, len(d.CourtDates))
	for i, t := range d.CourtDates {
		dates[i] = t.UTC()
	}
	r := caseservice.Record{ID: d.ID, OrgID: d.OrgID, CaseID: d.CaseID, Discipline: caseservice.Discipline(d.Discipline), Status: caseservice.Status(d.Status),
		Provider: x.open(d.Provider, caseServiceAAD(d.ID, "provider")), Notes: x.open(d.Notes, caseServiceAAD(d.ID, "notes")),
		Outcome: caseservice.Outcome{ExaminationDone: d.ExaminationDone, FollowUpNeeded: d.FollowUpNeeded, Sessions: d.Sessions,
			AssessmentOutcome: caseservice.AssessmentOutcome(d.AssessmentOutcome), SafetyPlan: d.SafetyPlan, ChargesFiled: d.ChargesFiled,
			CourtDates: dates, Disposition: caseservice.Disposition(d.Disposition)},
		CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt.UTC(), UpdatedBy: d.UpdatedBy, UpdatedAt: d.UpdatedAt.UTC(), Version: d.Version}
	return r, x.err
}

// CreateService stores a new record, stamped with the organisation's next change sequence number.
// It returns caseservice.ErrExists when the id is taken, an error when a field cannot be encrypted,
// or an Unavailable *apperr.Error.
func (s *CaseServiceStore) CreateService(ctx context.Context, r caseservice.Record) error {
	d, err := s.toDoc(ctx, r)
	if err != nil {
		return err
	}
	seq, done, err := s.db.BeginChange(ctx, r.OrgID)
	if err != nil {
		return err
	}
	defer done()
	d.ChangeSeq = seq
	return insertNew(ctx, s.coll(), d, caseservice.ErrExists, "case service "+r.ID)
}

// Service returns a record: caseservice.ErrNotFound when there is none, an error when a field cannot
// be decrypted, or an Unavailable *apperr.Error.
func (s *CaseServiceStore) Service(ctx context.Context, id string) (caseservice.Record, error) {
	var d caseServiceDoc
	if err := findByID(ctx, s.coll(), id, &d, caseservice.ErrNotFound, "case service "+id); err != nil {
		return caseservice.Record{}, err
	}
	return s.fromDoc(ctx, d)
}

// ListServices returns the records of a case by creation time, then id. It returns an error when a
// field cannot be decrypted, or an Unavailable *apperr.Error.
func (s *CaseServiceStore) ListServices(ctx context.Context, caseID string) ([]caseservice.Record, error) {
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}})
	docs, err := findDocs[caseServiceDoc](ctx, s.db, s.coll(), bson.D{{Key: "case_id", Value: caseID}}, opts, "listing the services of case %s: %w", caseID)
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d caseServiceDoc) (caseservice.Record, error) { return s.fromDoc(ctx, d) })
}

// UpdateService replaces r's mutable fields when the stored version is r.Version-1, stamping the
// organisation's next change sequence number. It returns caseservice.ErrStale when it is not (or
// there is none), an error when a field cannot be encrypted, or an Unavailable *apperr.Error.
func (s *CaseServiceStore) UpdateService(ctx context.Context, r caseservice.Record) error {
	d, err := s.toDoc(ctx, r)
	if err != nil {
		return err
	}
	// The number is taken before the document lock (both locks share stripes).
	seq, done, err := s.db.BeginChange(ctx, r.OrgID)
	if err != nil {
		return err
	}
	defer done()
	defer s.db.locks.document(caseServicesCollection, r.ID)()
	res, err := s.db.updateByID(ctx, s.coll(), r.ID, bson.D{{Key: "version", Value: r.Version - 1}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: d.Status}, {Key: "provider", Value: d.Provider}, {Key: "notes", Value: d.Notes},
			{Key: "examination_done", Value: d.ExaminationDone}, {Key: "follow_up_needed", Value: d.FollowUpNeeded}, {Key: "sessions", Value: d.Sessions},
			{Key: "assessment_outcome", Value: d.AssessmentOutcome}, {Key: "safety_plan", Value: d.SafetyPlan}, {Key: "charges_filed", Value: d.ChargesFiled},
			{Key: "court_dates", Value: d.CourtDates}, {Key: "disposition", Value: d.Disposition}, {Key: "updated_by", Value: d.UpdatedBy},
			{Key: "updated_at", Value: d.UpdatedAt}, {Key: "version", Value: d.Version}, {Key: "change_seq", Value: seq}}}})
	if err != nil {
		return unavailable("updating case service %s: %w", r.ID, err)
	}
	if res.MatchedCount == 0 {
		return caseservice.ErrStale
	}
	return nil
}

// ensureCareIndexes creates the indexes of the stores for working across agencies (flags,
// appointments, services), one at a time.
func (d *DB) ensureCareIndexes(ctx context.Context) error {
	for _, ensure := range []func(context.Context) error{d.ensureCaseFlagIndexes, d.ensureAppointmentIndexes, d.ensureCaseServiceIndexes} {
		if err := ensure(ctx); err != nil {
			return err
		}
	}
	return nil
}

var _ caseservice.Store = (*CaseServiceStore)(nil)
