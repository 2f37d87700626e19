package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"
)

// ErrTaken is returned by Store.Insert when the chain already has a checkpoint with that number.
var ErrTaken = errors.New("checkpoint: number already taken")

// Store persists checkpoints. Checkpoints are never changed or deleted once stored.
type Store interface {
	// Insert stores cp under "<cp.Log>:<cp.N>"; ErrTaken when that id exists. Other errors: the
	// store failed.
	Insert(ctx context.Context, cp Checkpoint) error
	// Get returns checkpoint n of chain log, and false when there is none. It returns an error when
	// the store fails.
	Get(ctx context.Context, log string, n int64) (Checkpoint, bool, error)
}

// maxRemembered bounds the chains whose newest checkpoint a Keeper keeps in memory.
const maxRemembered = 8192

// maxInsertAttempts bounds how often Make tries a number another instance took first.
const maxInsertAttempts = 16

// maxInvalidSkipped bounds how many checkpoints with a bad signature Trusted steps over.
const maxInvalidSkipped = 32

// Keeper makes, finds and checks the checkpoints of chains. It is safe for concurrent use; checkpoints
// of one chain are made one at a time in this process.
type Keeper struct {
	store  Store
	signer *Signer
	now    func() time.Time
	locks  [64]sync.Mutex

	mu     sync.Mutex
	newest map[string]Checkpoint // by chain: the newest checkpoint this process made or read
}

// NewKeeper returns a Keeper over store signing with signer and taking the time from now (nil:
// time.Now).
func NewKeeper(store Store, signer *Signer, now func() time.Time) *Keeper {
	if now == nil {
		now = time.Now
	}
	return &Keeper{store: store, signer: signer, now: now, newest: map[string]Checkpoint{}}
}

// Signer returns the signer.
func (k *Keeper) Signer() *Signer { return k.signer }

func (k *Keeper) lock(log string) func() {
	h := fnv.New32a()
	h.Write([]byte(log))
	m := &k.locks[h.Sum32()%uint32(len(k.locks))]
	m.Lock()
	return m.Unlock
}

// Remembered returns the newest checkpoint of log this process made or read, and false when it knows
// none.
func (k *Keeper) Remembered(log string) (Checkpoint, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cp, ok := k.newest[log]
	return cp, ok
}

func (k *Keeper) remember(cp Checkpoint) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if cur, ok := k.newest[cp.Log]; ok && cur.N >= cp.N {
		return
	}
	if len(k.newest) >= maxRemembered {
		for log := range k.newest { // forget about half, any of them
			if len(k.newest) < maxRemembered/2 {
				break
			}
			delete(k.newest, log)
		}
	}
	k.newest[cp.Log] = cp
}

// Make signs and stores a checkpoint of log at seq (whose entry has hash), numbered after the newest
// stored, and returns it. When the newest checkpoint already names seq or a later entry it returns
// that one instead: checkpoints never go back. It returns the store's error, or an error when other
// instances took maxInsertAttempts numbers first.
func (k *Keeper) Make(ctx context.Context, log string, seq int64, hash string) (Checkpoint, error) {
	defer k.lock(log)()
	newest, ok := k.Remembered(log) // when unknown, checkpoint 1 is tried first (a new chain's)
	for range maxInsertAttempts {
		if ok && newest.Seq >= seq {
			return newest, nil
		}
		cp := k.signer.Sign(Checkpoint{Log: log, N: newest.N + 1, Seq: seq, Hash: hash}, k.now())
		err := k.store.Insert(ctx, cp)
		if err == nil {
			k.remember(cp)
			return cp, nil
		}
		if !errors.Is(err, ErrTaken) {
			return Checkpoint{}, fmt.Errorf("storing checkpoint %d of %s: %w", cp.N, log, err)
		}
		if newest, ok, err = k.probe(ctx, log, cp.N); err != nil {
			return Checkpoint{}, err
		}
	}
	return Checkpoint{}, fmt.Errorf("storing a checkpoint of %s: %d numbers were taken first", log, maxInsertAttempts)
}

// Newest returns the newest stored checkpoint of log (signature not checked), and false when it has
// none. It reads by id only: an exponential probe from the newest this process knows, then a binary
// search. It returns the store's error.
func (k *Keeper) Newest(ctx context.Context, log string) (Checkpoint, bool, error) {
	hint, _ := k.Remembered(log)
	return k.probe(ctx, log, hint.N)
}

// probeMisses is how many numbers in a row (at doubling distances) probe finds missing before it
// stops looking further: so deleting the oldest checkpoint, or a few, does not hide the later ones.
const probeMisses = 2

// probe finds the highest n whose checkpoint exists, starting from hint when that one exists: it
// reads hint+1, hint+2, hint+4, ... until probeMisses in a row are missing, then halves the distance
// between the highest found and the next missing; numbers run 1, 2, 3, ... without a gap unless
// checkpoints were deleted, so it then also reads the probeMisses numbers after the one found and
// starts again from any it finds there.
func (k *Keeper) probe(ctx context.Context, log string, hint int64) (Checkpoint, bool, error) {
	type result struct {
		cp Checkpoint
		ok bool
	}
	seen := map[int64]result{}
	get := func(ctx context.Context, log string, n int64) (Checkpoint, bool, error) {
		if r, ok := seen[n]; ok {
			return r.cp, r.ok, nil
		}
		cp, ok, err := k.get(ctx, log, n)
		if err == nil {
			seen[n] = result{cp, ok}
		}
		return cp, ok, err
	}
	var found Checkpoint
	base := int64(0)
	if hint > 0 {
		cp, ok, err := get(ctx, log, hint)
		if err != nil {
			return Checkpoint{}, false, err
		}
		if ok {
			base, found = hint, cp
		}
	}
	for {
		lo, hi := base, int64(-1) // checkpoint lo exists (or lo is 0); once hi > 0, checkpoint hi does not
		for step, misses := int64(1), 0; misses < probeMisses; step *= 2 {
			cp, ok, err := get(ctx, log, base+step)
			if err != nil {
				return Checkpoint{}, false, err
			}
			if ok {
				lo, found, hi, misses = base+step, cp, -1, 0
			} else {
				if hi < 0 {
					hi = base + step
				}
				misses++
			}
		}
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			cp, ok, err := get(ctx, log, mid)
			if err != nil {
				return Checkpoint{}, false, err
			}
			if ok {
				lo, found = mid, cp
			} else {
				hi = mid
			}
		}
		next := int64(0)
		for n := lo + 2; n <= lo+1+probeMisses && next == 0; n++ { // lo+1 is missing
			cp, ok, err := get(ctx, log, n)
			if err != nil {
				return Checkpoint{}, false, err
			}
			if ok {
				next, found = n, cp
			}
		}
		if next == 0 {
			return found, lo > 0, nil
		}
		base = next
	}
}

func (k *Keeper) get(ctx context.Context, log string, n int64) (Checkpoint, bool, error) {
	cp, ok, err := k.store.Get(ctx, log, n)
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("reading checkpoint %d of %s: %w", n, log, err)
	}
	return cp, ok, nil
}

// Get returns checkpoint n of log as stored (signature not checked), and false when there is none.
// It returns the store's error.
func (k *Keeper) Get(ctx context.Context, log string, n int64) (Checkpoint, bool, error) {
	return k.get(ctx, log, n)
}

// Verify checks cp's signature and fields (see Signer.Verify): an error wrapping ErrInvalid.
func (k *Keeper) Verify(cp Checkpoint) error { return k.signer.Verify(cp) }

// Trust is the checkpoint a verification starts from.
type Trust struct {
	Checkpoint Checkpoint // the newest checkpoint whose signature verifies
	Found      bool       // there is one
	// Invalid holds the numbers of the stored checkpoints newer than Checkpoint whose signature does
	// not verify (forged or altered).
	Invalid []int64
	// Lost is true when Checkpoint is one this process made or read that the store no longer has (it
	// was deleted): Checkpoint then comes from memory.
	Lost bool
}

// Trusted returns the newest checkpoint of log whose signature verifies, stepping over (and naming)
// up to maxInvalidSkipped newer ones that do not, or the newest this process remembers when the store
// no longer has it. It returns the store's error.
func (k *Keeper) Trusted(ctx context.Context, log string) (Trust, error) {
	var t Trust
	cp, ok, err := k.Newest(ctx, log)
	if err != nil {
		return Trust{}, err
	}
	for ok && len(t.Invalid) < maxInvalidSkipped {
		if k.signer.Verify(cp) == nil {
			t.Checkpoint, t.Found = cp, true
			k.remember(cp)
			break
		}
		t.Invalid = append(t.Invalid, cp.N)
		if cp.N <= 1 {
			break
		}
		if cp, ok, err = k.get(ctx, log, cp.N-1); err != nil {
			return Trust{}, err
		}
	}
	if mem, known := k.Remembered(log); known && (!t.Found || mem.N > t.Checkpoint.N) && k.signer.Verify(mem) == nil {
		t.Checkpoint, t.Found, t.Lost = mem, true, true
	}
	return t, nil
}

// List returns up to limit stored checkpoints of log numbered below before (0: from the newest),
// newest first, skipping numbers the store lacks. It returns the store's error.
func (k *Keeper) List(ctx context.Context, log string, before int64, limit int) ([]Checkpoint, error) {
	newest, ok, err := k.Newest(ctx, log)
	if err != nil || !ok {
		return nil, err
	}
	from := newest.N
	if before > 0 {
		from = min(from, before-1)
	}
	out := make([]Checkpoint, 0, min(limit, 64))
	for n := from; n >= 1 && len(out) < limit; n-- {
		cp, ok, err := k.get(ctx, log, n)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, cp)
		}
	}
	return out, nil
}
