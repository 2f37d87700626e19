package devicesync

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// The windows of records a pull reads from the feeds, kept in memory for the pulls that follow.

// window is what readWindow read: the records with start < change_seq <= frontier, sorted, and
// (caseworkers) the cases assigned when it was read.
type window struct {
	start, frontier int64
	records         []Record
	assigned        []string
}

// readWindow reads up to size records of every feed after cur.Pos. The window may end only where no
// feed that was cut short could still have a lower number (the frontier).
func (s *Service) readWindow(ctx context.Context, p identity.Principal, caseworker bool, cur *cursor, size int) (*window, error) {
	w := &window{start: cur.Pos, frontier: cur.UpTo}
	q := Query{OrgID: p.OrgID, AfterSeq: cur.Pos, UpToSeq: cur.UpTo, Limit: size}
	if caseworker {
		ids, err := s.cases.AssignedCaseIDs(ctx, p.OrgID, p.UserID)
		if err != nil {
			return nil, fmt.Errorf("reading the assigned cases: %w", err)
		}
		w.assigned = append([]string{}, ids...)
		q.UserID = p.UserID
	}
	read := func(f Feed, q Query) error {
		recs, err := f.Changes(ctx, q)
		if err != nil {
			return fmt.Errorf("reading the %s changes: %w", f.Type(), err)
		}
		if len(recs) >= size {
			w.frontier = min(w.frontier, recs[len(recs)-1].Seq)
		}
		w.records = append(w.records, recs...)
		return nil
	}
	if err := read(s.cases, q); err != nil {
		return nil, err
	}
	if !caseworker || len(w.assigned) > 0 {
		cq := q
		cq.UserID, cq.CaseIDs = "", w.assigned
		for _, f := range s.feeds {
			if err := read(f, cq); err != nil {
				return nil, err
			}
		}
	}
	slices.SortFunc(w.records, func(a, b Record) int { return cmp.Compare(a.Seq, b.Seq) })
	w.records = slices.DeleteFunc(w.records, func(r Record) bool { return r.Seq > w.frontier })
	return w, nil
}

// windowKey names the pass a window belongs to.
type windowKey struct {
	org, user   string
	role        identity.Role
	after, upTo int64
}

// windowCache keeps the last windows read, so that the pages of a pass cost one query per feed
// per window rather than per page (on the embedded database every query scans its collection).
// A window is kept for its pass only: a pass's records cannot change below its watermark except by
// moving above it (a newer write), which the next pass delivers. It is bounded; a miss (another
// instance, an evicted window) reads the window again from the page's position.
type windowCache struct {
	mu    sync.Mutex
	max   int
	items map[windowKey]*window
	order []windowKey // oldest first
}

func newWindowCache(n int) *windowCache { return &windowCache{max: n, items: map[windowKey]*window{}} }

// get returns the window of key that covers the position after pos.
func (c *windowCache) get(key windowKey, pos int64) (*window, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.items[key]
	if !ok || pos < w.start || pos >= w.frontier {
		return nil, false
	}
	return w, true
}

func (c *windowCache) put(key windowKey, w *window) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; !ok {
		c.order = append(c.order, key)
	}
	c.items[key] = w
	for len(c.order) > c.max {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
}

// fingerprint identifies a set of library entries.
func fingerprint(entries []LibraryEntry) string {
	h := sha256.New()
	for _, e := range entries {
		fmt.Fprintf(h, "%s\x00%d\x00%s\n", e.ProtocolID, e.Version, e.ContentHash)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
