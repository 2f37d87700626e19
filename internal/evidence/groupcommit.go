package evidence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Appends to one item's custody chain are committed in groups within this process: the callers of an
// item queue their events (queue) and one leader goroutine per item (lead) chains everything queued
// after the chain's end, stores it with one ordered insert, one change-sequence increment and one
// signed head update (commit), and wakes each caller with its event and the receipt (deliver). A
// writer of another instance that took a sequence number first makes the leader read the chain's end
// again and re-chain the rest (catchUp), up to maxAppendAttempts times.

// MaxBatch is the most events one group commit of an item writes.
const MaxBatch = 256

// maxAppendAttempts bounds how often a batch is re-chained after writers of other instances took
// its sequence numbers first.
const maxAppendAttempts = 50

// batchWriteTimeout bounds the database work of one group commit (it is not cut short by one
// caller's context, since it holds events of several callers).
const batchWriteTimeout = 30 * time.Second

// maxCachedChains bounds the items whose chain ends this process keeps in memory.
const maxCachedChains = 4096

// chainLog is the group-commit state of one item in this process. pending and leading are guarded
// by Service.mu; the rest is used only by the item's leader goroutine (one at a time, started under
// Service.mu).
type chainLog struct {
	pending []*appendRequest
	leading bool

	known bool // item is the chain's end as this process last wrote or read it
	item  Item
	ids   map[string]int64 // the client id and Seq of every event of the chain up to item.Head (retries)

	fixed *Item // the item as first read (its fixed fields never change), guarded by Service.mu
}

type appendRequest struct {
	e       Event
	wake    chan struct{}
	done    bool
	dup     bool           // the event was appended before (a retry)
	twin    *appendRequest // an earlier request of the same batch with the same event id
	res     Event
	item    Item
	receipt Receipt
	err     error
}

// queue hands e to its item's leader and returns the finished request.
func (s *Service) queue(ctx context.Context, it Item, e Event) (*appendRequest, error) {
	rs, err := s.queueAll(ctx, it, []Event{e})
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// queueAll hands events to their item's leader together, in order (so one group commit takes them
// all when they fit in MaxBatch), and returns the finished requests.
func (s *Service) queueAll(ctx context.Context, it Item, events []Event) ([]*appendRequest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rs := make([]*appendRequest, len(events))
	for i, e := range events {
		rs[i] = &appendRequest{e: e, wake: make(chan struct{})}
	}
	s.mu.Lock()
	q := s.chains[it.ID]
	if q == nil {
		if len(s.chains) >= maxCachedChains {
			for id, c := range s.chains {
				if !c.leading {
					delete(s.chains, id)
				}
			}
		}
		q = &chainLog{}
		s.chains[it.ID] = q
	}
	if q.fixed == nil && it.Head.Seq > 0 {
		fixed := it.clone()
		q.fixed = &fixed
	}
	q.pending = append(q.pending, rs...)
	if !q.leading {
		q.leading = true
		go s.lead(context.WithoutCancel(ctx), q, it.ID)
	}
	s.mu.Unlock()
	for _, r := range rs {
		select {
		case <-r.wake:
			continue
		case <-ctx.Done():
		}
		s.mu.Lock()
		all := true
		for _, r := range rs {
			if !r.done {
				all = false
				if i := slices.Index(q.pending, r); i >= 0 { // not taken yet: it will not be written
					q.pending = slices.Delete(q.pending, i, i+1)
				}
			}
		}
		s.mu.Unlock()
		if all {
			return rs, nil
		}
		return nil, fmt.Errorf("waiting to append to the custody chain: %w", ctx.Err())
	}
	return rs, nil
}

func (s *Service) lead(ctx context.Context, q *chainLog, itemID string) {
	for {
		s.mu.Lock()
		if len(q.pending) == 0 {
			q.leading = false
			s.mu.Unlock()
			return
		}
		n := min(len(q.pending), MaxBatch)
		batch := slices.Clone(q.pending[:n])
		q.pending = slices.Delete(q.pending, 0, n)
		s.mu.Unlock()

		wctx, cancel := context.WithTimeout(ctx, batchWriteTimeout)
		s.commit(wctx, q, itemID, batch)
		cancel()

		s.mu.Lock()
		for _, r := range batch {
			r.done = true
			close(r.wake)
		}
		s.mu.Unlock()
	}
}

// catchUp reads the events after the known head (written by other instances, or left behind by a
// head update that failed) and folds them into q.item.
func (s *Service) catchUp(ctx context.Context, q *chainLog) error {
	for {
		e, found, err := s.store.Event(ctx, q.item.ID, q.item.Head.Seq+1)
		if err != nil {
			return err
		}
		if !found {
			return nil
		}
		q.item.State = q.item.State.Apply(e)
		q.item.Head = Head{Seq: e.Seq, Hash: e.Hash}
		q.ids[e.ID] = e.Seq
	}
}

// commit chains and stores the events of batch, then signs and records the new head. Only the
// item's leader calls it; it sets each request's result.
func (s *Service) commit(ctx context.Context, q *chainLog, itemID string, batch []*appendRequest) {
	fail := func(rs []*appendRequest, err error) {
		for _, r := range rs {
			if r.err == nil && r.res.Seq == 0 {
				r.err = err
			}
		}
		q.known = false
	}
	if !q.known {
		it, err := s.store.Item(ctx, itemID)
		if err == nil {
			q.item = it
			if q.ids, err = s.store.EventIDs(ctx, itemID); err == nil {
				err = s.catchUp(ctx, q) // the head may lag behind the chain
			}
		}
		if err != nil {
			fail(batch, fmt.Errorf("reading the custody chain of %s: %w", itemID, err))
			return
		}
		q.known = true
	}
	todo := batch
	wrote := false
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt == maxAppendAttempts {
			fail(todo, errChainBusy(itemID))
			break
		}
		st, head := q.item.State, q.item.Head
		prev := head.Hash
		if head.Seq == 0 {
			prev = ZeroHash
		}
		var events []Event
		var owners []*appendRequest
		ids := map[string]*appendRequest{}
		now := s.clock()
		for _, r := range todo {
			if r.dup || r.twin != nil {
				continue
			}
			if seq, ok := q.ids[r.e.ID]; ok {
				e, found, err := s.store.Event(ctx, itemID, seq)
				if err == nil && !found {
					err = fmt.Errorf("event %d is missing", seq)
				}
				if err != nil {
					r.err = fmt.Errorf("reading custody event %s: %w", r.e.ID, err)
					continue
				}
				r.res, r.dup = e, true
				continue
			}
			if first, ok := ids[r.e.ID]; ok {
				r.twin = first // answered with the first one's result, below
				continue
			}
			if err := allowed(st, q.item, r.e); err != nil {
				r.err = err
				continue
			}
			if r.e.Type == EventCorrection && r.e.CorrectsSeq > head.Seq+int64(len(events)) {
				r.err = errCorrectsUnknown(r.e.CorrectsSeq)
				continue
			}
			if head.Seq+int64(len(events)) >= maxEventsPerItem {
				r.err = errChainFull(itemID)
				continue
			}
			e := r.e
			e.Seq = head.Seq + int64(len(events)) + 1
			e.PrevHash, e.ReceivedAt = prev, now
			e.Hash = e.ComputeHash()
			st = st.Apply(e)
			prev = e.Hash
			events = append(events, e)
			owners = append(owners, r)
			ids[e.ID] = r
		}
		if len(events) == 0 {
			break
		}
		err := s.store.InsertEvents(ctx, events)
		written := len(events)
		var taken *SeqTakenError
		if err != nil {
			if !errors.As(err, &taken) || taken.Written < 0 || taken.Written >= len(events) {
				fail(owners, fmt.Errorf("appending to the custody chain of %s: %w", itemID, err))
				break
			}
			written = taken.Written
		}
		for i, e := range events[:written] {
			q.item.State = q.item.State.Apply(e)
			q.item.Head = Head{Seq: e.Seq, Hash: e.Hash}
			q.ids[e.ID] = e.Seq
			owners[i].res = e
			wrote = true
		}
		if err == nil {
			break
		}
		if err := s.catchUp(ctx, q); err != nil {
			fail(owners[written:], fmt.Errorf("reading the custody chain of %s: %w", itemID, err))
			break
		}
		todo = owners[written:]
	}
	for _, r := range batch {
		if r.twin != nil {
			r.res, r.dup, r.err = r.twin.res, true, r.twin.err
		}
	}
	if !wrote {
		s.deliver(batch, q.item, Receipt{})
		return
	}
	rc := s.signer.Sign(Receipt{OrgID: q.item.OrgID, CaseID: q.item.CaseID, ItemID: q.item.ID, Seq: q.item.Head.Seq, HeadHash: q.item.Head.Hash}, s.now())
	head := Head{Seq: q.item.Head.Seq, Hash: q.item.Head.Hash, Receipt: rc.Token}
	if err := s.store.SetHead(ctx, q.item, head, q.item.State); err != nil {
		// The events are stored; their callers get the error and a retry finds them by id.
		for _, r := range batch {
			if r.err == nil {
				r.err = fmt.Errorf("recording the head of the custody chain of %s: %w", itemID, err)
			}
		}
		q.known = false
		return
	}
	q.item.Head = head
	q.item.UpdatedAt = s.clock()
	s.checkpointHead(ctx, itemID, head)
	s.deliver(batch, q.item, rc)
}

func (s *Service) deliver(batch []*appendRequest, it Item, rc Receipt) {
	for _, r := range batch {
		if r.err == nil && r.res.Seq == 0 {
			r.err = errChainBusy(it.ID)
		}
		r.item, r.receipt = it.clone(), rc
	}
}
