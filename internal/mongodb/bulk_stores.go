package mongodb

import (
	"context"
	"slices"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// BulkInterviews is the interview.Store of a Bulk: it stages new sessions of staged cases and their
// logs.
type BulkInterviews struct {
	*InterviewStore
	b *Bulk
}

// stagedSession returns staged session id; the caller holds b.mu.
func (b *Bulk) stagedSession(id string) *bulkSession {
	if bc := b.staged(id); bc != nil {
		for _, s := range bc.sessions {
			if s.s.ID == id {
				return s
			}
		}
	}
	return nil
}

// CreateSession stages a new session of a staged case with its empty, open log (or stores it, see
// InterviewStore.CreateSession). It returns interview.ErrExists when a staged session has its id.
func (s *BulkInterviews) CreateSession(ctx context.Context, sess interview.Session) error {
	return s.b.stageChild(sess.CaseID, sess.ID, interview.ErrExists, func() error { return s.InterviewStore.CreateSession(ctx, sess) },
		func(bc *bulkCase) {
			bc.sessions = append(bc.sessions, &bulkSession{s: sess.Clone(), log: interview.Log{SessionID: sess.ID, Open: true}, updated: sess.CreatedAt})
		})
}

// Session returns a staged session, or the stored one (see InterviewStore.Session).
func (s *BulkInterviews) Session(ctx context.Context, id string) (interview.Session, error) {
	s.b.mu.Lock()
	bs := s.b.stagedSession(id)
	if bs == nil {
		s.b.mu.Unlock()
		return s.InterviewStore.Session(ctx, id)
	}
	defer s.b.mu.Unlock()
	return bs.s.Clone(), nil
}

// UpdateSession replaces a staged session when its version is sess.Version-1 (interview.ErrStale
// otherwise), or updates the stored one (see InterviewStore.UpdateSession).
func (s *BulkInterviews) UpdateSession(ctx context.Context, sess interview.Session) error {
	s.b.mu.Lock()
	bs := s.b.stagedSession(sess.ID)
	if bs == nil {
		s.b.mu.Unlock()
		return s.InterviewStore.UpdateSession(ctx, sess)
	}
	defer s.b.mu.Unlock()
	if bs.s.Version != sess.Version-1 {
		return interview.ErrStale
	}
	bs.s = sess.Clone()
	return nil
}

// CaseSessions returns the sessions of a staged case by creation time then id, or the stored ones
// (see InterviewStore.CaseSessions).
func (s *BulkInterviews) CaseSessions(ctx context.Context, caseID string) ([]interview.Session, error) {
	s.b.mu.Lock()
	bc := s.b.cases[caseID]
	if bc == nil {
		s.b.mu.Unlock()
		return s.InterviewStore.CaseSessions(ctx, caseID)
	}
	defer s.b.mu.Unlock()
	out := make([]interview.Session, 0, len(bc.sessions))
	for _, x := range bc.sessions {
		out = append(out, x.s.Clone())
	}
	slices.SortStableFunc(out, func(a, b interview.Session) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	return out, nil
}

// Log returns the log of a staged session, or the stored one (see InterviewStore.Log).
func (s *BulkInterviews) Log(ctx context.Context, sessionID string) (interview.Log, error) {
	s.b.mu.Lock()
	bs := s.b.stagedSession(sessionID)
	if bs == nil {
		s.b.mu.Unlock()
		return s.InterviewStore.Log(ctx, sessionID)
	}
	defer s.b.mu.Unlock()
	return cloneLog(bs.log), nil
}

// AppendLog appends to a staged log the entries whose client ids it does not hold yet, as
// InterviewStore.AppendLog does to a stored one (which it does for a log not staged). It returns
// interview.ErrLogClosed or interview.ErrLogFull as that does.
func (s *BulkInterviews) AppendLog(ctx context.Context, sessionID string, e interview.Entries) (int, error) {
	s.b.mu.Lock()
	bs := s.b.stagedSession(sessionID)
	if bs == nil {
		s.b.mu.Unlock()
		return s.InterviewStore.AppendLog(ctx, sessionID, e)
	}
	defer s.b.mu.Unlock()
	if !bs.log.Open {
		return 0, interview.ErrLogClosed
	}
	held := map[string]bool{}
	l := &bs.log.Entries
	for _, p := range l.Prompts {
		held[p.ClientID] = true
	}
	for _, b := range l.Breaks {
		held[b.ClientID] = true
	}
	for _, c := range l.Checks {
		held[c.ClientID] = true
	}
	for _, m := range l.Marks {
		held[m.ClientID] = true
	}
	fresh := e.Without(held)
	if fresh.Len() == 0 {
		return 0, nil
	}
	if len(held)+fresh.Len() > interview.MaxLogEntries {
		return 0, interview.ErrLogFull
	}
	l.Prompts = append(l.Prompts, fresh.Prompts...)
	l.Breaks = append(l.Breaks, fresh.Breaks...)
	l.Checks = append(l.Checks, fresh.Checks...)
	l.Marks = append(l.Marks, fresh.Marks...)
	bs.seq++
	bs.updated = latestReceived(fresh)
	return fresh.Len(), nil
}

// SetLogOpen opens or closes a staged log at time at, as InterviewStore.SetLogOpen does a stored one
// (which it does for a log not staged).
func (s *BulkInterviews) SetLogOpen(ctx context.Context, sessionID string, open bool, at time.Time) error {
	s.b.mu.Lock()
	bs := s.b.stagedSession(sessionID)
	if bs == nil {
		s.b.mu.Unlock()
		return s.InterviewStore.SetLogOpen(ctx, sessionID, open, at)
	}
	defer s.b.mu.Unlock()
	if bs.log.Open == open {
		return nil
	}
	at = at.UTC().Truncate(time.Millisecond)
	bs.log.Open, bs.seq, bs.updated = open, bs.seq+1, at
	if !open {
		bs.log.ClosedAt = at
	}
	return nil
}

func cloneLog(l interview.Log) interview.Log {
	l.Prompts, l.Breaks = slices.Clone(l.Prompts), slices.Clone(l.Breaks)
	l.Checks, l.Marks = slices.Clone(l.Checks), slices.Clone(l.Marks)
	return l
}

// BulkEvidence is the evidence.Store of a Bulk: it stages new items of staged cases and their
// custody events.
type BulkEvidence struct {
	*EvidenceStore
	b *Bulk
}

// stagedItem returns staged item id; the caller holds b.mu.
func (b *Bulk) stagedItem(id string) *bulkItem {
	if bc := b.staged(id); bc != nil {
		for _, it := range bc.items {
			if it.it.ID == id {
				return it
			}
		}
	}
	return nil
}

// CreateItem stages a new item of a staged case (or stores it, see EvidenceStore.CreateItem). It
// returns evidence.ErrExists when a staged item has its id.
func (s *BulkEvidence) CreateItem(ctx context.Context, it evidence.Item) error {
	return s.b.stageChild(it.CaseID, it.ID, evidence.ErrExists, func() error { return s.EvidenceStore.CreateItem(ctx, it) },
		func(bc *bulkCase) {
			it.Hashes = slices.Clone(it.Hashes)
			bc.items = append(bc.items, &bulkItem{it: it})
		})
}

// Item returns a staged item, or the stored one (see EvidenceStore.Item).
func (s *BulkEvidence) Item(ctx context.Context, id string) (evidence.Item, error) {
	s.b.mu.Lock()
	bi := s.b.stagedItem(id)
	if bi == nil {
		s.b.mu.Unlock()
		return s.EvidenceStore.Item(ctx, id)
	}
	defer s.b.mu.Unlock()
	it := bi.it
	it.Hashes = slices.Clone(it.Hashes)
	return it, nil
}

// ListItems returns the items of a staged case after the key after, by creation time then id (at
// most limit, or all when limit is below 1), or the stored ones (see EvidenceStore.ListItems).
func (s *BulkEvidence) ListItems(ctx context.Context, caseID string, after evidence.ItemKey, limit int) ([]evidence.Item, error) {
	s.b.mu.Lock()
	bc := s.b.cases[caseID]
	if bc == nil {
		s.b.mu.Unlock()
		return s.EvidenceStore.ListItems(ctx, caseID, after, limit)
	}
	defer s.b.mu.Unlock()
	var out []evidence.Item
	for _, bi := range bc.items {
		it := bi.it
		if after != (evidence.ItemKey{}) && !(it.CreatedAt.After(after.CreatedAt) || it.CreatedAt.Equal(after.CreatedAt) && it.ID > after.ID) {
			continue
		}
		it.Hashes = slices.Clone(it.Hashes)
		out = append(out, it)
	}
	slices.SortStableFunc(out, func(a, b evidence.Item) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// InsertEvents appends events to a staged item's chain, stopping at the first whose Seq is taken (a
// *evidence.SeqTakenError), as EvidenceStore.InsertEvents does for a stored item (which it does for
// one not staged).
func (s *BulkEvidence) InsertEvents(ctx context.Context, events []evidence.Event) error {
	if len(events) == 0 {
		return nil
	}
	s.b.mu.Lock()
	bi := s.b.stagedItem(events[0].ItemID)
	if bi == nil {
		s.b.mu.Unlock()
		return s.EvidenceStore.InsertEvents(ctx, events)
	}
	defer s.b.mu.Unlock()
	for i, e := range events {
		if e.Seq <= int64(len(bi.events)) {
			return &evidence.SeqTakenError{Written: i, Seq: e.Seq}
		}
		bi.events = append(bi.events, e)
	}
	return nil
}

// SetHead records a staged item's new head and state unless its head is at or past head.Seq (or
// the stored item's, see EvidenceStore.SetHead).
func (s *BulkEvidence) SetHead(ctx context.Context, it evidence.Item, head evidence.Head, st evidence.State) error {
	s.b.mu.Lock()
	bi := s.b.stagedItem(it.ID)
	if bi == nil {
		s.b.mu.Unlock()
		return s.EvidenceStore.SetHead(ctx, it, head, st)
	}
	defer s.b.mu.Unlock()
	if bi.it.Head.Seq >= head.Seq {
		return nil
	}
	bi.it.Head, bi.it.State, bi.it.UpdatedAt = head, st, time.Now().UTC().Truncate(time.Millisecond)
	return nil
}

// Event returns event seq of a staged item, or of a stored one (see EvidenceStore.Event).
func (s *BulkEvidence) Event(ctx context.Context, itemID string, seq int64) (evidence.Event, bool, error) {
	s.b.mu.Lock()
	bi := s.b.stagedItem(itemID)
	if bi == nil {
		s.b.mu.Unlock()
		return s.EvidenceStore.Event(ctx, itemID, seq)
	}
	defer s.b.mu.Unlock()
	if seq < 1 || seq > int64(len(bi.events)) {
		return evidence.Event{}, false, nil
	}
	return bi.events[seq-1], true, nil
}

// EventIDs returns the client id and Seq of every event of a staged item, or of a stored one (see
// EvidenceStore.EventIDs).
func (s *BulkEvidence) EventIDs(ctx context.Context, itemID string) (map[string]int64, error) {
	s.b.mu.Lock()
	bi := s.b.stagedItem(itemID)
	if bi == nil {
		s.b.mu.Unlock()
		return s.EvidenceStore.EventIDs(ctx, itemID)
	}
	defer s.b.mu.Unlock()
	out := make(map[string]int64, len(bi.events))
	for _, e := range bi.events {
		out[e.ID] = e.Seq
	}
	return out, nil
}

// Events returns up to limit events (all when limit is below 1) of a staged item with Seq > after,
// ascending, or a stored item's (see EvidenceStore.Events).
func (s *BulkEvidence) Events(ctx context.Context, itemID string, after int64, limit int) ([]evidence.Event, error) {
	s.b.mu.Lock()
	bi := s.b.stagedItem(itemID)
	if bi == nil {
		s.b.mu.Unlock()
		return s.EvidenceStore.Events(ctx, itemID, after, limit)
	}
	defer s.b.mu.Unlock()
	var out []evidence.Event
	for _, e := range bi.events {
		if e.Seq > after && (limit < 1 || len(out) < limit) {
			out = append(out, e)
		}
	}
	return out, nil
}

// ScanEvents calls fn with every event of a staged item in ascending Seq order, or a stored item's
// (see EvidenceStore.ScanEvents). It returns fn's first error.
func (s *BulkEvidence) ScanEvents(ctx context.Context, itemID string, fn func(evidence.Event) error) error {
	s.b.mu.Lock()
	bi := s.b.stagedItem(itemID)
	if bi == nil {
		s.b.mu.Unlock()
		return s.EvidenceStore.ScanEvents(ctx, itemID, fn)
	}
	events := slices.Clone(bi.events)
	s.b.mu.Unlock()
	for _, e := range events {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}
