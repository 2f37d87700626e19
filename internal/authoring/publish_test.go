package authoring

import (
	"context"
	"errors"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/protocols"
)

// fakeLibrary holds published versions in memory.
type fakeLibrary struct{ versions []protocol.Version }

func (f *fakeLibrary) Latest(id string) (protocol.Version, error) {
	if len(f.versions) == 0 {
		return protocol.Version{}, apperr.New(apperr.NotFound, "protocol_not_found", "ErrProtocolNotFound", nil)
	}
	return f.versions[len(f.versions)-1], nil
}

func (f *fakeLibrary) Version(_ context.Context, id string, n int) (protocol.Version, error) {
	if n < 1 || n > len(f.versions) {
		return protocol.Version{}, apperr.New(apperr.NotFound, "version_not_found", "ErrVersionNotFound", nil)
	}
	return f.versions[n-1], nil
}

func (f *fakeLibrary) Versions(context.Context, string) ([]protocol.Version, error) {
	return f.versions, nil
}

func (f *fakeLibrary) Publish(_ context.Context, docs []protocol.Document) ([]protocol.PublishResult, error) {
	hash, _ := docs[0].ContentHash()
	f.versions = append(f.versions, protocol.Version{ProtocolID: docs[0].Protocol.ID, Number: len(f.versions) + 1, ContentHash: hash, Document: docs[0]})
	return []protocol.PublishResult{{ProtocolID: docs[0].Protocol.ID, Version: len(f.versions), Created: true}}, nil
}

func (f *fakeLibrary) Refresh(context.Context) error { return nil }

// failingStore fails the next draft update once, as a database might after the library published.
type failingStore struct {
	memStore
	failNext bool
}

func (f *failingStore) UpdateDraft(ctx context.Context, d Draft) error {
	if f.failNext {
		f.failNext = false
		return errors.New("connection lost")
	}
	return f.memStore.UpdateDraft(ctx, d)
}

func (f *failingStore) Retirement(context.Context, string) (Retirement, error) {
	return Retirement{}, ErrNotFound
}

func TestPublishRules(t *testing.T) {
	t.Parallel()
	v, err := protocol.NewValidator(protocols.ProtocolSchema, protocols.TranslationSchema, []string{"en", "fr"})
	if err != nil {
		t.Fatal(err)
	}
	doc := sampleDoc()
	doc.Protocol.ID = "sample"
	strs := doc.Protocol.Strings()
	fr, from := map[string]string{}, map[string]string{}
	for _, s := range strs {
		fr[s.ID], from[s.ID] = s.Text+" (fr)", s.Text
	}
	ctx := context.Background()
	editor := identity.Principal{UserID: "u2", OrgID: "o", Roles: []identity.Role{identity.RoleContentEditor}}
	newDraft := func(status Status, tr, trFrom map[string]string) Draft {
		return Draft{ID: "0192c0de-0000-7000-8000-000000000002", ProtocolID: "sample", Protocol: doc.Protocol, Status: status, Version: 3,
			Authors: []string{"u1"}, Translations: protocol.Translations{"fr": tr}, TranslatedFrom: protocol.Translations{"fr": trFrom}}
	}
	stale := map[string]string{}
	for k, v := range from {
		stale[k] = v
	}
	stale["title"] = "an older title"
	tests := []struct {
		name  string
		draft Draft
		code  string
	}{
		{"not approved", newDraft(StatusInReview, fr, from), "draft_status"},
		{"a missing translation", newDraft(StatusApproved, map[string]string{"title": "x"}, map[string]string{"title": "T"}), "translations_incomplete"},
		{"a stale translation", newDraft(StatusApproved, fr, stale), "translations_incomplete"},
		{"complete", newDraft(StatusApproved, fr, from), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &failingStore{memStore: memStore{drafts: map[string]Draft{tt.draft.ID: tt.draft}}}
			lib := &fakeLibrary{}
			s := NewService(store, lib, v, noEvents{}, []string{"en", "fr"}, nil)
			res, err := s.Publish(ctx, editor, tt.draft.ID, 3)
			if tt.code != "" {
				if e := apperr.As(err); e == nil || e.Code != tt.code || len(lib.versions) != 0 {
					t.Fatalf("got %v (%d versions), want %s", err, len(lib.versions), tt.code)
				}
				return
			}
			if err != nil || res.Version != 1 || res.Draft.Status != StatusPublished {
				t.Fatalf("publish: %+v %v", res, err)
			}
		})
	}
	t.Run("retry after the draft could not be stored", func(t *testing.T) {
		t.Parallel()
		d := newDraft(StatusApproved, fr, from)
		store := &failingStore{memStore: memStore{drafts: map[string]Draft{d.ID: d}}, failNext: true}
		lib := &fakeLibrary{}
		s := NewService(store, lib, v, noEvents{}, []string{"en", "fr"}, nil)
		if _, err := s.Publish(ctx, editor, d.ID, 3); err == nil {
			t.Fatal("the store failure was not reported")
		}
		res, err := s.Publish(ctx, editor, d.ID, 3)
		if err != nil || res.Version != 1 || len(lib.versions) != 1 {
			t.Fatalf("retry: %+v %v, %d versions", res, err, len(lib.versions))
		}
	})
	t.Run("the author cannot approve", func(t *testing.T) {
		t.Parallel()
		d := newDraft(StatusInReview, fr, from)
		store := &failingStore{memStore: memStore{drafts: map[string]Draft{d.ID: d}}}
		s := NewService(store, &fakeLibrary{}, v, noEvents{}, nil, nil)
		author := identity.Principal{UserID: "u1", Roles: []identity.Role{identity.RoleContentEditor}}
		if _, err := s.Approve(ctx, author, d.ID, 3, ""); apperr.KindOf(err) != apperr.Forbidden {
			t.Errorf("author approves: %v", err)
		}
		admin := identity.Principal{UserID: "u3", Roles: []identity.Role{identity.RoleAdmin}}
		if _, err := s.Approve(ctx, admin, d.ID, 3, ""); !errors.Is(err, identity.ErrForbidden) {
			t.Errorf("admin approves: %v", err)
		}
		if _, err := s.Approve(ctx, editor, d.ID, 3, ""); err != nil {
			t.Errorf("second editor approves: %v", err)
		}
	})
}
