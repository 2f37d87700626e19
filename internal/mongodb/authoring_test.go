package mongodb_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

func TestAuthoringDrafts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	store := db.Authoring()
	now := time.Now().UTC().Truncate(time.Millisecond)
	doc := sampleDoc("drafted", "Drafted")
	d := authoring.Draft{ID: uuid.NewString(), ProtocolID: "drafted", Protocol: doc.Protocol, Translations: doc.Translations,
		TranslatedFrom: protocol.Translations{"fr": {"title": "Drafted"}}, Status: authoring.StatusEditing, Authors: []string{"u1"},
		Review:    []authoring.ReviewEntry{{Action: authoring.ReviewSubmitted, By: "u1", At: now, Comment: "ready"}},
		CreatedAt: now, UpdatedAt: now, CreatedBy: "u1", Version: 1}
	if err := store.CreateDraft(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateDraft(ctx, d); !errors.Is(err, authoring.ErrExists) {
		t.Errorf("second create: %v", err)
	}
	got, err := store.Draft(ctx, d.ID)
	if err != nil || got.Protocol.Title != "Drafted" || got.Translations["fr"]["title"] != "Titre" ||
		got.TranslatedFrom["fr"]["title"] != "Drafted" || len(got.Review) != 1 || !got.Review[0].At.Equal(now) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	next := got
	next.Version, next.Status = 2, authoring.StatusInReview
	if err := store.UpdateDraft(ctx, next); err != nil {
		t.Fatal(err)
	}
	if err := store.UpdateDraft(ctx, next); !errors.Is(err, authoring.ErrStale) {
		t.Errorf("update at a stale version: %v", err)
	}
	next.ID = uuid.NewString()
	if err := store.UpdateDraft(ctx, next); !errors.Is(err, authoring.ErrNotFound) {
		t.Errorf("update of an unknown draft: %v", err)
	}
	if _, err := store.Draft(ctx, next.ID); !errors.Is(err, authoring.ErrNotFound) {
		t.Errorf("unknown draft: %v", err)
	}
	list, err := store.ListDrafts(ctx, "drafted", "", 10)
	if err != nil || len(list) != 1 || list[0].Status != authoring.StatusInReview {
		t.Errorf("list %+v, %v", list, err)
	}
	if list, _ := store.ListDrafts(ctx, "other", "", 10); len(list) != 0 {
		t.Errorf("drafts of another protocol: %d", len(list))
	}
}

// Retiring marks the protocol's head, so the library sees it; a second retirement is refused.
func TestAuthoringRetire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	if err := db.Protocols().InsertVersion(ctx, protocol.Version{ProtocolID: "old", Number: 1, ContentHash: "h", PublishedAt: time.Now().UTC(), Document: sampleDoc("old", "Old")}); err != nil {
		t.Fatal(err)
	}
	r := authoring.Retirement{ProtocolID: "old", RetiredAt: time.Now().UTC().Truncate(time.Millisecond), RetiredBy: "u", Reason: "replaced"}
	if err := db.Authoring().Retire(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := db.Authoring().Retire(ctx, r); !errors.Is(err, authoring.ErrExists) {
		t.Errorf("second retirement: %v", err)
	}
	got, err := db.Authoring().Retirement(ctx, "old")
	if err != nil || got.Reason != "replaced" {
		t.Errorf("retirement %+v, %v", got, err)
	}
	latest, err := db.Protocols().LatestVersions(ctx)
	if err != nil || len(latest) != 1 || !latest[0].Retired {
		t.Errorf("latest %+v, %v", latest, err)
	}
	if _, err := db.Authoring().Retirement(ctx, "new"); !errors.Is(err, authoring.ErrNotFound) {
		t.Errorf("not retired: %v", err)
	}
}

// Runs are counted per version of one protocol within one organisation, with their distinct cases;
// only open cases of that organisation count as open.
func TestAuthoringCountRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	cw := db.Casework(caseworkRing(t, caseworkKey("k1", 1)))
	now := time.Now().UTC().Truncate(time.Millisecond)
	mkCase := func(org string, status casework.Status) string {
		c := casework.Case{ID: uuid.NewString(), OrgID: org, Status: status, CaseTypes: []protocol.CaseType{protocol.CaseGrooming},
			Child: casework.Child{Pseudonym: "P", AgeBand: protocol.AgeUnder6}, OpenedAt: now, CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := cw.CreateCase(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	mkRun := func(org, caseID, pid string, version int) {
		if err := cw.CreateRun(ctx, casework.Run{ID: uuid.NewString(), OrgID: org, CaseID: caseID, ProtocolID: pid, ProtocolVersion: version, StartedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	open1, open2, closed := mkCase("org", casework.StatusOpen), mkCase("org", casework.StatusOpen), mkCase("org", casework.StatusClosed)
	elsewhere := mkCase("other", casework.StatusOpen)
	mkRun("org", open1, "p", 1)
	mkRun("org", open1, "p", 1)
	mkRun("org", closed, "p", 1)
	mkRun("org", open2, "p", 2)
	mkRun("org", open2, "q", 1)
	mkRun("other", elsewhere, "p", 1)

	counts, err := db.Authoring().CountRuns(ctx, "org", "p")
	if err != nil || len(counts) != 2 {
		t.Fatalf("counts %+v, %v", counts, err)
	}
	if counts[0].Version != 1 || counts[0].Runs != 3 || len(counts[0].CaseIDs) != 2 || counts[1].Version != 2 || counts[1].Runs != 1 {
		t.Errorf("counts %+v", counts)
	}
	open, err := db.Authoring().OpenCases(ctx, "org", counts[0].CaseIDs)
	if err != nil || len(open) != 1 || !open[open1] {
		t.Errorf("open cases of version 1: %v, %v", open, err)
	}
	if open, _ := db.Authoring().OpenCases(ctx, "org", []string{elsewhere}); len(open) != 0 {
		t.Errorf("another organisation's case counted: %v", open)
	}
	if !slices.Contains(counts[0].CaseIDs, closed) {
		t.Errorf("the closed case's run is not counted as a run: %v", counts[0].CaseIDs)
	}
}
