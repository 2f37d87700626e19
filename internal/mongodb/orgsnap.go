package mongodb

import (
	"context"
	"sync"
	"time"
)

const (
	// snapshotMaxOrgs is how many organisations' snapshots an orgSnapshots holds; the least recently
	// used leaves first.
	snapshotMaxOrgs = 64
	// snapshotFullEvery is how old a snapshot's last full read may be before it is read in full again
	// (a bound on what a missed change could cost; none should be missed).
	snapshotFullEvery = 10 * time.Minute
)

// orgSnapshots keeps, per organisation, a snapshot in memory of some of its documents (a T), kept
// exact by the organisation's change sequence: the supervisors' open work (openWork) and what
// coaching reports count (coachingSessions) use it.
//
// Every write of a document the snapshot follows stamps it with a number of the organisation's change
// sequence (change_seq). A snapshot holds a watermark: ChangeWatermark as it was before the snapshot
// was last brought up to date. Every write that took a number up to the watermark had ended by then,
// so its effect is in the snapshot; every write that ended later carries a higher number and leaves
// its document with one (a document's number is its last write's). Bringing the snapshot up to date
// therefore takes a new watermark first, then reads the documents whose change_seq is above the old
// one (with no upper bound: a write that ended is shown at once, even while a lower number is still
// being written) and applies them; the new watermark becomes the snapshot's. With several instances
// ChangeWatermark also lags by the settle time (numbers other processes take are not seen in
// flight), so each use rereads the changes of the last settle time: more documents, the same answer.
// A snapshot is read in full the first time, every snapshotFullEvery, after a failed update and when
// the watermark went down (a restored database).
type orgSnapshots[T any] struct {
	mu   sync.Mutex
	orgs map[string]*orgSnapshot[T]
	now  func() time.Time
	tick int64 // the number of the last use (least recently used leaves first)
}

// orgSnapshot is one organisation's snapshot; mu serialises its reads and updates.
type orgSnapshot[T any] struct {
	mu     sync.Mutex
	used   int64 // guarded by orgSnapshots.mu
	loaded bool  // false until a full read succeeded, and again after any failed update
	mark   int64 // every write with a number up to it is reflected
	fullAt time.Time
	state  T
}

func newOrgSnapshots[T any]() *orgSnapshots[T] {
	return &orgSnapshots[T]{orgs: map[string]*orgSnapshot[T]{}, now: time.Now}
}

// use brings orgID's snapshot up to date and hands it to read, all under the snapshot's lock. update
// does the reading: with full, it replaces the whole state; otherwise it applies the documents whose
// change number is above since. It returns ChangeWatermark's or update's error (the snapshot is then
// read in full next time).
func (c *orgSnapshots[T]) use(ctx context.Context, d *DB, orgID string, update func(st *T, full bool, since int64) error, read func(st *T)) error {
	sn, now := c.snap(orgID)
	sn.mu.Lock()
	defer sn.mu.Unlock()
	w, err := d.ChangeWatermark(ctx, orgID)
	if err != nil {
		return err
	}
	full := !sn.loaded || w < sn.mark || now.Sub(sn.fullAt) >= snapshotFullEvery
	if full {
		sn.fullAt = now
	}
	err = update(&sn.state, full, sn.mark)
	sn.loaded = err == nil
	if err != nil {
		return err
	}
	sn.mark = w
	read(&sn.state)
	return nil
}

// snap returns orgID's snapshot, making an empty one (and dropping the least recently used when
// there are too many), and the time now.
func (c *orgSnapshots[T]) snap(orgID string) (*orgSnapshot[T], time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	s := c.orgs[orgID]
	if s == nil {
		if len(c.orgs) >= snapshotMaxOrgs {
			oldest := ""
			for id, o := range c.orgs {
				if oldest == "" || o.used < c.orgs[oldest].used {
					oldest = id
				}
			}
			delete(c.orgs, oldest)
		}
		s = &orgSnapshot[T]{}
		c.orgs[orgID] = s
	}
	s.used = c.tick
	return s, c.now()
}

// cachedOrgs returns how many organisations' snapshots are held.
func (c *orgSnapshots[T]) cachedOrgs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.orgs)
}

// setClock sets the clock that decides when a snapshot is read in full again (tests).
func (c *orgSnapshots[T]) setClock(now func() time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}
