package mongodb_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
)

// runConcurrently runs f n times at once and waits for all of them.
func runConcurrently(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}

// FerretDB runs updates as read, change, write without isolation; these tests fail without the
// store's write locks.
func TestConcurrentConditionalWrites(t *testing.T) {
	t.Parallel()
	const writers = 12

	t.Run("one of several updates of the same version wins", func(t *testing.T) {
		t.Parallel()
		f := newCaseworkFixture(t)
		c := f.create(cwAlice, newCase())
		var won, stale atomic.Int64
		runConcurrently(writers, func(int) {
			next := c
			next.Version++
			switch err := f.store.UpdateCase(f.ctx, next); err {
			case nil:
				won.Add(1)
			case casework.ErrStale:
				stale.Add(1)
			default:
				t.Error(err)
			}
		})
		if won.Load() != 1 || stale.Load() != writers-1 {
			t.Fatalf("%d updates won and %d were stale; want 1 and %d", won.Load(), stale.Load(), writers-1)
		}
	})

	t.Run("concurrent step records are all kept", func(t *testing.T) {
		t.Parallel()
		f := newCaseworkFixture(t)
		c := f.create(cwAlice, newCase())
		r := f.startRun(cwAlice, c.ID)
		runConcurrently(writers, func(int) {
			rec := casework.StepRecord{ClientID: uuid.NewString(), StepID: "s1", Status: casework.StepDone,
				RecordedAt: caseworkStart, ReceivedAt: caseworkStart, ByUserID: cwAlice.UserID}
			if ok, err := f.store.AppendStepRecord(f.ctx, r.ID, rec); err != nil || !ok {
				t.Errorf("append: %v, %v", ok, err)
			}
		})
		got, err := f.store.Run(f.ctx, r.ID)
		if err != nil || len(got.Records) != writers {
			t.Fatalf("run holds %d records (%v); want %d", len(got.Records), err, writers)
		}
	})

	t.Run("sign-in failures are all counted", func(t *testing.T) {
		t.Parallel()
		store := dbtest.Open(t).Identity()
		runConcurrently(writers, func(int) {
			if _, err := store.Failure(t.Context(), "user:someone", time.Now()); err != nil {
				t.Error(err)
			}
		})
		n, err := store.Failure(t.Context(), "user:someone", time.Now())
		if err != nil || n != writers+1 {
			t.Fatalf("failure count %d (%v); want %d", n, err, writers+1)
		}
	})
}
