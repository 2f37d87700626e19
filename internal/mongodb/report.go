package mongodb

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/report"
)

// ReportStore implements report.Store: it reads the clear fields the statistics count (ids, times,
// prompt counts, integrity states) and never decrypts anything.
type ReportStore struct {
	db *DB
}

// Reports returns the statistics' store.
func (d *DB) Reports() *ReportStore { return &ReportStore{db: d} }

// InterviewFacts returns the organisation's interview sessions (a scan of its sessions on the
// embedded database, served by the org_id index on MongoDB). It returns an Unavailable
// *apperr.Error when the database fails.
func (s *ReportStore) InterviewFacts(ctx context.Context, orgID string) ([]report.InterviewFact, error) {
	type doc struct {
		CaseID      string     `bson:"case_id"`
		SubmittedAt *time.Time `bson:"submitted_at"`
		Quality     *struct {
			Prompts     int `bson:"prompts"`
			OpenPrompts int `bson:"open_prompts"`
		} `bson:"quality"`
	}
	coll := s.db.db.Collection(interviewSessionsCollection)
	docs, err := findDocs[doc](ctx, s.db, coll, bson.D{{Key: "org_id", Value: orgID}}, nil, "reading interview sessions for a report: %w")
	if err != nil {
		return nil, err
	}
	return mapDocs(docs, func(d doc) report.InterviewFact {
		f := report.InterviewFact{CaseID: d.CaseID, SubmittedAt: identityUTCPtr(d.SubmittedAt)}
		if d.Quality != nil {
			f.Prompts, f.OpenPrompts = d.Quality.Prompts, d.Quality.OpenPrompts
		}
		return f
	}), nil
}

// EvidenceFacts returns the organisation's evidence items created in [from, to). It returns an
// Unavailable *apperr.Error when the database fails.
func (s *ReportStore) EvidenceFacts(ctx context.Context, orgID string, from, to time.Time) ([]report.EvidenceFact, error) {
	type doc struct {
		CaseID    string    `bson:"case_id"`
		CreatedAt time.Time `bson:"created_at"`
		State     struct {
			IntegrityFailed bool `bson:"integrity_failed"`
		} `bson:"state"`
	}
	coll := s.db.db.Collection(evidenceItemsCollection)
	filter := bson.D{{Key: "org_id", Value: orgID}, {Key: "created_at", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}}}
	docs, err := findDocs[doc](ctx, s.db, coll, filter, nil, "reading evidence items for a report: %w")
	if err != nil {
		return nil, err
	}
	return mapDocs(docs, func(d doc) report.EvidenceFact {
		return report.EvidenceFact{CaseID: d.CaseID, CreatedAt: d.CreatedAt.UTC(), IntegrityFailed: d.State.IntegrityFailed}
	}), nil
}

var _ report.Store = (*ReportStore)(nil)
