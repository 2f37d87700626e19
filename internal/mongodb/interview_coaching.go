package mongodb

import (
	"cmp"
	"context"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// coachingSessions is what coaching reports count of one organisation's sessions (one small
// interview.CoachingSession per session sent for review with its quality, of every month), kept in
// an orgSnapshots (DB.coaching) so that a report does not decode a year of full session documents on
// every request (README, "An agency's five years"). Every write of a session (create, update, a
// shared copy, a bulk insert) stamps it with a number of the organisation's change sequence; a
// session counted is put in (its new figures replace the old), one no longer counted leaves.
// Sessions are never deleted; erasing a case destroys its key and leaves the clear-text fields the
// report reads as they are.
type coachingSessions map[string]interview.CoachingSession // counted session id -> what the report counts

// CoachingCachedOrgs returns how many organisations' coaching snapshots this process holds in
// memory (at most 64). It returns no error.
func (d *DB) CoachingCachedOrgs() int { return d.coaching.cachedOrgs() }

// coachingDoc is what the snapshot reads of a session: no encrypted field.
type coachingDoc struct {
	ID            string     `bson:"_id"`
	OrgID         string     `bson:"org_id"`
	InterviewerID string     `bson:"interviewer_id"`
	Status        string     `bson:"status"`
	StartedAt     *time.Time `bson:"started_at"`
	CreatedAt     time.Time  `bson:"created_at"`
	Quality       *struct {
		Prompts     int `bson:"prompts"`
		OpenPrompts int `bson:"open_prompts"`
		Flags       []struct {
			Code string `bson:"code"`
		} `bson:"flags"`
	} `bson:"quality"`
}

var coachingSnapFields = bson.D{{Key: "org_id", Value: 1}, {Key: "interviewer_id", Value: 1}, {Key: "status", Value: 1},
	{Key: "started_at", Value: 1}, {Key: "created_at", Value: 1}, {Key: "quality", Value: 1}}

// coachingOfDoc is interview.CoachingOf of the session d.
func coachingOfDoc(d coachingDoc) (interview.CoachingSession, bool) {
	s := interview.Session{ID: d.ID, OrgID: d.OrgID, InterviewerID: d.InterviewerID, Status: interview.Status(d.Status),
		StartedAt: identityUTCPtr(d.StartedAt), CreatedAt: d.CreatedAt.UTC()}
	if q := d.Quality; q != nil {
		s.Quality = &interview.Quality{Measures: interview.Measures{Prompts: q.Prompts, OpenPrompts: q.OpenPrompts}}
		for _, f := range q.Flags {
			s.Quality.Flags = append(s.Quality.Flags, interview.Flag{Code: f.Code})
		}
	}
	return interview.CoachingOf(s)
}

// OrgCoaching returns what coaching reports count of orgID's sessions started (or, never started,
// created) in [from, before), by id, from a snapshot in memory brought up to date first with the
// sessions written since it was (see orgSnapshots): every write that ended before the call is in
// the answer. The snapshot is read in full the first time, every ten minutes, after a failed update
// and when the watermark went down. It returns the driver's error (the snapshot is then read in full
// next time).
func (s *InterviewStore) OrgCoaching(ctx context.Context, orgID string, from, before time.Time) ([]interview.CoachingSession, error) {
	out := []interview.CoachingSession{}
	err := s.db.coaching.use(ctx, s.db, orgID, func(sn *coachingSessions, full bool, since int64) error {
		filter := bson.D{{Key: "org_id", Value: orgID}, {Key: "change_seq", Value: bson.D{{Key: "$gt", Value: since}}}}
		if full {
			*sn = coachingSessions{}
			filter = bson.D{{Key: "org_id", Value: orgID}, {Key: "status", Value: bson.D{{Key: "$in", Value: stringsOf(interview.CoachingStatuses)}}}}
		}
		docs, err := findDocs[coachingDoc](ctx, s.db, s.sessions(), filter, options.Find().SetProjection(coachingSnapFields),
			"reading the coaching figures of %s: %w", orgID)
		if err != nil {
			return err
		}
		for _, d := range docs {
			if x, ok := coachingOfDoc(d); ok && d.OrgID == orgID {
				(*sn)[d.ID] = x
			} else {
				delete(*sn, d.ID)
			}
		}
		return nil
	}, func(sn *coachingSessions) {
		for _, x := range *sn {
			if !x.Started.Before(from) && x.Started.Before(before) {
				x.Flags = slices.Clone(x.Flags)
				out = append(out, x)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b interview.CoachingSession) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
