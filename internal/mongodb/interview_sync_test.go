package mongodb_test

import (
	"context"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// The interview feed shows each session with its log at the higher change number of the two
// documents, and pages of any size (cut as the sync engine cuts them) miss and repeat nothing.
func TestInterviewFeedPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, store := newInterviewStore(t)
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	org := "org-feed"
	var sessions []interview.Session
	for i := range 6 {
		caseID := "case-a"
		if i >= 3 {
			caseID = "case-b"
		}
		s := testSession(org, caseID, now.Add(time.Duration(i)*time.Minute))
		if err := store.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s)
	}
	prompt := func(id string) interview.Entries {
		return interview.Entries{Prompts: []interview.Prompt{{ClientID: id, Type: interview.PromptInvitation, Words: "Tell me", RecordedAt: now, ReceivedAt: now, ByUserID: "u1"}}}
	}
	for _, i := range []int{0, 3} { // their logs move above the later sessions
		if _, err := store.AppendLog(ctx, sessions[i].ID, prompt("p-1")); err != nil {
			t.Fatal(err)
		}
	}
	updated := sessions[1]
	updated.Version, updated.UpdatedAt = 2, now.Add(time.Hour)
	if err := store.UpdateSession(ctx, updated); err != nil {
		t.Fatal(err)
	}
	upTo, err := db.LastChangeSeq(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	feed := store.SessionFeed()
	all, err := feed.Changes(ctx, devicesync.Query{OrgID: org, UpToSeq: upTo})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("%d records, want 6", len(all))
	}
	want := map[string]int64{}
	for i, r := range all {
		if i > 0 && r.Seq <= all[i-1].Seq {
			t.Errorf("records out of order: %d after %d", r.Seq, all[i-1].Seq)
		}
		want[r.ID] = r.Seq
		x := r.Data.(devicesync.InterviewSession)
		if (r.ID == sessions[0].ID || r.ID == sessions[3].ID) != (len(x.Log.Prompts) == 1) || x.Session.Plan.Place != "Room Marigold-4417" {
			t.Errorf("session %s comes with %d prompts, place %q", r.ID, len(x.Log.Prompts), x.Session.Plan.Place)
		}
	}
	if all[len(all)-1].ID != sessions[1].ID || all[len(all)-2].ID != sessions[3].ID || all[len(all)-3].ID != sessions[0].ID {
		t.Errorf("the changed sessions do not come last, at their latest numbers: %v", ids(all))
	}

	for _, limit := range []int{1, 2, 3, 4} {
		seen := map[string]int64{}
		for after := int64(0); after < upTo; {
			recs, err := feed.Changes(ctx, devicesync.Query{OrgID: org, AfterSeq: after, UpToSeq: upTo, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) > limit {
				t.Fatalf("limit %d: %d records", limit, len(recs))
			}
			for _, r := range recs {
				if _, dup := seen[r.ID]; dup {
					t.Errorf("limit %d: %s twice", limit, r.ID)
				}
				seen[r.ID] = r.Seq
			}
			if len(recs) < limit {
				break
			}
			after = recs[len(recs)-1].Seq
		}
		if len(seen) != len(want) {
			t.Errorf("limit %d: %d sessions, want %d", limit, len(seen), len(want))
		}
		for id, seq := range want {
			if seen[id] != seq {
				t.Errorf("limit %d: session %s at %d, want %d", limit, id, seen[id], seq)
			}
		}
	}

	tests := []struct {
		name  string
		q     devicesync.Query
		count int
	}{
		{"one case", devicesync.Query{OrgID: org, UpToSeq: upTo, CaseIDs: []string{"case-a"}}, 3},
		{"no case", devicesync.Query{OrgID: org, UpToSeq: upTo, CaseIDs: []string{}}, 0},
		{"before the later changes", devicesync.Query{OrgID: org, UpToSeq: want[sessions[0].ID] - 1}, 3}, // sessions 0, 1 and 3 come later
		{"another organisation", devicesync.Query{OrgID: "org-none", UpToSeq: upTo}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := feed.Changes(ctx, tt.q)
			if err != nil || len(recs) != tt.count {
				t.Fatalf("%d records, %v; want %d", len(recs), err, tt.count)
			}
			for _, r := range recs {
				if r.Seq > tt.q.UpToSeq {
					t.Errorf("%s at %d, beyond %d", r.ID, r.Seq, tt.q.UpToSeq)
				}
			}
		})
	}
}

func ids(recs []devicesync.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}
