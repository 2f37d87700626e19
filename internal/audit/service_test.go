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

// AppendMany appends entries in order like an ordered insert, stopping at the first taken number.
func (m *memStore) AppendMany(_ context.Context, entries []Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, e := range entries {
		org := m.entries[e.OrgID]
		if org == nil {
			org = map[int64]Entry{}
			m.entries[e.OrgID] = org
		}
		if _, taken := org[e.Seq]; taken {
			return &SeqTakenError{Written: i, Seq: e.Seq}
		}
		org[e.Seq] = e
	}
	return nil
}

func (m *memStore) MoveHead(_ context.Context, e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
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

func (*takenStore) AppendMany(_ context.Context, entries []Entry) error {
	return &SeqTakenError{Written: 0, Seq: entries[0].Seq}
}

// failingStore fails every write.
type failingStore struct{ memStore }

var errDown = errors.New("database down")

func (*failingStore) AppendMany(context.Context, []Entry) error { return errDown }

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
		{"context ended before recording", newMemStore(), cancelled, func(err error) bool { return errors.Is(err, context.Canceled) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := NewService(tt.store, clock())
			if _, err := svc.Record(tt.ctx, sample("org", 1)); err == nil || !tt.check(err) {
				t.Fatalf("Record error = %v", err)
			}
		})
	}
}

// gateStore is a memStore whose first AppendMany tells entered and then waits for release.
type gateStore struct {
	*memStore
	entered, release chan struct{}
	once             sync.Once
}

func newGateStore() *gateStore {
	return &gateStore{memStore: newMemStore(), entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gateStore) AppendMany(ctx context.Context, entries []Entry) error {
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
	return g.memStore.AppendMany(ctx, entries)
}

// countingStore counts the calls that reach the database.
type countingStore struct {
	*gateStore
	mu                              sync.Mutex
	appends, moves, lasts, entryRds int
	afterAppend                     func() // when set, called after each AppendMany
	movedTo                         []int64
}

func (c *countingStore) MoveHead(ctx context.Context, e Entry) error {
	c.mu.Lock()
	c.moves++
	c.movedTo = append(c.movedTo, e.Seq)
	c.mu.Unlock()
	return c.gateStore.MoveHead(ctx, e)
}

func (c *countingStore) AppendMany(ctx context.Context, entries []Entry) error {
	c.mu.Lock()
	c.appends++
	c.mu.Unlock()
	err := c.gateStore.AppendMany(ctx, entries)
	if c.afterAppend != nil {
		c.afterAppend()
	}
	return err
}

func (c *countingStore) Last(ctx context.Context, orgID string) (Entry, bool, error) {
	c.mu.Lock()
	c.lasts++
	c.mu.Unlock()
	return c.gateStore.Last(ctx, orgID)
}

func (c *countingStore) Entry(ctx context.Context, orgID string, seq int64) (Entry, bool, error) {
	c.mu.Lock()
	c.entryRds++
	c.mu.Unlock()
	return c.gateStore.Entry(ctx, orgID, seq)
}

func TestRecordWaitingCallerCanGiveUp(t *testing.T) {
	t.Parallel()
	store := newGateStore()
	svc := NewService(store, clock())
	first := make(chan error, 1)
	go func() {
		_, err := svc.Record(context.Background(), sample("org", 1))
		first <- err
	}()
	<-store.entered // the leader is writing the first entry: the next one has to wait
	ctx, cancel := context.WithCancel(context.Background())
	svc.queued = func(int) { cancel() } // give up as soon as the entry is queued
	if _, err := svc.Record(ctx, sample("org", 2)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Record while waiting = %v, want context.Canceled", err)
	}
	svc.mu.Lock()
	svc.queued = nil
	svc.mu.Unlock()
	close(store.release)
	if err := <-first; err != nil {
		t.Fatalf("first Record = %v", err)
	}
	e, err := svc.Record(context.Background(), sample("org", 3))
	if err != nil || e.Seq != 2 {
		t.Fatalf("Record after a caller gave up = %+v, %v; want seq 2 (the abandoned entry was not written)", e, err)
	}
	if r, err := svc.Verify(context.Background(), "org"); err != nil || !r.OK || r.Entries != 2 {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

func TestRecordCommitsConcurrentCallersInGroups(t *testing.T) {
	t.Parallel()
	const n = 200
	store := &countingStore{gateStore: newGateStore()}
	svc := NewService(store, clock())
	allQueued := make(chan struct{})
	svc.queued = func(waiting int) {
		if waiting == n-1 {
			close(allQueued)
		}
	}
	results := make(chan Entry, n)
	errs := make(chan error, n)
	recordOne := func(i int) {
		e, err := svc.Record(context.Background(), sample("org", i))
		if err != nil {
			errs <- err
			return
		}
		results <- e
	}
	var wg sync.WaitGroup
	wg.Go(func() { recordOne(0) })
	<-store.entered // the leader is writing the first entry alone
	for i := 1; i < n; i++ {
		wg.Go(func() { recordOne(i) })
	}
	<-allQueued // the other 199 wait for the leader
	close(store.release)
	wg.Wait()
	close(errs)
	close(results)
	for err := range errs {
		t.Fatalf("Record: %v", err)
	}
	seen := map[int64]bool{}
	for e := range results {
		if seen[e.Seq] || e.Seq < 1 || e.Seq > n {
			t.Fatalf("Record returned seq %d twice or out of 1..%d", e.Seq, n)
		}
		seen[e.Seq] = true
		if stored, ok, _ := store.memStore.Entry(context.Background(), "org", e.Seq); !ok || stored != e {
			t.Fatalf("entry %d returned %+v, stored %+v", e.Seq, e, stored)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d entries returned, want %d", len(seen), n)
	}
	if err := svc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err := svc.Verify(context.Background(), "org")
	if err != nil || !r.OK || r.Entries != n || r.LastSeq != n {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
	// One write for the first entry, one for the other 199, then one head move when the queue ran
	// empty; the head was read once (before Verify).
	if store.appends != 2 || store.moves != 1 || store.lasts != 2 || store.entryRds != 0 {
		t.Fatalf("store calls: %d writes, %d head moves, %d head reads, %d entry reads; want 2, 1, 2 (one by Verify), 0",
			store.appends, store.moves, store.lasts, store.entryRds)
	}
}

func TestRecordMovesTheHeadEveryFewCommitsAndWhenIdle(t *testing.T) {
	t.Parallel()
	const commits = 2*HeadEvery + 1
	store := &countingStore{gateStore: newGateStore()}
	close(store.release)
	svc := NewService(store, clock())
	queued, calls := make(chan struct{}), 0
	svc.queued = func(int) { // with svc.mu held
		if calls++; calls > 1 { // not the first entry, which is not queued while a commit runs
			queued <- struct{}{}
		}
	}
	// While each of the first commits - 1 group commits is written, one more entry is queued, so the
	// leader never finds its queue empty until the last one.
	var wg sync.WaitGroup
	extra := 0
	store.afterAppend = func() {
		if extra++; extra < commits {
			wg.Go(func() {
				if _, err := svc.Record(context.Background(), sample("org", extra)); err != nil {
					t.Error(err)
				}
			})
			<-queued
		}
	}
	if _, err := svc.Record(context.Background(), sample("org", 0)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := svc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []int64{HeadEvery, 2 * HeadEvery, commits}
	if store.appends != commits || !slices.Equal(store.movedTo, want) {
		t.Fatalf("%d commits moved the head to %v; want %d commits moving it to %v", store.appends, store.movedTo, commits, want)
	}
	if head, _, _ := store.Last(context.Background(), "org"); head.Seq != commits {
		t.Fatalf("head at %d after Flush, want %d", head.Seq, commits)
	}
}

func TestRecordFromSeveralInstances(t *testing.T) {
	t.Parallel()
	const instances, perInst = 3, 100
	store := newMemStore()
	now := clock()
	var wg sync.WaitGroup
	errs := make(chan error, instances*perInst)
	for range instances {
		svc := NewService(store, now)
		for i := range perInst {
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
	r, err := NewService(store, now).Verify(context.Background(), "org")
	if err != nil || !r.OK || r.Entries != instances*perInst || r.LastSeq != instances*perInst {
		t.Fatalf("Verify = %+v %+v, %v", r, r.FirstProblem, err)
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

func TestRecordAfterARestartFindsEntriesPastTheHead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		stored     int   // entries in the log
		head       int64 // where the stored head was left (0: none), as after a crash
		maxEntries int   // entry reads allowed to find the end
	}{
		{"head one behind", 10, 9, 3},
		{"head far behind", 1000, 3, 2 * 11},
		{"no head", 40, 0, 2 * 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := &countingStore{gateStore: newGateStore()}
			close(store.release)
			written := record(t, NewService(store.memStore, clock()), "org", tt.stored)
			store.setHead("org", tt.head)
			restarted := NewService(store, clock())
			e, err := restarted.Record(ctx, sample("org", 0))
			if err != nil || e.Seq != int64(tt.stored+1) || e.PrevHash != written[tt.stored-1].Hash {
				t.Fatalf("Record = %+v, %v; want seq %d after the newest entry", e, err, tt.stored+1)
			}
			if store.entryRds > tt.maxEntries {
				t.Fatalf("%d entry reads to find the end of %d entries, want at most %d", store.entryRds, tt.stored, tt.maxEntries)
			}
			if r, err := restarted.Verify(ctx, "org"); err != nil || !r.OK || r.Entries != tt.stored+1 {
				t.Fatalf("Verify = %+v %+v, %v", r, r.FirstProblem, err)
			}
		})
	}
}

func TestVerifyUsesWhatThisProcessStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newMemStore()
	svc := NewService(store, clock())
	record(t, svc, "org", 6)
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	store.setHead("org", 4) // the stored head lags, as between two moves
	store.remove("org", 6)
	store.remove("org", 5)
	if r, err := svc.Verify(ctx, "org"); err != nil || r.OK || r.FirstProblem.Seq != 5 || r.FirstProblem.Kind != ProblemGap {
		t.Fatalf("Verify by the process that stored entry 6 = %+v %+v, %v; want a gap at 5", r, r.FirstProblem, err)
	}
	// Another process knows only the stored head: deleting entries past it goes unseen until the head
	// moves there, which is why it moves when the queue runs empty and every HeadEvery commits.
	if r, err := NewService(store, clock()).Verify(ctx, "org"); err != nil || !r.OK || r.Entries != 4 {
		t.Fatalf("Verify by another process = %+v %+v, %v", r, r.FirstProblem, err)
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
			if _, _, err := svc.List(context.Background(), "org", Filter{}, -1, tt.limit); err != nil {
				t.Fatal(err)
			}
			if store.limits[0] != tt.wantLimit+1 { // one more: is there a next page?
				t.Fatalf("store asked for %d, want %d", store.limits[0], tt.wantLimit+1)
			}
		})
	}
	page, next, err := svc.List(context.Background(), "org", Filter{}, 1, 1)
	if err != nil || len(page) != 1 || page[0].Seq != 2 || next != 2 {
		t.Fatalf("List after 1 = %+v, next %d, %v", page, next, err)
	}
	if page, next, err := svc.List(context.Background(), "org", Filter{}, 2, 1); err != nil || len(page) != 1 || next != 0 {
		t.Fatalf("List of the last page = %+v, next %d, %v; want one entry and no next page", page, next, err)
	}
}

// An instance whose clock runs behind another's never records an entry before the previous one:
// times do not decrease with Seq, which the audit list's time filter relies on.
func TestRecordTimesNeverGoBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newMemStore()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ahead := NewService(store, func() time.Time { return base.Add(time.Minute) })
	behind := NewService(store, func() time.Time { return base })
	first, err := ahead.Record(ctx, sample("org", 1))
	if err != nil {
		t.Fatal(err)
	}
	second, err := behind.Record(ctx, sample("org", 2))
	if err != nil {
		t.Fatal(err)
	}
	if second.Seq != first.Seq+1 || second.Time.Before(first.Time) {
		t.Fatalf("entry %d at %v after entry %d at %v", second.Seq, second.Time, first.Seq, first.Time)
	}
	if r, err := behind.Verify(ctx, "org"); err != nil || !r.OK {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}
