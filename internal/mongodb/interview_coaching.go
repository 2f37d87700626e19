package mongodb

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/interview"
)

const (
	// coachingMaxOrgs is how many organisations' coaching snapshots the cache holds; the least
	// recently asked for leaves first.
	coachingMaxOrgs = 64
	// coachingFullEvery is how old a snapshot's last full read may be before it is read in full
	// again (a bound on what a missed change could cost; none should be missed).
	coachingFullEvery = 10 * time.Minute
)

// coachingCache keeps, per organisation, what coaching reports count of its sessions (one small
// interview.CoachingSession per session sent for review with its quality, of every month), so that a
// report does not decode a year of full session documents on every request (README, "Page times").
//
// It is kept up to date as openWorkCache is (see there): every write of a session (create, update,
// a shared copy, a bulk insert) stamps it with a number of the organisation's change sequence; a
// snapshot holds a watermark, ChangeWatermark as it was before it was last brought up to date, and
// bringing it up to date takes a new watermark first, then reads the sessions whose change_seq is
// above the old one (the org_change_seq index) and applies them: a session counted is put in (its
// new figures replace the old), one no longer counted leaves. Sessions are never deleted; erasing a
// case destroys its key and leaves the clear-text fields the report reads as they are.
type coachingCache struct {
	mu   sync.Mutex
	orgs map[string]*coachingSnap
	now  func() time.Time
	tick int64 // the number of the last use (least recently used leaves first)
}

// coachingSnap is one organisation's snapshot; mu serialises its reads and updates.
type coachingSnap struct {
	mu       sync.Mutex
	used     int64 // guarded by coachingCache.mu
	loaded   bool  // false until a full read succeeded, and again after any failed update
	mark     int64 // every write with a number up to it is reflected
	fullAt   time.Time
	sessions map[string]interview.CoachingSession // counted session id -> what the report counts
}

func newCoachingCache() *coachingCache {
	return &coachingCache{orgs: map[string]*coachingSnap{}, now: time.Now}
}

// snap returns orgID's snapshot, making an empty one (and dropping the least recently used when
// there are too many).
func (c *coachingCache) snap(orgID string) *coachingSnap {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	s := c.orgs[orgID]
	if s == nil {
		if len(c.orgs) >= coachingMaxOrgs {
			oldest := ""
			for id, o := range c.orgs {
				if oldest == "" || o.used < c.orgs[oldest].used {
					oldest = id
				}
			}
			delete(c.orgs, oldest)
		}
		s = &coachingSnap{}
		c.orgs[orgID] = s
	}
	s.used = c.tick
	return s
}

// CoachingCachedOrgs returns how many organisations' coaching snapshots this process holds in
// memory (at most 64). It returns no error.
func (d *DB) CoachingCachedOrgs() int {
	d.coaching.mu.Lock()
	defer d.coaching.mu.Unlock()
	return len(d.coaching.orgs)
}

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
// sessions written since it was (see coachingCache): every write that ended before the call is in
// the answer. The snapshot is read in full the first time, every ten minutes, after a failed update
// and when the watermark went down. It returns the driver's error (the snapshot is then read in full
// next time).
func (s *InterviewStore) OrgCoaching(ctx context.Context, orgID string, from, before time.Time) ([]interview.CoachingSession, error) {
	sn := s.db.coaching.snap(orgID)
	sn.mu.Lock()
	defer sn.mu.Unlock()
	w, err := s.db.ChangeWatermark(ctx, orgID)
	if err != nil {
		return nil, err
	}
	now := s.db.coaching.now()
	var since bson.D
	if !sn.loaded || w < sn.mark || now.Sub(sn.fullAt) >= coachingFullEvery {
		sn.sessions = map[string]interview.CoachingSession{}
		since = bson.D{{Key: "org_id", Value: orgID}, {Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{
			string(interview.StatusSubmitted), string(interview.StatusResubmitted), string(interview.StatusApproved)}}}}}
		sn.fullAt = now
	} else {
		since = bson.D{{Key: "org_id", Value: orgID}, {Key: "change_seq", Value: bson.D{{Key: "$gt", Value: sn.mark}}}}
	}
	docs, err := findDocs[coachingDoc](ctx, s.db, s.sessions(), since, options.Find().SetProjection(coachingSnapFields),
		"reading the coaching figures of %s: %w", orgID)
	sn.loaded = err == nil
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		if x, ok := coachingOfDoc(d); ok && d.OrgID == orgID {
			sn.sessions[d.ID] = x
		} else {
			delete(sn.sessions, d.ID)
		}
	}
	sn.mark = w
	out := []interview.CoachingSession{}
	for _, x := range sn.sessions {
		if !x.Started.Before(from) && x.Started.Before(before) {
			x.Flags = slices.Clone(x.Flags)
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b interview.CoachingSession) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
