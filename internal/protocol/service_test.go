package protocol

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// staleStore answers LatestVersions with whatever it is told, as a read that raced a publish would.
type staleStore struct {
	Store
	latest []Version
}

func (s *staleStore) LatestVersions(context.Context) ([]Version, error) { return s.latest, nil }

// A refresh that read the store before a concurrent publish does not take the snapshot back.
func TestRefreshNeverGoesBack(t *testing.T) {
	t.Parallel()
	store := &staleStore{}
	s := NewService(store, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	ctx := context.Background()
	store.latest = []Version{{ProtocolID: "a", Number: 2}, {ProtocolID: "b", Number: 1, Retired: true}}
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	gen := s.Snapshot().Generation
	store.latest = []Version{{ProtocolID: "a", Number: 1}} // an older read: no b, a at 1, b not retired
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	lib := s.Snapshot()
	a, okA := lib.Find("a")
	b, okB := lib.Find("b")
	if !okA || a.Number != 2 || !okB || !b.Retired || lib.Generation != gen {
		t.Errorf("after an older read: %+v (generation %d, was %d)", lib.Latest, lib.Generation, gen)
	}
	store.latest = []Version{{ProtocolID: "a", Number: 3}, {ProtocolID: "b", Number: 1, Retired: true}, {ProtocolID: "c", Number: 1}}
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if lib := s.Snapshot(); len(lib.Latest) != 3 || lib.Latest[0].Number != 3 || lib.Generation == gen {
		t.Errorf("after a newer read: %+v", lib.Latest)
	}
}
