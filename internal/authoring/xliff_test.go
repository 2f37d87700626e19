package authoring

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/protocols"
)

// memStore keeps drafts in memory for service tests.
type memStore struct {
	Store
	drafts map[string]Draft
}

func (m *memStore) Draft(_ context.Context, id string) (Draft, error) {
	d, ok := m.drafts[id]
	if !ok {
		return Draft{}, ErrNotFound
	}
	return cloneDraft(d), nil
}

func (m *memStore) UpdateDraft(_ context.Context, d Draft) error {
	if m.drafts[d.ID].Version != d.Version-1 {
		return ErrStale
	}
	m.drafts[d.ID] = cloneDraft(d)
	return nil
}

type noEvents struct{}

func (noEvents) RecordEvent(context.Context, audit.Event) error { return nil }

// The XLIFF export is XLIFF 2.0 with source, target and state per string; sending it back after a
// translator filled a unit translates that string, and a stale unit sent back unchanged stays stale.
func TestXLIFFRoundTrip(t *testing.T) {
	t.Parallel()
	v, err := protocol.NewValidator(protocols.ProtocolSchema, protocols.TranslationSchema, []string{"en", "fr"})
	if err != nil {
		t.Fatal(err)
	}
	doc := sampleDoc()
	d := Draft{ID: "0192c0de-0000-7000-8000-000000000001", ProtocolID: "p", Protocol: doc.Protocol, Status: StatusEditing, Version: 1,
		Translations:   protocol.Translations{"fr": {"title": "T fr", "summary": "S fr"}},
		TranslatedFrom: protocol.Translations{"fr": {"title": "T", "summary": "old summary"}}}
	store := &memStore{drafts: map[string]Draft{d.ID: d}}
	s := NewService(store, nil, v, noEvents{}, []string{"en", "fr"}, nil)
	editor := identity.Principal{UserID: "u", OrgID: "o", Roles: []identity.Role{identity.RoleContentEditor}}

	out, err := s.ExportXLIFF(context.Background(), editor, d.ID, "fr")
	if err != nil {
		t.Fatal(err)
	}
	var x xliffDoc
	if err := xml.Unmarshal(out, &x); err != nil || x.Version != "2.0" || x.TrgLang != "fr" || len(x.Files) != 1 {
		t.Fatalf("not XLIFF 2.0: %v\n%s", err, out)
	}
	states := map[string]string{}
	for _, u := range x.Files[0].Units {
		states[u.ID] = u.Segment.State
	}
	if states["title"] != "translated" || states["summary"] != "initial" || states["notice"] != "initial" {
		t.Fatalf("states %v", states)
	}
	filled := strings.Replace(string(out), "<source>N</source>", `<source>N</source><target>N fr</target>`, 1)
	filled = regexpReplaceState(filled, "notice")
	got, err := s.ImportXLIFF(context.Background(), editor, d.ID, 1, "fr", []byte(filled))
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	st := s.LocaleStatus(&got, "fr")
	byID := map[string]StringState{}
	for _, str := range st.Strings {
		byID[str.ID] = str.State
	}
	if byID["notice"] != StringTranslated || byID["summary"] != StringStale || byID["title"] != StringTranslated {
		t.Errorf("after import: %v", byID)
	}
}

// regexpReplaceState marks unit id's segment translated.
func regexpReplaceState(doc, id string) string {
	i := strings.Index(doc, `<unit id="`+id+`">`)
	j := strings.Index(doc[i:], `state="initial"`)
	return doc[:i+j] + `state="translated"` + doc[i+j+len(`state="initial"`):]
}
