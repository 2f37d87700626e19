package mongodb

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

const (
	interviewSessionsCollection = "interview_sessions"
	interviewLogsCollection     = "interview_logs"
)

// InterviewStore implements interview.Store. It encrypts the free text and identifying fields of
// sessions and logs with its key ring as it converts them to documents, and decrypts them on reading;
// every write stamps the organisation's next change sequence number (change_seq) and updated_at.
type InterviewStore struct {
	db   *DB
	keys *CaseKeys
}

// Interviews returns the interview store, encrypting with keys.
func (d *DB) Interviews(keys *fieldcrypt.KeyRing) *InterviewStore {
	return &InterviewStore{db: d, keys: d.CaseKeys(keys)}
}

// ensureInterviewIndexes creates the indexes of the sessions collection: the sessions of a case, the
// review queue and coaching reports of an organisation, and the change sequence (sync) of sessions
// and logs; logs are otherwise read by _id only. It is idempotent and returns the first error the
// server gives.
func (d *DB) ensureInterviewIndexes(ctx context.Context) error {
	if err := d.ensureIndexes(ctx, interviewSessionsCollection, []mongo.IndexModel{
		{Keys: bson.D{{Key: "case_id", Value: 1}, {Key: "created_at", Value: 1}}, Options: options.Index().SetName("case_created")},
		{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "status", Value: 1}, {Key: "submitted_at", Value: 1}}, Options: options.Index().SetName("org_status")},
		// the review queue's sort (submission time, then id) read from the index: on the embedded
		// database SQLite would otherwise parse every waiting session's document to find its id
		{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "status", Value: 1}, {Key: "submitted_at", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("org_status_submitted_id")},
		{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "change_seq", Value: 1}}, Options: options.Index().SetName("org_change_seq")},
	}); err != nil {
		return err
	}
	return d.ensureIndexes(ctx, interviewLogsCollection, []mongo.IndexModel{
		{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "change_seq", Value: 1}}, Options: options.Index().SetName("org_change_seq")},
	})
}

// RawSessionsCollection returns the sessions collection itself, bypassing encryption. It is for tests
// and verification tooling only; the service never uses it.
func (s *InterviewStore) RawSessionsCollection() *mongo.Collection {
	return s.db.db.Collection(interviewSessionsCollection)
}

// RawLogsCollection returns the logs collection itself, bypassing encryption. It is for tests and
// verification tooling only; the service never uses it.
func (s *InterviewStore) RawLogsCollection() *mongo.Collection {
	return s.db.db.Collection(interviewLogsCollection)
}

func (s *InterviewStore) sessions() *mongo.Collection {
	return s.db.db.Collection(interviewSessionsCollection)
}
func (s *InterviewStore) logs() *mongo.Collection { return s.db.db.Collection(interviewLogsCollection) }

// CreateSession stores a new session and its empty, open log (the log first, so a session never
// exists without one once its create succeeded). It returns interview.ErrExists when the id is taken,
// an error when a field cannot be encrypted, or the driver's error.
func (s *InterviewStore) CreateSession(ctx context.Context, sess interview.Session) error {
	doc, err := toInterviewSessionDoc(s.keys.in(ctx), sess)
	if err != nil {
		return err
	}
	// One number for both documents: the sync feed shows a session with its log.
	seq, done, err := s.db.BeginChange(ctx, sess.OrgID)
	if err != nil {
		return err
	}
	defer done()
	log := interviewLogDoc{ID: sess.ID, OrgID: sess.OrgID, CaseID: sess.CaseID, UpdatedAt: sess.CreatedAt, ChangeSeq: seq, Open: true,
		Prompts: []interviewPromptDoc{}, Breaks: []interviewBreakDoc{}, Checks: []interviewCheckDoc{}, Marks: []interviewMarkDoc{}}
	if _, err := s.logs().InsertOne(ctx, log); err != nil && !mongo.IsDuplicateKeyError(err) {
		return unavailable("creating the log of interview %s: %w", sess.ID, err)
	}
	doc.ChangeSeq = seq
	return insertNew(ctx, s.sessions(), doc, interview.ErrExists, "interview "+sess.ID)
}

// Session returns a session: interview.ErrNotFound when there is none, an error when a field cannot
// be decrypted, or the driver's error.
func (s *InterviewStore) Session(ctx context.Context, id string) (interview.Session, error) {
	var d interviewSessionDoc
	if err := s.db.findByID(ctx, s.sessions(), id, &d, interview.ErrNotFound, "interview "+id); err != nil {
		return interview.Session{}, err
	}
	return fromInterviewSessionDoc(s.keys.in(ctx), d)
}

// UpdateSession replaces every mutable field of session sess.ID when its stored version is
// sess.Version-1, stamping the next change sequence number. It returns interview.ErrStale when the
// version differs, interview.ErrNotFound when the session does not exist, an error when a field
// cannot be encrypted, or the driver's error.
func (s *InterviewStore) UpdateSession(ctx context.Context, sess interview.Session) error {
	doc, err := toInterviewSessionDoc(s.keys.in(ctx), sess)
	if err != nil {
		return err
	}
	seq, done, err := s.db.BeginChange(ctx, sess.OrgID)
	if err != nil {
		return err
	}
	defer done()
	doc.ChangeSeq = seq
	defer s.db.locks.document(interviewSessionsCollection, sess.ID)()
	set := bson.D{
		{Key: "updated_at", Value: doc.UpdatedAt}, {Key: "change_seq", Value: doc.ChangeSeq}, {Key: "status", Value: doc.Status},
		{Key: "plan", Value: doc.Plan}, {Key: "started_at", Value: doc.StartedAt}, {Key: "ended_at", Value: doc.EndedAt},
		{Key: "reviews", Value: doc.Reviews}, {Key: "addenda", Value: doc.Addenda}, {Key: "submitted_at", Value: doc.SubmittedAt},
		{Key: "approved_at", Value: doc.ApprovedAt}, {Key: "approved_by", Value: doc.ApprovedBy}, {Key: "quality", Value: doc.Quality},
		{Key: "version", Value: doc.Version},
	}
	res, err := s.db.updateByID(ctx, s.sessions(), sess.ID, bson.D{{Key: "version", Value: sess.Version - 1}},
		bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return unavailable("updating interview %s: %w", sess.ID, err)
	}
	if res.MatchedCount == 0 {
		n, err := s.sessions().CountDocuments(ctx, bson.D{{Key: "_id", Value: sess.ID}})
		if err != nil {
			return unavailable("reading interview %s: %w", sess.ID, err)
		}
		if n == 0 {
			return interview.ErrNotFound
		}
		return interview.ErrStale
	}
	return nil
}

// CaseSessions returns the sessions of a case by creation time, then id. It returns an error when a
// field cannot be decrypted, or the driver's error.
func (s *InterviewStore) CaseSessions(ctx context.Context, caseID string) ([]interview.Session, error) {
	return s.find(ctx, bson.D{{Key: "case_id", Value: caseID}}, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
}

// OrgSessions returns the sessions matching f, by id; with f.Queue, one page of the review queue
// by submission time then id (see interview.OrgFilter). Each is a summary: Plan and Addenda are
// empty (not read) and so are the reviews' comments (not decrypted). It returns the driver's error.
func (s *InterviewStore) OrgSessions(ctx context.Context, f interview.OrgFilter) ([]interview.Session, error) {
	filter := bson.D{{Key: "org_id", Value: f.OrgID}}
	if len(f.Statuses) > 0 {
		filter = append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: stringsOf(f.Statuses)}}})
	}
	if f.InterviewerID != "" {
		filter = append(filter, bson.E{Key: "interviewer_id", Value: f.InterviewerID})
	}
	if q := f.Queue; q != nil {
		// The review queue's page: by submission then id, after the cursor, on the org_status index.
		if q.AfterID == "" {
			filter = append(filter, bson.E{Key: "submitted_at", Value: bson.D{{Key: "$ne", Value: nil}}})
		} else {
			filter = append(filter, bson.E{Key: "$or", Value: bson.A{
				bson.D{{Key: "submitted_at", Value: bson.D{{Key: "$gt", Value: q.AfterTime}}}},
				bson.D{{Key: "submitted_at", Value: q.AfterTime}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: q.AfterID}}}},
			}})
		}
		opts := options.Find().SetSort(bson.D{{Key: "submitted_at", Value: 1}, {Key: "_id", Value: 1}})
		if q.Limit > 0 {
			opts.SetLimit(int64(q.Limit))
		}
		return s.summaries(ctx, filter, opts)
	}
	return s.summaries(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
}

// sessionSummaryFields are the fields OrgSessions reads: all but the plan and the addenda.
var sessionSummaryFields = bson.D{{Key: "org_id", Value: 1}, {Key: "case_id", Value: 1}, {Key: "updated_at", Value: 1},
	{Key: "protocol_id", Value: 1}, {Key: "protocol_version", Value: 1}, {Key: "situation", Value: 1}, {Key: "interviewer_id", Value: 1},
	{Key: "status", Value: 1}, {Key: "started_at", Value: 1}, {Key: "ended_at", Value: 1}, {Key: "reviews", Value: 1},
	{Key: "submitted_at", Value: 1}, {Key: "approved_at", Value: 1}, {Key: "approved_by", Value: 1}, {Key: "quality", Value: 1},
	{Key: "created_at", Value: 1}, {Key: "version", Value: 1}, {Key: "shared_from", Value: 1}}

// summaries lists sessions as OrgSessions does: without the plan and the addenda (not read) and with
// the reviews' comments empty (not decrypted).
func (s *InterviewStore) summaries(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder) ([]interview.Session, error) {
	docs, err := findDocs[interviewSessionDoc](ctx, s.db, s.sessions(), filter, opts.SetProjection(sessionSummaryFields), "listing interviews: %w")
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d interviewSessionDoc) (interview.Session, error) {
		for i := range d.Reviews {
			d.Reviews[i].Comment = ""
			for j := range d.Reviews[i].ItemComments {
				d.Reviews[i].ItemComments[j].Comment = ""
			}
		}
		return fromInterviewSessionDoc(s.keys.in(ctx), d)
	})
}

func (s *InterviewStore) find(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder) ([]interview.Session, error) {
	docs, err := findDocs[interviewSessionDoc](ctx, s.db, s.sessions(), filter, opts, "listing interviews: %w")
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d interviewSessionDoc) (interview.Session, error) {
		return fromInterviewSessionDoc(s.keys.in(ctx), d)
	})
}

var _ interview.Store = (*InterviewStore)(nil)
