package mongodb_test

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
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

// eventLog is an in-memory audit.Recorder; setFail makes it refuse.
type eventLog struct {
	mu     sync.Mutex
	events []audit.Event
	fail   bool
}

// RecordEvent implements audit.Recorder.
func (r *eventLog) RecordEvent(_ context.Context, e audit.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("audit log unavailable")
	}
	r.events = append(r.events, e)
	return nil
}

func (r *eventLog) setFail(fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = fail
}

// all returns a copy of the recorded events, oldest first.
func (r *eventLog) all() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]audit.Event(nil), r.events...)
}
