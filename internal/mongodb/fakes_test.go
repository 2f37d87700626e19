package mongodb_test

import (
	"errors"
	"sync"
	"time"
)

// testClock is the injected clock of a service test.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// eventLog is an in-memory audit recorder of events of type E; setFail makes it refuse.
type eventLog[E any] struct {
	mu     sync.Mutex
	events []E
	fail   bool
}

func (r *eventLog[E]) add(e E) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("audit log unavailable")
	}
	r.events = append(r.events, e)
	return nil
}

func (r *eventLog[E]) setFail(fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = fail
}

// all returns a copy of the recorded events, oldest first.
func (r *eventLog[E]) all() []E {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]E(nil), r.events...)
}
