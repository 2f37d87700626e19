package checkpoint

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// memStore is an in-memory Store keyed like the database's: one checkpoint per chain and number.
type memStore struct {
	mu   sync.Mutex
	cps  map[string]Checkpoint
	gets int
}

func newMemStore() *memStore { return &memStore{cps: map[string]Checkpoint{}} }

func (m *memStore) Insert(_ context.Context, cp Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := fmt.Sprintf("%s:%012d", cp.Log, cp.N)
	if _, ok := m.cps[id]; ok {
		return ErrTaken
	}
	m.cps[id] = cp
	return nil
}

func (m *memStore) Get(_ context.Context, log string, n int64) (Checkpoint, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	cp, ok := m.cps[fmt.Sprintf("%s:%012d", log, n)]
	return cp, ok, nil
}

func (m *memStore) delete(log string, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.cps, fmt.Sprintf("%s:%012d", log, n))
}

func testSigner(t testing.TB, seed byte) *Signer {
	t.Helper()
	s, err := NewSigner(ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(rune('a'+seed)), ed25519.SeedSize))))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignerVerifies(t *testing.T) {
	t.Parallel()
	s, other := testSigner(t, 0), testSigner(t, 1)
	cp := s.Sign(Checkpoint{Log: AuditLog("org"), N: 1, Seq: 7, Hash: strings.Repeat("a", 64)}, time.Unix(1700000000, 0))
	tests := []struct {
		name   string
		signer *Signer
		edit   func(*Checkpoint)
		ok     bool
	}{
		{"as signed", s, func(*Checkpoint) {}, true},
		{"other key", other, func(*Checkpoint) {}, false},
		{"seq changed", s, func(c *Checkpoint) { c.Seq = 8 }, false},
		{"hash changed", s, func(c *Checkpoint) { c.Hash = strings.Repeat("b", 64) }, false},
		{"chain changed", s, func(c *Checkpoint) { c.Log = AuditLog("other") }, false},
		{"number changed", s, func(c *Checkpoint) { c.N = 2 }, false},
		{"time changed", s, func(c *Checkpoint) { c.SignedAt = c.SignedAt.Add(time.Second) }, false},
		{"signature cut", s, func(c *Checkpoint) { c.Token = c.Token[:len(c.Token)-4] }, false},
		{"not a token", s, func(c *Checkpoint) { c.Token = "x" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cp
			tt.edit(&c)
			err := tt.signer.Verify(c)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Errorf("Verify = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestMakeNumbersAndNeverGoesBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := NewKeeper(newMemStore(), testSigner(t, 0), nil)
	log := CustodyChain("item")
	for i, seq := range []int64{3, 5, 5, 4, 9} {
		cp, err := k.Make(ctx, log, seq, fmt.Sprintf("h%d", seq))
		if err != nil {
			t.Fatal(err)
		}
		wantN := map[int]int64{0: 1, 1: 2, 2: 2, 3: 2, 4: 3}[i]
		if cp.N != wantN || cp.Seq < seq {
			t.Errorf("Make(%d) = n %d seq %d, want n %d", seq, cp.N, cp.Seq, wantN)
		}
	}
}

// Two instances (two keepers over one store) never make two checkpoints with one number, and each
// finds the other's.
func TestMakeFromSeveralInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newMemStore()
	signer := testSigner(t, 0)
	a, b := NewKeeper(store, signer, nil), NewKeeper(store, signer, nil)
	log := AuditLog("org")
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := a
			if i%2 == 1 {
				k = b
			}
			if _, err := k.Make(ctx, log, int64(i+1), fmt.Sprint(i+1)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	newest, ok, err := NewKeeper(store, signer, nil).Newest(ctx, log)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	prev := int64(0)
	for n := int64(1); n <= newest.N; n++ {
		cp, ok, _ := store.Get(ctx, log, n)
		if !ok || cp.Seq < prev {
			t.Fatalf("checkpoint %d: %v %+v after seq %d", n, ok, cp, prev)
		}
		prev = cp.Seq
	}
	if newest.Seq != 40 && newest.Seq < 39 {
		t.Errorf("newest %+v", newest)
	}
}

// Newest finds the newest checkpoint with few reads by id, also in a fresh process.
func TestNewestProbesByID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newMemStore()
	signer := testSigner(t, 0)
	k := NewKeeper(store, signer, nil)
	log := AuditLog("org")
	for seq := int64(1); seq <= 1000; seq++ {
		if _, err := k.Make(ctx, log, seq, "h"); err != nil {
			t.Fatal(err)
		}
	}
	fresh := NewKeeper(store, signer, nil)
	store.mu.Lock()
	store.gets = 0
	store.mu.Unlock()
	cp, ok, err := fresh.Newest(ctx, log)
	if err != nil || !ok || cp.N != 1000 {
		t.Fatalf("Newest = %+v %v %v", cp, ok, err)
	}
	if store.gets > 25 {
		t.Errorf("%d reads to find checkpoint 1000", store.gets)
	}
	list, err := fresh.List(ctx, log, 998, 3)
	if err != nil || len(list) != 3 || list[0].N != 997 || list[2].N != 995 {
		t.Errorf("List = %+v %v", list, err)
	}
}

// Trusted steps over checkpoints whose signature fails, and falls back on the one this process
// remembers when the store lost it.
func TestTrusted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newMemStore()
	k := NewKeeper(store, testSigner(t, 0), nil)
	log := AuditLog("org")
	for seq := int64(1); seq <= 3; seq++ {
		if _, err := k.Make(ctx, log, seq, "h"); err != nil {
			t.Fatal(err)
		}
	}
	forged := testSigner(t, 1).Sign(Checkpoint{Log: log, N: 4, Seq: 2, Hash: "x"}, time.Now())
	if err := store.Insert(ctx, forged); err != nil {
		t.Fatal(err)
	}
	fresh := NewKeeper(store, testSigner(t, 0), nil)
	tr, err := fresh.Trusted(ctx, log)
	if err != nil || !tr.Found || tr.Checkpoint.N != 3 || len(tr.Invalid) != 1 || tr.Invalid[0] != 4 || tr.Lost {
		t.Errorf("with a forged newest: %+v %v", tr, err)
	}
	store.delete(log, 4)
	store.delete(log, 3)
	tr, err = k.Trusted(ctx, log)
	if err != nil || !tr.Found || tr.Checkpoint.N != 3 || !tr.Lost {
		t.Errorf("after deleting the newest: %+v %v", tr, err)
	}
}

// Deleting the oldest checkpoints does not hide the newer ones from a fresh process.
func TestNewestSurvivesDeletedOldCheckpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, deleted := range [][]int64{{1}, {1, 2}, {2, 3}, {4}} {
		t.Run(fmt.Sprint(deleted), func(t *testing.T) {
			t.Parallel()
			store := newMemStore()
			k := NewKeeper(store, testSigner(t, 0), nil)
			log := AuditLog("org")
			for seq := int64(1); seq <= 5; seq++ {
				if _, err := k.Make(ctx, log, seq, "h"); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range deleted {
				store.delete(log, n)
			}
			cp, ok, err := NewKeeper(store, testSigner(t, 0), nil).Newest(ctx, log)
			if err != nil || !ok || cp.N != 5 {
				t.Errorf("Newest = %+v %v %v, want checkpoint 5", cp, ok, err)
			}
		})
	}
}
