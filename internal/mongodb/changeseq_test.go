package mongodb_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
)

func TestNextChangeSeq(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t)
	ctx := context.Background()

	const writers, each = 8, 5
	var (
		mu   sync.Mutex
		got  []int64
		wg   sync.WaitGroup
		errs = make(chan error, writers*each)
	)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				n, err := db.NextChangeSeq(ctx, "org-a")
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				got = append(got, n)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	slices.Sort(got)
	for i, n := range got {
		if n != int64(i+1) {
			t.Fatalf("sequence %v: want 1..%d without gaps or repeats", got, writers*each)
		}
	}

	tests := []struct {
		org  string
		want int64
	}{{"org-a", writers * each}, {"org-b", 0}}
	for _, tt := range tests {
		t.Run(tt.org, func(t *testing.T) {
			last, err := db.LastChangeSeq(ctx, tt.org)
			if err != nil || last != tt.want {
				t.Fatalf("LastChangeSeq(%s) = %d, %v; want %d", tt.org, last, err, tt.want)
			}
		})
	}
	if n, err := db.NextChangeSeq(ctx, "org-b"); err != nil || n != 1 {
		t.Fatalf("first number of another organisation = %d, %v; want 1", n, err)
	}
}

// BeginChanges takes n consecutive numbers and holds the watermark below the first until done.
func TestBeginChanges(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t)
	ctx := context.Background()
	if _, err := db.NextChangeSeq(ctx, "org-m"); err != nil { // 1
		t.Fatal(err)
	}
	first, done, err := db.BeginChanges(ctx, "org-m", 3) // 2, 3, 4
	if err != nil {
		t.Fatal(err)
	}
	next, doneNext, err := db.BeginChange(ctx, "org-m") // 5
	if err != nil {
		t.Fatal(err)
	}
	doneNext()
	if first != 2 || next != 5 {
		t.Fatalf("BeginChanges took from %d, the next number is %d; want 2 and 5", first, next)
	}
	if w, err := db.ChangeWatermark(ctx, "org-m"); err != nil || w != 1 {
		t.Fatalf("watermark while 2..4 are in flight = %d, %v; want 1", w, err)
	}
	done()
	done() // a second call changes nothing
	if w, err := db.ChangeWatermark(ctx, "org-m"); err != nil || w != 5 {
		t.Fatalf("watermark once done = %d, %v; want 5", w, err)
	}
}
