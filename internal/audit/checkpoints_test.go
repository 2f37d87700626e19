package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/checkpoint"
)

// memCheckpoints is an in-memory checkpoint.Store.
type memCheckpoints struct {
	mu  sync.Mutex
	cps map[string]checkpoint.Checkpoint
}

func (m *memCheckpoints) Insert(_ context.Context, cp checkpoint.Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := fmt.Sprintf("%s:%d", cp.Log, cp.N)
	if _, ok := m.cps[id]; ok {
		return checkpoint.ErrTaken
	}
	m.cps[id] = cp
	return nil
}

func (m *memCheckpoints) Get(_ context.Context, log string, n int64) (checkpoint.Checkpoint, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp, ok := m.cps[fmt.Sprintf("%s:%d", log, n)]
	return cp, ok, nil
}

func (m *memCheckpoints) change(log string, n int64, fn func(*checkpoint.Checkpoint)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := fmt.Sprintf("%s:%d", log, n)
	cp, ok := m.cps[id]
	if !ok {
		return
	}
	if fn == nil {
		delete(m.cps, id)
		return
	}
	fn(&cp)
	m.cps[id] = cp
}

func testKeeper(t testing.TB, store checkpoint.Store) *checkpoint.Keeper {
	t.Helper()
	signer, err := checkpoint.NewSigner(ed25519.NewKeyFromSeed([]byte(strings.Repeat("k", ed25519.SeedSize))))
	if err != nil {
		t.Fatal(err)
	}
	return checkpoint.NewKeeper(store, signer, nil)
}

// signalling reports every checkpoint made.
type signalling struct {
	*checkpoint.Keeper
	made chan checkpoint.Checkpoint
}

func (s signalling) Make(ctx context.Context, log string, seq int64, hash string) (checkpoint.Checkpoint, error) {
	cp, err := s.Keeper.Make(ctx, log, seq, hash)
	if err == nil {
		s.made <- cp
	}
	return cp, err
}

// A log gets a checkpoint at its first idle moment and then every CheckpointEntries entries; Verify
// reads from the newest on, and says so.
func TestVerifyStartsFromTheNewestCheckpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, cps := newMemStore(), &memCheckpoints{cps: map[string]checkpoint.Checkpoint{}}
	svc := NewService(store, clock()).WithCheckpoints(testKeeper(t, cps), time.Hour)
	n := 2*CheckpointEntries + 300
	record(t, svc, "org", n)
	r, err := svc.Verify(ctx, "org")
	if err != nil {
		t.Fatal(err)
	}
	wantN := int64(n-1)/CheckpointEntries + 1 // at 1 (the first idle moment), then every CheckpointEntries
	want := 1 + (wantN-1)*CheckpointEntries
	if !r.OK || r.Full || r.Checkpoint == nil || r.Checkpoint.Seq != want || r.Checkpoint.N != wantN || r.FromSeq != want ||
		r.Entries != n-int(want)+1 || r.AfterCheckpoint != int64(n)-want || r.LastSeq != int64(n) {
		t.Fatalf("Verify = %+v, checkpoint %+v", r, r.Checkpoint)
	}
	full, err := svc.VerifyFull(ctx, "org", nil)
	if err != nil || !full.OK || !full.Full || full.Entries != n || full.Checkpoint == nil || full.Checkpoint.N != wantN {
		t.Fatalf("VerifyFull = %+v %v", full, err)
	}
}

// Tampering with the stored entries, head and checkpoints is found by a process that did not write
// them (a restart): by Verify from the checkpoint on, by VerifyFull before it.
func TestCheckpointsFindTampering(t *testing.T) {
	t.Parallel()
	const n = CheckpointEntries + 20 // checkpoints at 1 and CheckpointEntries+1
	cpLog := checkpoint.AuditLog("org")
	tests := []struct {
		name     string
		tamper   func(m *memStore, c *memCheckpoints)
		verify   *Problem // nil: Verify finds nothing
		full     Problem
		fullOnly bool
	}{
		{"entry after the checkpoint edited", func(m *memStore, _ *memCheckpoints) {
			m.change("org", n-5, func(e *Entry) { e.ActorID = "u-9" })
		}, &Problem{Seq: n - 5, Kind: ProblemHashMismatch}, Problem{Seq: n - 5, Kind: ProblemHashMismatch}, false},
		{"entry before the checkpoint edited", func(m *memStore, _ *memCheckpoints) {
			m.change("org", 10, func(e *Entry) { e.ActorID = "u-9" })
		}, nil, Problem{Seq: 10, Kind: ProblemHashMismatch}, true},
		{"checkpointed entry rewritten with its hash", func(m *memStore, _ *memCheckpoints) {
			m.change("org", CheckpointEntries+1, func(e *Entry) { e.ActorID = "u-9"; e.Hash = e.ComputeHash() })
		}, &Problem{Seq: CheckpointEntries + 1, Kind: ProblemBrokenLink}, Problem{Seq: CheckpointEntries + 1, Kind: ProblemBrokenLink}, false},
		{"newest entries and the head deleted", func(m *memStore, _ *memCheckpoints) {
			for seq := int64(CheckpointEntries - 10); seq <= n; seq++ {
				m.remove("org", seq)
			}
			m.setHead("org", 0)
		}, &Problem{Seq: CheckpointEntries + 1, Kind: ProblemGap}, Problem{Seq: CheckpointEntries - 10, Kind: ProblemGap}, false},
		{"truncated to nothing, head deleted", func(m *memStore, _ *memCheckpoints) {
			for seq := int64(1); seq <= n; seq++ {
				m.remove("org", seq)
			}
			m.setHead("org", 0)
		}, &Problem{Seq: CheckpointEntries + 1, Kind: ProblemGap}, Problem{Seq: 1, Kind: ProblemGap}, false},
		{"entries deleted past the head, head deleted", func(m *memStore, _ *memCheckpoints) {
			m.remove("org", n-3)
			m.setHead("org", 0)
		}, &Problem{Seq: n - 3, Kind: ProblemGap}, Problem{Seq: n - 3, Kind: ProblemGap}, false},
		{"forged newest checkpoint", func(_ *memStore, c *memCheckpoints) {
			c.change(cpLog, 2, func(cp *checkpoint.Checkpoint) { cp.Seq = 3 })
		}, &Problem{Kind: ProblemCheckpointInvalid}, Problem{Kind: ProblemCheckpointInvalid}, false},
		{"older checkpoint deleted", func(_ *memStore, c *memCheckpoints) {
			c.change(cpLog, 1, nil)
		}, nil, Problem{Kind: ProblemCheckpointMissing}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store, cps := newMemStore(), &memCheckpoints{cps: map[string]checkpoint.Checkpoint{}}
			writer := NewService(store, clock()).WithCheckpoints(testKeeper(t, cps), time.Hour)
			record(t, writer, "org", n)
			if err := writer.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			cps.change(cpLog, 3, nil) // Flush's checkpoint of the newest entry: keep the two above
			tt.tamper(store, cps)
			restarted := NewService(store, clock()).WithCheckpoints(testKeeper(t, cps), time.Hour)
			r, err := restarted.Verify(ctx, "org")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.verify == nil && !r.OK:
				t.Errorf("Verify found %+v; it reads from the checkpoint on only", r.FirstProblem)
			case tt.verify != nil && (r.OK || r.FirstProblem.Seq != tt.verify.Seq || r.FirstProblem.Kind != tt.verify.Kind):
				t.Errorf("Verify = %+v, problem %+v; want %+v", r, r.FirstProblem, tt.verify)
			}
			full, err := restarted.VerifyFull(ctx, "org", nil)
			if err != nil {
				t.Fatal(err)
			}
			if full.OK || full.FirstProblem.Seq != tt.full.Seq || full.FirstProblem.Kind != tt.full.Kind {
				t.Errorf("VerifyFull = %+v, problem %+v; want %+v", full, full.FirstProblem, tt.full)
			}
		})
	}
}

// Entries left uncovered when the writer goes idle get their checkpoint once the interval has passed,
// and Flush checkpoints what is left.
func TestIdleLogIsCheckpointedAfterTheInterval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cps := signalling{Keeper: testKeeper(t, &memCheckpoints{cps: map[string]checkpoint.Checkpoint{}}), made: make(chan checkpoint.Checkpoint, 16)}
	svc := NewService(newMemStore(), time.Now).WithCheckpoints(cps, 20*time.Millisecond)
	record(t, svc, "org", 1)
	if cp := <-cps.made; cp.Seq != 1 { // the first idle moment
		t.Fatalf("first checkpoint %+v", cp)
	}
	record(t, svc, "org", 3) // within the interval (on a slow machine, partly after it): left for the timer
	for covered := false; !covered; {
		select {
		case cp := <-cps.made:
			covered = cp.Seq == 4
		case <-time.After(10 * time.Second):
			t.Fatal("no checkpoint of the newest entry after the interval")
		}
	}
	svc2 := NewService(newMemStore(), time.Now).WithCheckpoints(signalling{Keeper: cps.Keeper, made: make(chan checkpoint.Checkpoint, 16)}, time.Hour)
	record(t, svc2, "other", 2)
	if err := svc2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := svc2.Verify(ctx, "other"); err != nil || r.Checkpoint == nil || r.Checkpoint.Seq != 2 {
		t.Errorf("after Flush: %+v %v", r, err)
	}
}

// A full verification runs in the background with progress, one per log at a time.
func TestVerifyJob(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	svc := NewService(store, clock()).WithCheckpoints(testKeeper(t, &memCheckpoints{cps: map[string]checkpoint.Checkpoint{}}), time.Hour)
	record(t, svc, "org", 2500)
	store.change("org", 2000, func(e *Entry) { e.ActorID = "u-9" })
	job, started := svc.StartVerifyJob("org")
	if !started || job.State != JobRunning {
		t.Fatalf("start: %+v %v", job, started)
	}
	if again, started := svc.StartVerifyJob("org"); again.ID != job.ID && started {
		t.Errorf("a second job for the same log while the first runs: %+v", again)
	}
	<-svc.jobs.byID[job.ID].finished
	done, err := svc.VerifyJob("org", job.ID)
	if err != nil || done.State != JobDone || done.Read != 2500 || done.Report == nil || done.Report.OK ||
		done.Report.FirstProblem.Seq != 2000 || done.FinishedAt.IsZero() {
		t.Fatalf("job %+v %v", done, err)
	}
	if _, err := svc.VerifyJob("other", job.ID); err != ErrJobNotFound {
		t.Errorf("another log's job: %v", err)
	}
}
