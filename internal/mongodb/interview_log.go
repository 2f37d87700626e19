package mongodb

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// The interview logs: read, appended to (idempotent by each entry's client id), opened and closed.

// Log returns the log of a session: interview.ErrNotFound when there is none, an error when a field
// cannot be decrypted, or the driver's error.
func (s *InterviewStore) Log(ctx context.Context, sessionID string) (interview.Log, error) {
	d, err := s.readLog(ctx, sessionID)
	if err != nil {
		return interview.Log{}, err
	}
	return fromInterviewLogDoc(s.keys.in(ctx), d)
}

func (s *InterviewStore) readLog(ctx context.Context, id string) (interviewLogDoc, error) {
	var d interviewLogDoc
	err := s.db.findByID(ctx, s.logs(), id, &d, interview.ErrNotFound, "the log of interview "+id)
	return d, err
}

// AppendLog appends the entries whose client ids the log does not hold yet, with one update
// conditional on the log's append counter (seq), and returns how many it appended. Another writer
// that appended meanwhile makes it read and try again. It returns interview.ErrLogClosed when the log
// is closed, interview.ErrLogFull when the log would hold more than interview.MaxLogEntries,
// interview.ErrNotFound when there is no log, an error when a field cannot be encrypted, or the
// driver's error.
func (s *InterviewStore) AppendLog(ctx context.Context, sessionID string, e interview.Entries) (int, error) {
	for attempt := 0; attempt < 5; attempt++ {
		n, done, err := s.appendOnce(ctx, sessionID, e)
		if done || err != nil {
			return n, err
		}
	}
	return 0, unavailable("appending to the log of interview %s: too many concurrent writers", sessionID)
}

func (s *InterviewStore) appendOnce(ctx context.Context, sessionID string, e interview.Entries) (int, bool, error) {
	defer s.db.locks.document(interviewLogsCollection, sessionID)()
	cur, err := s.readLog(ctx, sessionID)
	if err != nil {
		return 0, true, err
	}
	if !cur.Open {
		return 0, true, interview.ErrLogClosed
	}
	held := map[string]bool{}
	for _, p := range cur.Prompts {
		held[p.ClientID] = true
	}
	for _, b := range cur.Breaks {
		held[b.ClientID] = true
	}
	for _, c := range cur.Checks {
		held[c.ClientID] = true
	}
	for _, m := range cur.Marks {
		held[m.ClientID] = true
	}
	fresh := e.Without(held)
	if fresh.Len() == 0 {
		return 0, true, nil
	}
	if len(held)+fresh.Len() > interview.MaxLogEntries {
		return 0, true, interview.ErrLogFull
	}
	docs, err := toInterviewEntryDocs(s.keys.in(ctx), cur.CaseID, sessionID, fresh)
	if err != nil {
		return 0, true, err
	}
	seq, done, err := s.db.BeginChange(ctx, cur.OrgID)
	if err != nil {
		return 0, true, err
	}
	defer done()
	updated := latestReceived(fresh)
	push := bson.D{}
	for _, kind := range []struct {
		field string
		items any
		n     int
	}{{"prompts", docs.Prompts, len(docs.Prompts)}, {"breaks", docs.Breaks, len(docs.Breaks)},
		{"wellbeing_checks", docs.Checks, len(docs.Checks)}, {"checklist", docs.Marks, len(docs.Marks)}} {
		if kind.n > 0 {
			push = append(push, bson.E{Key: kind.field, Value: bson.D{{Key: "$each", Value: kind.items}}})
		}
	}
	res, err := s.db.updateByID(ctx, s.logs(), sessionID, bson.D{{Key: "seq", Value: cur.Seq}, {Key: "open", Value: true}},
		bson.D{{Key: "$push", Value: push}, {Key: "$set", Value: bson.D{{Key: "seq", Value: cur.Seq + 1},
			{Key: "updated_at", Value: updated}, {Key: "change_seq", Value: seq}}}})
	if err != nil {
		return 0, true, unavailable("appending to the log of interview %s: %w", sessionID, err)
	}
	if res.MatchedCount == 0 {
		return 0, false, nil // another instance appended or closed it meanwhile
	}
	return fresh.Len(), true, nil
}

// latestReceived returns the latest server receipt time among the entries.
func latestReceived(e interview.Entries) time.Time {
	var t time.Time
	for _, x := range e.Prompts {
		t = later(t, x.ReceivedAt)
	}
	for _, x := range e.Breaks {
		t = later(t, x.ReceivedAt)
	}
	for _, x := range e.Checks {
		t = later(t, x.ReceivedAt)
	}
	for _, x := range e.Marks {
		t = later(t, x.ReceivedAt)
	}
	if t.IsZero() {
		t = time.Now().UTC().Truncate(time.Millisecond)
	}
	return t
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// SetLogOpen opens or closes the log of a session, stamping the next change sequence number and at as
// updated_at (and, when closing, as closed_at). It returns interview.ErrNotFound when there is no log, or the driver's
// error.
func (s *InterviewStore) SetLogOpen(ctx context.Context, sessionID string, open bool, at time.Time) error {
	defer s.db.locks.document(interviewLogsCollection, sessionID)()
	cur, err := s.readLog(ctx, sessionID)
	if err != nil {
		return err
	}
	if cur.Open == open {
		return nil
	}
	seq, done, err := s.db.BeginChange(ctx, cur.OrgID)
	if err != nil {
		return err
	}
	defer done()
	at = at.UTC().Truncate(time.Millisecond)
	set := bson.D{{Key: "open", Value: open}, {Key: "seq", Value: cur.Seq + 1}, {Key: "updated_at", Value: at}, {Key: "change_seq", Value: seq}}
	if !open {
		set = append(set, bson.E{Key: "closed_at", Value: at})
	}
	_, err = s.logs().UpdateOne(ctx, bson.D{{Key: "_id", Value: sessionID}}, bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return unavailable("changing the log of interview %s: %w", sessionID, err)
	}
	return nil
}
