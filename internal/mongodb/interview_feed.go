package mongodb

import (
	"cmp"
	"context"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// SessionFeed returns the sync feed of interview sessions: each session with its log, as one record
// whose change_seq is the higher of the two documents'.
func (s *InterviewStore) SessionFeed() devicesync.Feed { return interviewFeed{s} }

type interviewFeed struct{ s *InterviewStore }

func (interviewFeed) Type() string { return devicesync.TypeInterviewSession }

// Changes returns the sessions whose session or log document changed in q's range, each with its
// log; a session whose other document changed after q.UpToSeq comes later (with that number). It
// returns an error when a field cannot be decrypted, or the driver's error.
func (f interviewFeed) Changes(ctx context.Context, q devicesync.Query) ([]devicesync.Record, error) {
	var out []devicesync.Record
	for after := q.AfterSeq; ; {
		part := q
		part.AfterSeq = after
		if q.Limit > 0 {
			part.Limit = q.Limit - len(out)
		}
		recs, complete, err := f.changes(ctx, part)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
		if complete >= q.UpToSeq || (q.Limit > 0 && len(out) >= q.Limit) {
			return out, nil
		}
		after = complete
	}
}

// changes reads one round of Changes: the records of q's range up to complete, the number up to
// which every changed session of the range is in recs (the sessions and logs read are cut at
// q.Limit each, so the round may end before q.UpToSeq).
func (f interviewFeed) changes(ctx context.Context, q devicesync.Query) (recs []devicesync.Record, complete int64, err error) {
	filter := seqFilter(q)
	if q.CaseIDs != nil {
		filter = append(filter, bson.E{Key: "case_id", Value: bson.D{{Key: "$in", Value: q.CaseIDs}}})
	}
	complete = q.UpToSeq
	var sessions []interviewSessionDoc
	var logs []interviewLogDoc
	for _, read := range []struct {
		coll *mongo.Collection
		dst  any
	}{{f.s.sessions(), &sessions}, {f.s.logs(), &logs}} {
		cur, err := f.s.db.find(ctx, read.coll, filter, seqOptions(q))
		if err != nil {
			return nil, 0, unavailable("reading interview changes: %w", err)
		}
		if err := cur.All(ctx, read.dst); err != nil {
			return nil, 0, unavailable("reading interview changes: %w", err)
		}
	}
	if q.Limit > 0 && len(sessions) == q.Limit {
		complete = min(complete, sessions[len(sessions)-1].ChangeSeq)
	}
	if q.Limit > 0 && len(logs) == q.Limit {
		complete = min(complete, logs[len(logs)-1].ChangeSeq)
	}
	// The other document of each session, by _id.
	byID := map[string]*interviewSessionDoc{}
	logByID := map[string]*interviewLogDoc{}
	for i := range sessions {
		byID[sessions[i].ID] = &sessions[i]
	}
	for i := range logs {
		logByID[logs[i].ID] = &logs[i]
	}
	var needSessions, needLogs []string
	for id := range logByID {
		if byID[id] == nil {
			needSessions = append(needSessions, id)
		}
	}
	for id := range byID {
		if logByID[id] == nil {
			needLogs = append(needLogs, id)
		}
	}
	if len(needSessions) > 0 {
		var more []interviewSessionDoc
		if err := f.s.findByIDs(ctx, f.s.sessions(), needSessions, &more); err != nil {
			return nil, 0, err
		}
		for i := range more {
			byID[more[i].ID] = &more[i]
		}
	}
	if len(needLogs) > 0 {
		var more []interviewLogDoc
		if err := f.s.findByIDs(ctx, f.s.logs(), needLogs, &more); err != nil {
			return nil, 0, err
		}
		for i := range more {
			logByID[more[i].ID] = &more[i]
		}
	}
	for id, sd := range byID {
		if sd.OrgID != q.OrgID {
			continue
		}
		seq := sd.ChangeSeq
		ld := logByID[id]
		if ld != nil {
			seq = max(seq, ld.ChangeSeq)
		}
		if seq <= q.AfterSeq || seq > complete {
			continue // it changed again later: it comes with that number
		}
		sess, err := fromInterviewSessionDoc(f.s.keys.in(ctx), *sd)
		if err != nil {
			return nil, 0, err
		}
		log := interview.Log{SessionID: id, Open: true} // a session created without one (an interrupted create)
		if ld != nil {
			if log, err = fromInterviewLogDoc(f.s.keys.in(ctx), *ld); err != nil {
				return nil, 0, err
			}
		}
		rec := devicesync.InterviewRecord(sess, log)
		rec.Seq = seq
		recs = append(recs, rec)
	}
	slices.SortFunc(recs, func(a, b devicesync.Record) int { return cmp.Compare(a.Seq, b.Seq) })
	if q.Limit > 0 && len(recs) > q.Limit {
		recs = recs[:q.Limit]
		complete = recs[len(recs)-1].Seq
	}
	return recs, complete, nil
}

// findByIDs reads the documents of coll with the given ids into dst.
func (s *InterviewStore) findByIDs(ctx context.Context, coll *mongo.Collection, ids []string, dst any) error {
	cur, err := s.db.find(ctx, coll, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, nil)
	if err != nil {
		return unavailable("reading interviews: %w", err)
	}
	if err := cur.All(ctx, dst); err != nil {
		return unavailable("reading interviews: %w", err)
	}
	return nil
}
