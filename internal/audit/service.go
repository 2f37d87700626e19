package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/checkpoint"
)

// Limits of List.
const (
	DefaultListLimit = 50  // used when the limit asked for is below 1
	MaxListLimit     = 200 // larger limits are cut to this
)

// MaxRecordAttempts bounds how many sequence numbers Record tries when writers of other instances
// keep taking them first. Measured on the embedded database with instances recording 100 entries of
// one organisation back to back (race detector on), the unluckiest record lost 10 races with 2
// instances, 20 with 5 and 39 with 10 (that was before group commit, with one entry per attempt):
// under overload of one organisation Record slows down (each attempt is two to four small database
// operations) well before it gives up, and the request's deadline usually ends it first. With group
// commit the limit applies to each batch.
const MaxRecordAttempts = 100

// MaxBatch is the most entries one group commit writes (see Service.Record).
const MaxBatch = 256

// HeadEvery is the most group commits a leader writes before it moves the head (see Service.Record).
// Between moves the stored head lags the log; Verify in this process makes up for it with what the
// process knows, and a restart after a crash finds the entries past the head (Service.end).
const HeadEvery = 8

// batchWriteTimeout bounds the database work of one group commit. The batch holds entries of several
// callers, so it is not cut short by any one caller's context; this keeps a hung database from
// holding an organisation's writers forever (each caller still leaves when its own context ends).
const batchWriteTimeout = 30 * time.Second

// Problem kinds reported by Verify.
const (
	ProblemHashMismatch = "hash_mismatch" // the entry's fields do not give its Hash: it was altered
	ProblemBrokenLink   = "broken_link"   // the entry's PrevHash is not the previous entry's Hash
	ProblemGap          = "gap"           // an entry is missing (deleted, or the log was truncated)
	// ProblemCheckpointInvalid: a stored checkpoint's signature does not verify (forged or altered).
	ProblemCheckpointInvalid = "checkpoint_invalid"
	// ProblemCheckpointMissing: a checkpoint below the newest is missing (deleted); VerifyFull only.
	ProblemCheckpointMissing = "checkpoint_missing"
)

// Problem is the first thing wrong with a log: the Seq where it is, its Kind (one of the Problem
// constants) and a developer-facing Detail.
type Problem struct {
	Seq    int64
	Kind   string
	Detail string
}

// Report is the result of Verify and VerifyFull: the number of entries read, whether the chain read
// is intact, the first problem when it is not, and the Seq and Hash of the newest entry read (worth
// noting outside the system: any later rewrite of the log up to there changes that hash). Checkpoint
// is the signed checkpoint Verify started from (VerifyFull: the newest valid one), nil when there is
// none; FromSeq the first entry read; AfterCheckpoint how many entries follow the checkpoint, which no
// signature covers yet; Full whether the whole log was read.
type Report struct {
	Entries         int
	OK              bool
	FirstProblem    *Problem
	LastSeq         int64
	LastHash        string
	Checkpoint      *checkpoint.Checkpoint
	CheckpointLost  bool // Checkpoint is one this process remembers that the store no longer has
	FromSeq         int64
	AfterCheckpoint int64
	Full            bool
}

// Service records, lists and verifies audit logs. It is safe for concurrent use.
type Service struct {
	store Store
	now   func() time.Time
	mu    sync.Mutex
	orgs  map[string]*orgLog // one per organisation recorded by this Service; never removed (small)
	// queued, when set (by tests), is called with Service.mu held after a caller queued its entry,
	// with the number of entries then waiting for a leader.
	queued func(waiting int)

	cps        Checkpointer  // nil: no checkpoints (Verify reads whole logs)
	cpInterval time.Duration // see WithCheckpoints
	flushing   bool          // Flush is running: leaders checkpoint what they wrote before stopping
	jobs       verifyJobs
}

// orgLog is the group-commit state of one organisation in this process. pending, leading, idle,
// stored and hasStored are guarded by Service.mu; the other fields are used only by the leader
// goroutine (there is at most one per organisation at a time, and it is started under Service.mu,
// which orders the accesses of one leader before those of the next).
type orgLog struct {
	pending   []*request    // waiting for the leader to take them, oldest first
	leading   bool          // a leader goroutine is running
	idle      chan struct{} // closed when the running leader stops (see Flush)
	stored    Entry         // the newest entry this process stored (see Verify)
	hasStored bool

	headKnown bool  // head and hasHead are the end of the log as this process last wrote or read it
	hasHead   bool  // the log has an entry
	head      Entry // the newest entry known
	headSeq   int64 // the Seq of the stored head as this process last wrote or read it
	unmoved   int   // group commits since the head was last moved

	org   string      // the organisation's id
	cpSeq int64       // the Seq of the newest checkpoint the leader made or saw
	cpAt  time.Time   // when the leader made or saw it (zero: never)
	timer *time.Timer // a checkpoint scheduled for entries left uncovered (guarded by Service.mu)
}

// request is one Record call waiting in an orgLog. Its fields except e and wake are guarded by
// Service.mu.
type request struct {
	e    Entry
	wake chan struct{} // closed when done is set
	done bool          // res and err are final
	res  Entry
	err  error
}

// NewService returns a Service over store taking the time from now (time.Now in production).
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now, orgs: map[string]*orgLog{}}
}

// Record appends e to its organisation's log and returns it as stored: the caller's Seq, Time,
// PrevHash and Hash are replaced by the next number, the server time (UTC, milliseconds) and the
// chain link. It returns only once the entry is stored (or with an error).
//
// Writers in this process commit in groups: the callers of one organisation queue their entries and
// a leader goroutine (one per organisation at a time, running while entries are queued) takes up to
// MaxBatch of them, chains them in queue order after the newest entry this process knows, writes them
// with one ordered insert (Store.AppendMany) and wakes each caller with its own entry or error; then
// it takes the entries queued meanwhile. The leader moves the stored head (Store.MoveHead) to the
// newest entry it knows when the queue runs empty and at least every HeadEvery group commits, after
// waking the callers: on the embedded database a head update costs more than the insert (measured:
// about 1.8 ms of CPU against 0.7 ms for an insert of two entries), so one per commit cost secured
// reads a fifth of their throughput. When a writer of another instance (or of
// this one before a restart) took a number first, the leader reads the head again and re-chains the
// unwritten rest after the head or after the newest entry from the number taken on (see end),
// whichever is newer, up to MaxRecordAttempts times per batch.
//
// It returns an error wrapping ErrInvalidEntry when e is refused (see Entry.Validate), an
// *apperr.Error of kind Unavailable (code "audit_busy") when every attempt lost the race, the
// context's error when it ends before the entry is stored, or the store's error. On any error the
// caller must fail its request: auditing cannot be skipped. A batch is not cut short by any one
// caller's context, so a caller whose context ends after the leader took its entry gets the context's
// error although its entry may still be stored (an entry too many is harmless: the chain stays
// intact); when the store fails part way through a batch, some of its entries may likewise be stored
// although their callers get the error.
func (s *Service) Record(ctx context.Context, e Entry) (Entry, error) {
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	if err := ctx.Err(); err != nil {
		return Entry{}, fmt.Errorf("waiting to record an audit entry: %w", err)
	}
	// The entry may outlive the caller (a leader writes it), and callers may pass strings that alias
	// a request buffer a server reuses: keep copies.
	r := &request{e: e.detached(), wake: make(chan struct{})}
	s.mu.Lock()
	q := s.orgs[r.e.OrgID]
	if q == nil {
		q = &orgLog{org: r.e.OrgID}
		s.orgs[r.e.OrgID] = q
	}
	q.pending = append(q.pending, r)
	if !q.leading {
		s.startLeader(context.WithoutCancel(ctx), q)
	}
	if s.queued != nil {
		s.queued(len(q.pending))
	}
	s.mu.Unlock()
	select {
	case <-r.wake:
		return r.res, r.err
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.done {
		return r.res, r.err
	}
	if i := slices.Index(q.pending, r); i >= 0 { // not taken yet: it will not be written
		q.pending = slices.Delete(q.pending, i, i+1)
	}
	return Entry{}, fmt.Errorf("waiting to record an audit entry: %w", ctx.Err())
}

// startLeader starts q's leader. The caller holds s.mu and has checked that none is running.
func (s *Service) startLeader(ctx context.Context, q *orgLog) {
	q.leading, q.idle = true, make(chan struct{})
	go s.lead(ctx, q)
}

// lead writes q's queued entries, a batch of at most MaxBatch at a time, waking their callers, until
// none is left; it moves the head every HeadEvery batches and before it stops.
func (s *Service) lead(ctx context.Context, q *orgLog) {
	for {
		s.mu.Lock()
		if len(q.pending) == 0 {
			force := s.flushing
			s.mu.Unlock()
			s.moveHead(ctx, q)
			s.checkpoint(ctx, q, true, force)
			s.mu.Lock()
		}
		if len(q.pending) == 0 {
			q.leading = false
			close(q.idle)
			s.mu.Unlock()
			return
		}
		n := min(len(q.pending), MaxBatch)
		batch := slices.Clone(q.pending[:n])
		q.pending = slices.Delete(q.pending, 0, n)
		s.mu.Unlock()

		wctx, cancel := context.WithTimeout(ctx, batchWriteTimeout)
		res, errs := s.commit(wctx, q, batch)
		cancel()

		s.mu.Lock()
		for i, r := range batch {
			r.res, r.err, r.done = res[i], errs[i], true
			close(r.wake)
			if r.err == nil && (!q.hasStored || r.res.Seq > q.stored.Seq) {
				q.stored, q.hasStored = r.res, true
			}
		}
		s.mu.Unlock()
		if q.unmoved++; q.unmoved >= HeadEvery {
			s.moveHead(ctx, q)
		}
		s.checkpoint(ctx, q, false, false)
	}
}

// moveHead stores the newest entry the leader of q knows as the head, when the stored head is behind
// it. Only the leader calls it. A failed move is not an error of any caller (their entries are
// stored): the head lags until the next move, which Store allows.
func (s *Service) moveHead(ctx context.Context, q *orgLog) {
	q.unmoved = 0
	if !q.headKnown || !q.hasHead || q.head.Seq <= q.headSeq {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, batchWriteTimeout)
	defer cancel()
	if err := s.store.MoveHead(wctx, q.head); err == nil {
		q.headSeq = q.head.Seq
	}
}

// Flush waits until every organisation's queue is written, its head moved and (with checkpoints) a
// checkpoint made of the newest entry this process wrote, or until ctx ends
// (then it returns ctx's error). Call it before closing the store, once no more entries come.
func (s *Service) Flush(ctx context.Context) error {
	s.mu.Lock()
	s.flushing = true
	for _, q := range s.orgs {
		if q.timer != nil {
			q.timer.Stop()
			q.timer = nil
		}
		if !q.leading && s.uncovered(q) { // a leader that finds no entry checkpoints and stops
			s.startLeader(context.Background(), q)
		}
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.flushing = false
		s.mu.Unlock()
	}()
	for {
		var idle []chan struct{}
		s.mu.Lock()
		for _, q := range s.orgs {
			if q.leading {
				idle = append(idle, q.idle)
			}
		}
		s.mu.Unlock()
		if len(idle) == 0 {
			return nil
		}
		for _, c := range idle {
			select {
			case <-c:
			case <-ctx.Done():
				return fmt.Errorf("flushing the audit logs: %w", ctx.Err())
			}
		}
	}
}

// commit chains and writes the entries of batch (in order) and returns each one's stored entry or
// error. Only the leader of q calls it.
func (s *Service) commit(ctx context.Context, q *orgLog, batch []*request) ([]Entry, []error) {
	res := make([]Entry, len(batch))
	errs := make([]error, len(batch))
	fail := func(from int, err error) {
		for i := from; i < len(batch); i++ {
			errs[i] = err
		}
		q.headKnown = false // the store may hold more than we know: read its head next time
	}
	orgID := batch[0].e.OrgID
	if !q.headKnown {
		// The head may name an entry deleted from the log: going on after it keeps the gap visible to
		// Verify instead of reusing the number.
		prev, ok, err := s.store.Last(ctx, orgID)
		if err != nil {
			fail(0, fmt.Errorf("reading the end of the audit log of %s: %w", orgID, err))
			return res, errs
		}
		q.head, q.hasHead, q.headKnown, q.headSeq = prev, ok, true, prev.Seq
	}
	entries := make([]Entry, 0, len(batch))
	done := 0 // batch[:done] are stored
	for range MaxRecordAttempts {
		entries = entries[:0]
		seq, prevHash, prevTime := int64(1), ZeroHash, time.Time{}
		if q.hasHead {
			seq, prevHash, prevTime = q.head.Seq+1, q.head.Hash, q.head.Time
		}
		for _, r := range batch[done:] {
			e := r.e
			e.Seq, e.PrevHash = seq, prevHash
			// Never before the previous entry (another instance's clock may run ahead): times do not
			// decrease with Seq, so a list filtered by time can find its first entry by time.
			e.Time = latest(s.now().UTC().Truncate(time.Millisecond), prevTime)
			e.Hash = e.ComputeHash()
			entries = append(entries, e)
			seq, prevHash, prevTime = seq+1, e.Hash, e.Time
		}
		err := s.store.AppendMany(ctx, entries)
		written := len(entries)
		var taken *SeqTakenError
		if err != nil {
			if !errors.As(err, &taken) {
				fail(done, fmt.Errorf("appending audit entries %s:%d to %d: %w", orgID, entries[0].Seq, entries[len(entries)-1].Seq, err))
				return res, errs
			}
			if taken.Written < 0 || taken.Written >= len(entries) {
				fail(done, fmt.Errorf("appending audit entries of %s: the store reports %d of %d stored with a number taken", orgID, taken.Written, len(entries)))
				return res, errs
			}
			written = taken.Written
		}
		copy(res[done:], entries[:written])
		if written > 0 {
			q.head, q.hasHead = entries[written-1], true
		}
		done += written
		if err == nil {
			return res, errs
		}
		// Go on from the head when it is at or past the number lost (this writer may be far behind),
		// otherwise from the newest entry from the number lost on: their writer has not moved the
		// head yet, and waiting for it would make this writer lose again.
		lost := entries[written].Seq
		prev, ok, err := s.store.Last(ctx, orgID)
		if err == nil && (!ok || prev.Seq < lost) {
			var found bool
			var entry Entry
			if entry, found, err = s.end(ctx, orgID, lost); found {
				prev, ok = entry, true
			}
		}
		if err != nil {
			fail(done, fmt.Errorf("reading the end of the audit log of %s: %w", orgID, err))
			return res, errs
		}
		q.head, q.hasHead = prev, ok
	}
	fail(done, &apperr.Error{Kind: apperr.Unavailable, Code: "audit_busy", MessageID: "ErrDatabaseUnavailable",
		Err: fmt.Errorf("recording audit entries of %s: the next sequence number was taken %d times", orgID, MaxRecordAttempts)})
	return res, errs
}

// end returns the newest entry numbered from taken on, when entry taken exists: it reads taken+1,
// taken+2, taken+4, ... until one is missing, then halves the distance between the last found and
// the first missing, so entries stored past a lagging head (by another instance, or before a crash)
// cost a number of reads that grows with the logarithm of how many there are. It returns false when
// entry taken does not exist (it was deleted), or the store's error.
func (s *Service) end(ctx context.Context, orgID string, taken int64) (Entry, bool, error) {
	newest, found, err := s.store.Entry(ctx, orgID, taken)
	if err != nil || !found {
		return newest, found, err
	}
	lo, hi := taken, int64(-1) // entry lo exists; entry hi, once hi >= 0, does not
	for step := int64(1); hi < 0; step *= 2 {
		e, ok, err := s.store.Entry(ctx, orgID, lo+step)
		if err != nil {
			return Entry{}, false, err
		}
		if !ok {
			hi = lo + step
			break
		}
		lo, newest = lo+step, e
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		e, ok, err := s.store.Entry(ctx, orgID, mid)
		if err != nil {
			return Entry{}, false, err
		}
		if ok {
			lo, newest = mid, e
		} else {
			hi = mid
		}
	}
	return newest, true, nil
}

// List returns up to limit entries of the organisation with Seq > after that match f, oldest first
// (ascending Seq), and the after of the next page: the Seq of the page's last entry when more entries
// match, 0 on the last page. A limit below 1 means DefaultListLimit; above MaxListLimit it is cut to
// MaxListLimit; a negative after means 0. It returns the store's error.
func (s *Service) List(ctx context.Context, orgID string, f Filter, after int64, limit int) ([]Entry, int64, error) {
	if limit < 1 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	after = max(after, 0)
	entries, err := s.store.List(ctx, orgID, f, after, limit+1) // one more tells whether a next page exists
	if err != nil {
		return nil, 0, fmt.Errorf("listing the audit log of %s: %w", orgID, err)
	}
	var next int64
	if len(entries) > limit {
		entries = entries[:limit]
		next = entries[limit-1].Seq
	}
	return entries, next, nil
}

// latest returns the later of a and b.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
