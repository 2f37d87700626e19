package mongodb_test

import (
	"context"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// A number taken before its write commits holds the watermark below it until the write ends, even
// when later numbers are already written; a number from NextChangeSeq, whose writer never says when
// it is done, holds it for the settle time.
func TestChangeWatermark(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t)
	ctx := context.Background()
	watermark := func(want int64, when string) {
		t.Helper()
		if w, err := db.ChangeWatermark(ctx, "org-w"); err != nil || w != want {
			t.Fatalf("%s: watermark %d, %v; want %d", when, w, err, want)
		}
	}
	watermark(0, "no change yet")
	a, doneA, err := db.BeginChange(ctx, "org-w")
	if err != nil {
		t.Fatal(err)
	}
	b, doneB, err := db.BeginChange(ctx, "org-w")
	if err != nil {
		t.Fatal(err)
	}
	if a != 1 || b != 2 {
		t.Fatalf("numbers %d, %d", a, b)
	}
	watermark(0, "both in flight")
	doneB()
	watermark(0, "the later one written, the earlier still in flight")
	doneA()
	doneA() // twice is harmless
	watermark(2, "both written")
	if w, _ := db.ChangeWatermark(ctx, "org-other"); w != 0 {
		t.Errorf("another organisation's watermark: %d", w)
	}

	n, err := db.NextChangeSeq(ctx, "org-w")
	if err != nil || n != 3 {
		t.Fatalf("NextChangeSeq = %d, %v", n, err)
	}
	watermark(3, "NextChangeSeq is not tracked")
	c, _, err := db.BeginChange(ctx, "org-w") // done never called (a bug): held for the settle time only
	if err != nil || c != 4 {
		t.Fatalf("BeginChange = %d, %v", c, err)
	}
	watermark(3, "a number whose done was never called")
	db.SetChangeSettle(0, false)
	watermark(4, "after the settle time")
}

// With several instances, numbers other processes take are unknown here: the watermark lags every
// number by the settle time.
func TestChangeWatermarkSeveralInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	uri, name := dbtest.URI(t), dbtest.DatabaseName()
	connect := func() *mongodb.DB {
		d, err := mongodb.Connect(ctx, uri, name, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close(context.Background()) })
		return d
	}
	db, other := connect(), connect() // two instances on the same database
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	db.SetChangeClock(func() time.Time { return now })
	db.SetChangeSettle(time.Minute, true)
	watermark := func(want int64, when string) {
		t.Helper()
		if w, err := db.ChangeWatermark(ctx, "org-s"); err != nil || w != want {
			t.Fatalf("%s: watermark %d, %v; want %d", when, w, err, want)
		}
	}
	if _, err := other.NextChangeSeq(ctx, "org-s"); err != nil { // in flight on the other instance
		t.Fatal(err)
	}
	watermark(0, "a number the other instance took just now")
	now = now.Add(30 * time.Second)
	seq, done, err := other.BeginChange(ctx, "org-s")
	if err != nil || seq != 2 {
		t.Fatal(seq, err)
	}
	done()
	watermark(0, "30 s later")
	now = now.Add(31 * time.Second)
	watermark(1, "a minute after number 1 was seen")
	now = now.Add(time.Minute)
	watermark(2, "a minute after number 2 was seen")
}
