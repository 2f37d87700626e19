package mongodb_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// The review queue's store query pages by submission time then id: following the last session of
// each page returns every waiting session of the organisation exactly once, in that order, whatever
// the page size, including sessions submitted in the same millisecond.
func TestReviewQueuePagesInTheStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, store := newInterviewStore(t)
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var want []interview.Session
	for i := range 13 {
		at := base.Add(time.Duration(i/3) * time.Minute) // three at a time share a submission time
		s := testSession("org-q", "case-q", base)
		switch {
		case i%5 == 4:
			s.Status = interview.StatusResubmitted
		case i == 7:
			s.Status = interview.StatusDraft // not waiting
		default:
			s.Status = interview.StatusSubmitted
		}
		if s.Status != interview.StatusDraft {
			s.SubmittedAt = &at
			want = append(want, s)
		}
		if err := store.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	other := testSession("org-other", "case-o", base)
	other.Status, other.SubmittedAt = interview.StatusSubmitted, &base
	if err := store.CreateSession(ctx, other); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, func(a, b interview.Session) int {
		return cmp.Or(a.SubmittedAt.Compare(*b.SubmittedAt), strings.Compare(a.ID, b.ID))
	})
	in := []interview.Status{interview.StatusSubmitted, interview.StatusResubmitted}
	for _, limit := range []int{1, 2, 5, 50} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			t.Parallel()
			var got []string
			q := &interview.QueueCursor{Limit: limit}
			for range 20 {
				page, err := store.OrgSessions(ctx, interview.OrgFilter{OrgID: "org-q", Statuses: in, Queue: q})
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit {
					t.Fatalf("%d sessions for a limit of %d", len(page), limit)
				}
				for _, s := range page {
					got = append(got, s.ID)
				}
				if len(page) < limit {
					break
				}
				last := page[len(page)-1]
				q = &interview.QueueCursor{AfterTime: *last.SubmittedAt, AfterID: last.ID, Limit: limit}
			}
			var ids []string
			for _, s := range want {
				ids = append(ids, s.ID)
			}
			if !slices.Equal(got, ids) {
				t.Fatalf("paged queue\n%v\nwant\n%v", got, ids)
			}
		})
	}
}
