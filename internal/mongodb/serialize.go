package mongodb

import (
	"hash/maphash"
	"sync"
)

// writeLocks serializes this process's read-modify-write commands. FerretDB 1.24.2 (the embedded
// default) runs update and findAndModify as a read, a change in Go and a write, without isolation:
// measured here, 8 concurrent updates conditional on the same version all matched, and 40 concurrent
// $inc of one field left it at 5. MongoDB makes each single-document write atomic on its own, so
// there the locks only cost a little; on the embedded database, which only this process writes, they
// make conditional updates, counters and pushes behave as they do on MongoDB.
//
// A command that changes one document by _id holds its collection's lock shared and that
// document's stripe of the collection; a command that may change several documents holds its
// collection's lock exclusively. Stripes are per collection, so a command holding a document of one
// collection may lock a document of another (as writes do with the change counters, see
// changeseq.go) without ever waiting for itself.
type writeLocks struct {
	seed        maphash.Seed
	mu          sync.Mutex
	collections map[string]*collectionLocks
	changes     *changeTracker // change sequence numbers taken and not yet written (see changeseq.go)
}

// collectionLocks are the locks of one collection.
type collectionLocks struct {
	all     sync.RWMutex
	stripes [64]sync.Mutex
}

func newWriteLocks() *writeLocks {
	return &writeLocks{seed: maphash.MakeSeed(), collections: map[string]*collectionLocks{}, changes: newChangeTracker()}
}

func (l *writeLocks) collection(name string) *collectionLocks {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.collections[name]
	if !ok {
		c = &collectionLocks{}
		l.collections[name] = c
	}
	return c
}

// document locks document id of collection coll and returns the unlock function.
func (l *writeLocks) document(coll, id string) (unlock func()) {
	c := l.collection(coll)
	c.all.RLock()
	s := &c.stripes[maphash.String(l.seed, id)%uint64(len(c.stripes))]
	s.Lock()
	return func() {
		s.Unlock()
		c.all.RUnlock()
	}
}

// all locks every document of collection coll and returns the unlock function.
func (l *writeLocks) all(coll string) (unlock func()) {
	c := l.collection(coll)
	c.all.Lock()
	return c.all.Unlock
}
