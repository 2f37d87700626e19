package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// memStore is an in-memory Store with a head like the MongoDB store's: a copy of the newest entry.
type memStore struct {
	mu      sync.Mutex
	entries map[string]map[int64]Entry
	heads   map[string]Entry
	limits  []int // limits List was called with
}

func newMemStore() *memStore {
	return &memStore{entries: map[string]map[int64]Entry{}, heads: map[string]Entry{}}
}

func (m *memStore) Append(_ context.Context, e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	org := m.entries[e.OrgID]
	if org == nil {
		org = map[int64]Entry{}
		m.entries[e.OrgID] = org
	}
	if _, taken := org[e.Seq]; taken {
		return ErrSeqTaken
	}
	org[e.Seq] = e
	if e.Seq > m.heads[e.OrgID].Seq {
		m.heads[e.OrgID] = e
	}
	return nil
}

func (m *memStore) sorted(orgID string) []Entry {
	var out []Entry
	for _, e := range m.entries[orgID] {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return int(a.Seq - b.Seq) })
	return out
}

func (m *memStore) Last(_ context.Context, orgID string) (Entry, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if head, ok := m.heads[orgID]; ok {
		return head, true, nil
	}
	if all := m.sorted(orgID); len(all) > 0 {
		return all[len(all)-1], true, nil
	}
	return Entry{}, false, nil
}

func (m *memStore) Entry(_ context.Context, orgID string, seq int64) (Entry, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[orgID][seq]
	return e, ok, nil
}

func (m *memStore) List(_ context.Context, orgID string, f Filter, after int64, limit int) ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.limits = append(m.limits, limit)
	var out []Entry
	for _, e := range m.sorted(orgID) {
		if e.Seq > after && len(out) < limit && (f.Action == "" || f.Action == e.Action) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memStore) Scan(_ context.Context, orgID string, fn func(Entry) error) error {
	m.mu.Lock()
	all := m.sorted(orgID)
	m.mu.Unlock()
	for _, e := range all {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) change(orgID string, seq int64, fn func(*Entry)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[orgID][seq]
	fn(&e)
	m.entries[orgID][seq] = e
}

func (m *memStore) setHead(orgID string, seq int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if seq == 0 {
		delete(m.heads, orgID)
		return
	}
	m.heads[orgID] = m.entries[orgID][seq]
}

func (m *memStore) remove(orgID string, seq int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries[orgID], seq)
}

// clock returns a now function that advances by 1.5 ms on every call.
func clock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2025, 3, 1, 9, 0, 0, 0, time.FixedZone("X", 3600))
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(1500 * time.Microsecond)
		return t
	}
}

func sample(org string, i int) Entry {
	return Entry{OrgID: org, ActorID: fmt.Sprintf("u-%d", i%3), ActorRole: "caseworker", DeviceID: "d-1",
		Action: ActionCaseRead, ResourceType: "case", ResourceID: fmt.Sprintf("c-%d", i%5), Outcome: OutcomeSuccess,
		RequestID: fmt.Sprintf("r-%d", i)}
}

func record(t *testing.T, svc *Service, org string, n int) []Entry {
	t.Helper()
	out := make([]Entry, 0, n)
	for i := range n {
		e, err := svc.Record(context.Background(), sample(org, i))
		if err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
		out = append(out, e)
	}
	return out
}

func TestRecordBuildsAChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newMemStore()
	svc := NewService(store, clock())
	in := sample("org-a", 1)
	in.Seq, in.Hash, in.PrevHash, in.Time = 99, "forged", "forged", time.Unix(1, 0) // ignored
	first, err := svc.Record(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if first.Seq != 1 || first.PrevHash != ZeroHash || first.Hash != first.ComputeHash() || first.ActorID != in.ActorID {
		t.Fatalf("first entry = %+v", first)
	}
	if first.Time.Location() != time.UTC || first.Time.Nanosecond()%int(time.Millisecond) != 0 {
		t.Fatalf("time %v is not UTC with millisecond precision", first.Time)
	}
	rest := record(t, svc, "org-a", 4)
	if rest[0].Seq != 2 || rest[0].PrevHash != first.Hash || rest[3].Seq != 5 || rest[3].PrevHash != rest[2].Hash {
		t.Fatalf("chain = %+v", rest)
	}
	other := record(t, svc, "org-b", 1)
	if other[0].Seq != 1 || other[0].PrevHash != ZeroHash {
		t.Fatalf("another organisation's log does not start at 1: %+v", other[0])
	}
	r, err := svc.Verify(ctx, "org-a")
	if err != nil || !r.OK || r.Entries != 5 || r.FirstProblem != nil || r.LastSeq != 5 || r.LastHash != rest[3].Hash {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
	if r, err := svc.Verify(ctx, "nobody"); err != nil || !r.OK || r.Entries != 0 {
		t.Fatalf("Verify of an empty log = %+v, %v", r, err)
	}
}

func TestRecordRefusesInvalidEntries(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	svc := NewService(store, clock())
	e := sample("org", 1)
	e.ResourceID = "a note about the child"
	if _, err := svc.Record(context.Background(), e); !errors.Is(err, ErrInvalidEntry) {
		t.Fatalf("Record = %v, want ErrInvalidEntry", err)
	}
	if len(store.entries) != 0 {
		t.Fatal("an invalid entry was stored")
	}
}

func TestConcurrentRecordNeverForksOrSkips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		instances int // services sharing the store, like API instances sharing a database
		perInst   int
	}{
		{"one instance with 50 goroutines", 1, 50},
		{"five instances with 20 goroutines each", 5, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newMemStore()
			now := clock()
			var wg sync.WaitGroup
			errs := make(chan error, tt.instances*tt.perInst)
			for range tt.instances {
				svc := NewService(store, now)
				for i := range tt.perInst {
					wg.Go(func() {
						if _, err := svc.Record(context.Background(), sample("org", i)); err != nil {
							errs <- err
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("Record: %v", err)
			}
			all := store.sorted("org")
			for i, e := range all {
				if e.Seq != int64(i+1) {
					t.Fatalf("entry %d has seq %d", i, e.Seq)
				}
			}
			r, err := NewService(store, now).Verify(context.Background(), "org")
			if err != nil || !r.OK || r.Entries != tt.instances*tt.perInst {
				t.Fatalf("Verify = %+v, %v", r, err)
			}
		})
	}
}

// takenStore always loses the race for the next number.
type takenStore struct{ memStore }

func (*takenStore) Append(context.Context, Entry) error { return ErrSeqTaken }

// failingStore fails every write.
type failingStore struct{ memStore }

var errDown = errors.New("database down")

func (*failingStore) Append(context.Context, Entry) error { return errDown }

func TestRecordFailsWhenItCannotWrite(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		store Store
		ctx   context.Context
		check func(error) bool
	}{
		{"every number taken", &takenStore{*newMemStore()}, context.Background(), func(err error) bool {
			e := apperr.As(err)
			return e != nil && e.Kind == apperr.Unavailable && e.Code == "audit_busy"
		}},
		{"store down", &failingStore{*newMemStore()}, context.Background(), func(err error) bool { return errors.Is(err, errDown) }},
		{"context ended while waiting", newMemStore(), cancelled, func(err error) bool { return errors.Is(err, context.Canceled) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := NewService(tt.store, clock())
			if tt.ctx.Err() != nil { // hold the organisation's lock so Record has to wait
				unlock, err := svc.lock(context.Background(), "org")
				if err != nil {
					t.Fatal(err)
				}
				defer unlock()
			}
			if _, err := svc.Record(tt.ctx, sample("org", 1)); err == nil || !tt.check(err) {
				t.Fatalf("Record error = %v", err)
			}
		})
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(m *memStore)
		want   Problem
	}{
		{"altered field", func(m *memStore) { m.change("org", 4, func(e *Entry) { e.ActorID = "u-9" }) }, Problem{Seq: 4, Kind: ProblemHashMismatch}},
		{"altered time", func(m *memStore) { m.change("org", 2, func(e *Entry) { e.Time = e.Time.Add(time.Millisecond) }) }, Problem{Seq: 2, Kind: ProblemHashMismatch}},
		{"altered field with its hash recomputed", func(m *memStore) {
			m.change("org", 4, func(e *Entry) { e.ActorID = "u-9"; e.Hash = e.ComputeHash() })
		}, Problem{Seq: 5, Kind: ProblemBrokenLink}},
		{"newest entry altered with its hash recomputed", func(m *memStore) {
			m.change("org", 6, func(e *Entry) { e.ActorID = "u-9"; e.Hash = e.ComputeHash() })
		}, Problem{Seq: 6, Kind: ProblemBrokenLink}},
		{"deleted entry in the middle", func(m *memStore) { m.remove("org", 3) }, Problem{Seq: 3, Kind: ProblemGap}},
		{"deleted first entry", func(m *memStore) { m.remove("org", 1) }, Problem{Seq: 1, Kind: ProblemGap}},
		{"deleted last entry", func(m *memStore) { m.remove("org", 6) }, Problem{Seq: 6, Kind: ProblemGap}},
		{"deleted last two entries", func(m *memStore) { m.remove("org", 6); m.remove("org", 5) }, Problem{Seq: 5, Kind: ProblemGap}},
		{"deleted everything", func(m *memStore) {
			for i := range 6 {
				m.remove("org", int64(i+1))
			}
		}, Problem{Seq: 1, Kind: ProblemGap}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newMemStore()
			svc := NewService(store, clock())
			record(t, svc, "org", 6)
			tt.tamper(store)
			r, err := svc.Verify(context.Background(), "org")
			if err != nil {
				t.Fatal(err)
			}
			if r.OK || r.FirstProblem == nil || r.FirstProblem.Seq != tt.want.Seq || r.FirstProblem.Kind != tt.want.Kind {
				t.Fatalf("Verify = %+v, problem %+v; want %+v", r, r.FirstProblem, tt.want)
			}
		})
	}
}

func TestRecordAfterTruncationKeepsTheGapVisible(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newMemStore()
	svc := NewService(store, clock())
	old := record(t, svc, "org", 3)
	store.remove("org", 3)
	e, err := svc.Record(ctx, sample("org", 9))
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 4 || e.PrevHash != old[2].Hash {
		t.Fatalf("entry after truncation = %+v, want seq 4 linked to the deleted entry 3", e)
	}
	r, err := svc.Verify(ctx, "org")
	if err != nil || r.OK || r.FirstProblem.Seq != 3 || r.FirstProblem.Kind != ProblemGap {
		t.Fatalf("Verify = %+v %+v, %v", r, r.FirstProblem, err)
	}
}

func TestRecordCatchesUpALaggingHead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		head int64 // where the head is put back to; 0: no head
	}{
		{"head behind", 2},
		{"head missing", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := newMemStore()
			svc := NewService(store, clock())
			record(t, svc, "org", 5)
			store.setHead("org", tt.head)
			e, err := svc.Record(ctx, sample("org", 6))
			if err != nil || e.Seq != 6 {
				t.Fatalf("Record = %+v, %v; want seq 6", e, err)
			}
			if r, err := svc.Verify(ctx, "org"); err != nil || !r.OK || r.Entries != 6 {
				t.Fatalf("Verify = %+v %+v, %v", r, r.FirstProblem, err)
			}
		})
	}
}

func TestListBoundsTheLimit(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	svc := NewService(store, clock())
	record(t, svc, "org", 3)
	tests := []struct {
		name      string
		limit     int
		wantLimit int
	}{
		{"zero means the default", 0, DefaultListLimit},
		{"negative means the default", -5, DefaultListLimit},
		{"one", 1, 1},
		{"maximum", MaxListLimit, MaxListLimit},
		{"above the maximum", MaxListLimit + 1, MaxListLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store.mu.Lock()
			store.limits = nil
			store.mu.Unlock()
			if _, err := svc.List(context.Background(), "org", Filter{}, -1, tt.limit); err != nil {
				t.Fatal(err)
			}
			if store.limits[0] != tt.wantLimit {
				t.Fatalf("store asked for %d, want %d", store.limits[0], tt.wantLimit)
			}
		})
	}
	page, err := svc.List(context.Background(), "org", Filter{}, 1, 1)
	if err != nil || len(page) != 1 || page[0].Seq != 2 {
		t.Fatalf("List after 1 = %+v, %v", page, err)
	}
}
