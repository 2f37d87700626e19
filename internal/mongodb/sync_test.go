package mongodb_test

import (
	"context"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
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
	watermark(2, "a number whose writer never reports")
	db.SetChangeSettle(0)
	watermark(3, "after the settle time")
}
