package mongodb_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

func sampleDoc(id, title string) protocol.Document {
	return protocol.Document{
		Protocol: protocol.Protocol{
			ID: id, Kind: protocol.KindSupport, Title: title, Summary: "s", Notice: "n",
			CaseTypes: []protocol.CaseType{protocol.CaseGrooming}, AgeBands: []protocol.AgeBand{protocol.AgeUnder6},
			References: []protocol.Reference{{ID: "r", Title: "R"}},
			Phases:     []protocol.Phase{{ID: "p", Title: "P", Steps: []protocol.Step{{ID: "s1", Title: "S", Body: "B", Required: true, PerformedBy: "caseworker"}}}},
		},
		Translations: protocol.Translations{"fr": {"title": "Titre"}},
	}
}

func newService(t *testing.T) (*protocol.Service, protocol.Store) {
	t.Helper()
	db := dbtest.Open(t)
	return protocol.NewService(db.Protocols(), slog.New(slog.NewJSONHandler(io.Discard, nil))), db.Protocols()
}

func TestPublishVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := newService(t)

	steps := []struct {
		name        string
		doc         protocol.Document
		wantVersion int
		wantCreated bool
	}{
		{"first publish creates version 1", sampleDoc("a", "First"), 1, true},
		{"same content creates nothing", sampleDoc("a", "First"), 1, false},
		{"changed content creates version 2", sampleDoc("a", "Second"), 2, true},
		{"changed back creates version 3, not a reuse", sampleDoc("a", "First"), 3, true},
	}
	for _, st := range steps {
		res, err := svc.Publish(ctx, []protocol.Document{st.doc})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if res[0].Version != st.wantVersion || res[0].Created != st.wantCreated {
			t.Fatalf("%s: got %+v", st.name, res[0])
		}
	}
	latest, err := svc.Latest("a")
	if err != nil || latest.Number != 3 || latest.Document.Protocol.Title != "First" {
		t.Fatalf("latest = %+v, %v", latest, err)
	}
	v2, err := svc.Version(ctx, "a", 2)
	if err != nil || v2.Document.Protocol.Title != "Second" || v2.Document.Translations["fr"]["title"] != "Titre" {
		t.Fatalf("version 2 = %+v, %v", v2, err)
	}
	vs, err := svc.Versions(ctx, "a")
	if err != nil || len(vs) != 3 || vs[0].Number != 1 || vs[2].Number != 3 {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	for _, tc := range []struct {
		id string
		n  int
	}{{"a", 0}, {"a", 4}, {"missing", 1}} {
		if _, err := svc.Version(ctx, tc.id, tc.n); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("Version(%s, %d) error = %v, want not found", tc.id, tc.n, err)
		}
	}
}

// Two instances publishing the same new content at once must end with one new version, not two.
func TestConcurrentPublishersDoNotFork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	const instances = 4
	var wg sync.WaitGroup
	results := make([][]protocol.PublishResult, instances)
	errs := make([]error, instances)
	for i := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := protocol.NewService(db.Protocols(), log)
			results[i], errs[i] = svc.Publish(ctx, []protocol.Document{sampleDoc("b", "Same")})
		}()
	}
	wg.Wait()
	created := 0
	for i := range instances {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		if results[i][0].Version != 1 {
			t.Errorf("instance %d published version %d", i, results[i][0].Version)
		}
		if results[i][0].Created {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d instances created a version, want exactly 1", created)
	}
	vs, err := db.Protocols().Versions(ctx, "b")
	if err != nil || len(vs) != 1 {
		t.Fatalf("versions = %v, %v", vs, err)
	}
}

func TestStoreVersionErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, store := newService(t)
	if _, err := store.Version(ctx, "none", 1); !errors.Is(err, protocol.ErrNoVersion) {
		t.Errorf("missing version error = %v", err)
	}
	v := protocol.Version{ProtocolID: "c", Number: 1, ContentHash: "h", Document: sampleDoc("c", "C")}
	if err := store.InsertVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := store.InsertVersion(ctx, v); !errors.Is(err, protocol.ErrVersionExists) {
		t.Errorf("second insert error = %v, want ErrVersionExists", err)
	}
}

func TestEnsureIndexesIsIdempotent(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t)
	if err := db.EnsureIndexes(context.Background()); err != nil {
		t.Fatalf("second EnsureIndexes: %v", err)
	}
}
