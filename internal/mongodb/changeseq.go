package mongodb

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// changeCountersCollection holds one counter document per organisation: {_id: org id, seq: last
// change sequence number handed out}.
const changeCountersCollection = "change_counters"

// NextChangeSeq returns the next number of organisation orgID's change sequence (1, 2, 3, ...). Every
// write of a record a device may sync stamps the record with such a number (the document field
// change_seq), so a device can ask for what changed after the last number it saw. Numbers are unique
// and increasing per organisation; a number may be skipped when the write that took it fails. It
// returns an error (503 database_unavailable) when the database fails.
//
// ChangeWatermark does not wait for the write of a number taken here (on one instance): a sync pull
// could pass it before it is written. Writes of synced records should use BeginChange.
func (d *DB) NextChangeSeq(ctx context.Context, orgID string) (int64, error) {
	return d.takeChangeSeqs(ctx, orgID, 1, false)
}

// takeChangeSeqs adds n to orgID's counter and returns the first of the n numbers taken; when track,
// it registers them as in flight, both under the counter's lock.
func (d *DB) takeChangeSeqs(ctx context.Context, orgID string, n int, track bool) (int64, error) {
	var doc struct {
		Seq int64 `bson:"seq"`
	}
	defer d.locks.document(changeCountersCollection, orgID)()
	err := d.db.Collection(changeCountersCollection).FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: orgID}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "seq", Value: int64(n)}}}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After),
	).Decode(&doc)
	if err != nil {
		return 0, unavailable("taking the next change sequence number of %s: %w", orgID, err)
	}
	first := doc.Seq - int64(n) + 1
	if track {
		for seq := first; seq <= doc.Seq; seq++ {
			d.locks.changes.begin(orgID, seq)
		}
	}
	return first, nil
}

// LastChangeSeq returns the last change sequence number handed out for orgID (0: none yet). It
// returns an error (503 database_unavailable) when the database fails.
func (d *DB) LastChangeSeq(ctx context.Context, orgID string) (int64, error) {
	var doc struct {
		Seq int64 `bson:"seq"`
	}
	err := d.db.Collection(changeCountersCollection).FindOne(ctx, bson.D{{Key: "_id", Value: orgID}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable("reading the change sequence of %s: %w", orgID, err)
	}
	return doc.Seq, nil
}

// DefaultChangeSettle is longer than a request may run: how long a number of BeginChange whose
// done was never called holds back ChangeWatermark, and, with several instances, how far the
// watermark lags every number.
const DefaultChangeSettle = 30 * time.Second

// changeTracker keeps, per organisation, the change sequence numbers this process took and whose
// write has not ended yet. A number is taken before its record is written, so a reader that saw
// number n written cannot conclude that every number below n is written too: ChangeWatermark
// stops below the lowest number still in flight. Numbers from BeginChange leave when their done
// function is called (or, should it never be, after the settle time); numbers from NextChangeSeq,
// whose callers never say when they are done, are not tracked.
//
// With several instances (SetChangeSettle with shared), numbers other processes took are not known
// here; the watermark then also stays at or below the last number this process saw handed out at
// least the settle time ago: every number up to it was taken that long ago, and its write has ended.
type changeTracker struct {
	mu       sync.Mutex
	settle   time.Duration
	shared   bool                           // other processes write too
	now      func() time.Time               // the clock (time.Now)
	inflight map[string]map[int64]time.Time // org -> number -> when it was taken
	seen     map[string][]seenSeq           // org -> the last number handed out, as seen over time (shared only)
}

// seenSeq is the organisation's last number handed out as read at a time.
type seenSeq struct {
	at   time.Time
	last int64
}

func newChangeTracker() *changeTracker {
	return &changeTracker{settle: DefaultChangeSettle, now: time.Now, inflight: map[string]map[int64]time.Time{}, seen: map[string][]seenSeq{}}
}

// settled records that last was the last number of org handed out now, and returns the highest
// number seen at least the settle time ago (0 when none was).
func (t *changeTracker) settled(org string, last int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	cutoff := now.Add(-t.settle)
	obs := append(t.seen[org], seenSeq{at: now, last: last})
	var w int64
	keep := 0
	for i, o := range obs {
		if !o.at.After(cutoff) {
			w, keep = o.last, i // the newest settled observation; older ones are no longer needed
		}
	}
	obs = obs[keep:]
	if len(obs) > 256 { // many pulls within the settle time: keep the oldest and a spread of the rest
		obs = append(obs[:1], obs[len(obs)-255:]...)
	}
	t.seen[org] = obs
	return w
}

func (t *changeTracker) begin(org string, seq int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.inflight[org]
	if m == nil {
		m = map[int64]time.Time{}
		t.inflight[org] = m
	}
	m[seq] = t.now()
}

func (t *changeTracker) done(org string, seq int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.inflight[org], seq)
	if len(t.inflight[org]) == 0 {
		delete(t.inflight, org)
	}
}

// lowest returns the lowest number of org still in flight (0: none), dropping numbers older than
// the settle time.
func (t *changeTracker) lowest(org string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var low int64
	expired := t.now().Add(-t.settle)
	for seq, at := range t.inflight[org] {
		if at.Before(expired) {
			delete(t.inflight[org], seq)
			continue
		}
		if low == 0 || seq < low {
			low = seq
		}
	}
	return low
}

// SetChangeSettle sets the settle time (DefaultChangeSettle until set; it should exceed
// REQUEST_TIMEOUT), and whether other processes write to the database too (several instances):
// then the watermark also lags every number by the settle time (see changeTracker). It returns no
// error.
func (d *DB) SetChangeSettle(settle time.Duration, shared bool) {
	d.locks.changes.mu.Lock()
	defer d.locks.changes.mu.Unlock()
	d.locks.changes.settle, d.locks.changes.shared = settle, shared
}

// SetChangeClock replaces the clock of the change watermark (tests). It returns no error.
func (d *DB) SetChangeClock(now func() time.Time) {
	d.locks.changes.mu.Lock()
	defer d.locks.changes.mu.Unlock()
	d.locks.changes.now = now
}

// BeginChange takes the next number of orgID's change sequence, as NextChangeSeq does, for a write
// that calls done when it has ended (written or failed; call it in a defer): until then
// ChangeWatermark stays below the number. It returns an error (503 database_unavailable) when the
// database fails; done is then a no-op.
func (d *DB) BeginChange(ctx context.Context, orgID string) (seq int64, done func(), err error) {
	return d.BeginChanges(ctx, orgID, 1)
}

// BeginChanges is BeginChange for a write of n records at once (a group commit): it takes n
// consecutive numbers of orgID's change sequence and returns the first; done ends all of them (call
// it in a defer once the whole write has ended). n < 1 is taken as 1. It returns an error (503
// database_unavailable) when the database fails; done is then a no-op.
func (d *DB) BeginChanges(ctx context.Context, orgID string, n int) (first int64, done func(), err error) {
	n = max(n, 1)
	first, err = d.takeChangeSeqs(ctx, orgID, n, true)
	if err != nil {
		return 0, func() {}, err
	}
	var once sync.Once
	return first, func() {
		once.Do(func() {
			for seq := first; seq < first+int64(n); seq++ {
				d.locks.changes.done(orgID, seq)
			}
		})
	}, nil
}

// ChangeWatermark returns the highest number w of orgID's change sequence such that every write
// that took a number up to w in this process has ended: a record stamped with a number at or
// below w that is not in the database now never will be (its write failed). It returns an error
// (503 database_unavailable) when the database fails.
//
// Within one process this is exact for writes that use BeginChange; numbers taken with
// NextChangeSeq are not waited for. Numbers taken by other processes are not seen here:
// with several instances (SetChangeSettle shared), the watermark also stays at or below the last
// number handed out the settle time ago, as this process saw it.
func (d *DB) ChangeWatermark(ctx context.Context, orgID string) (int64, error) {
	// Under the counter's lock no number of this process is between taken and registered.
	unlock := d.locks.document(changeCountersCollection, orgID)
	last, err := d.LastChangeSeq(ctx, orgID)
	low := d.locks.changes.lowest(orgID)
	unlock()
	if err != nil {
		return 0, err
	}
	w := last
	if low > 0 && low-1 < w {
		w = low - 1
	}
	t := d.locks.changes
	t.mu.Lock()
	shared := t.shared
	t.mu.Unlock()
	if shared {
		w = min(w, t.settled(orgID, last))
	}
	return w, nil
}
