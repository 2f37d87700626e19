package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// maxPage is the documented maximum of every list's limit.
const maxPage = 200

// Every paged list pages past its maximum page size: asked for limit=200 with more than 200 entries,
// its first page holds 200 and a next_cursor, and following the cursors brings every entry once. A
// server of its own keeps the collections small, so its writes are quick on the embedded database.
// (Users, drafts and the review queue page with the same code shape as cases and evidence items: one
// more than the capped limit read to see whether a next page exists.)
func TestListsPageBeyondTheMaximum(t *testing.T) {
	t.Parallel()
	// A server of its own: on the embedded database a list reads every document of its collection,
	// so 600 more records on the shared server would slow every other test's lists.
	s := startServer(t, testEnv(t.TempDir(), nil), nil)
	defer s.stop()
	base := s.base
	admin := login(t, base, "admin", adminPassword, "paging-admin").AccessToken
	worker := authoringUser(t, base, admin, "caseworker")
	auditor := authoringUser(t, base, admin, "auditor")
	const n = maxPage + 2
	cases := make([]string, n)
	for i := range cases {
		cases[i] = uuid.Must(uuid.NewV7()).String()
	}
	createAll(t, base, worker.AccessToken, cases, func(id string) (string, any) { return "/v1/cases", newCase(id, "Child P.") })
	items := "/v1/cases/" + cases[0] + "/evidence"
	itemIDs := make([]string, n)
	for i := range itemIDs {
		itemIDs[i] = uuid.Must(uuid.NewV7()).String()
	}
	createAll(t, base, worker.AccessToken, itemIDs, func(id string) (string, any) { return items, newPhone(id) })
	events := items + "/" + itemIDs[0] + "/events"
	seqs := []string{"1"} // the collected event, then n notes
	for i := range n {
		mustStatus(t, post(t, base, http.MethodPost, events, worker.AccessToken, event("note", map[string]any{"note": "checked"})), http.StatusCreated)
		seqs = append(seqs, fmt.Sprint(i+2))
	}
	var entries []string // the audit log holds at least one entry per write above
	for i := range n {
		entries = append(entries, fmt.Sprint(i+1))
	}
	tests := []struct {
		name, path, token string
		want              []string
	}{
		{"cases", "/v1/cases", worker.AccessToken, cases},
		{"evidence items", items, worker.AccessToken, itemIDs},
		{"custody events", events, worker.AccessToken, seqs},
		{"audit", "/v1/audit", auditor.AccessToken, entries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := walkPages(t, base, tt.path, tt.token)
			for _, key := range tt.want {
				if c := count(got, key); c != 1 {
					t.Errorf("%s came %d times", key, c)
				}
			}
		})
	}
	t.Run("sync pull", func(t *testing.T) {
		first := pullFrom(t, base, worker.AccessToken, "", maxPage)
		if len(first.Records) != maxPage || !first.HasMore {
			t.Fatalf("first pull: %d records, has_more %v; want %d and true", len(first.Records), first.HasMore, maxPage)
		}
		d := newDevice(worker.AccessToken)
		d.apply(first)
		for p := first; p.HasMore; {
			p = pullFrom(t, base, worker.AccessToken, d.cursor, maxPage)
			d.apply(p)
		}
		for _, id := range cases {
			if !d.has("case", id) {
				t.Errorf("case %s never pulled", id)
			}
		}
	})
}

// createAll posts what each id's request makes (its path and body) as token, four at a time, and
// fails the test unless each answers 201.
func createAll(t *testing.T, base, token string, ids []string, request func(id string) (string, any)) {
	t.Helper()
	work := make(chan string)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for id := range work {
				path, body := request(id)
				if r := post(t, base, http.MethodPost, path, token, body); r.status != http.StatusCreated {
					t.Errorf("POST %s (%s): %d %s", path, id, r.status, r.body)
				}
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// walkPages follows a list's cursors at limit=200 and returns the keys of its items in order: each
// item's seq when it has one (custody events, audit entries), else its id. A page short of 200 must be the last.
func walkPages(t *testing.T, base, path, token string) []string {
	t.Helper()
	var keys []string
	cursor := ""
	for pages := 0; ; pages++ {
		p := fmt.Sprintf("%s?limit=%d", path, maxPage)
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		r := get(t, base, p, "Authorization: Bearer "+token)
		mustStatus(t, r, http.StatusOK)
		var page struct {
			Items []struct {
				ID  string `json:"id"`
				Seq int64  `json:"seq"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		r.json(t, &page)
		for _, it := range page.Items {
			key := it.ID
			if it.Seq > 0 {
				key = fmt.Sprint(it.Seq)
			}
			keys = append(keys, key)
		}
		if page.NextCursor == nil {
			if pages == 0 && len(page.Items) == maxPage {
				t.Errorf("%s: a full first page of %d and no next_cursor", path, maxPage)
			}
			return keys
		}
		if len(page.Items) != maxPage {
			t.Errorf("%s: a page of %d before the last", path, len(page.Items))
		}
		cursor = *page.NextCursor
	}
}

// count is how many times key is in keys.
func count(keys []string, key string) int {
	n := 0
	for _, k := range keys {
		if k == key {
			n++
		}
	}
	return n
}

// mustStatus fails the test unless r has status want.
func mustStatus(t *testing.T, r *response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %.500s", r.status, want, r.body)
	}
}
