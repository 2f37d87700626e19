package protocols_test

import (
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/protocols"
)

// The shipped library is valid and every protocol is translated into every supported locale, with
// no missing and no extra string: incompleteness fails here although the service would still start.
func TestShippedLibraryIsValidAndComplete(t *testing.T) {
	t.Parallel()
	v, err := protocol.NewValidator(protocols.ProtocolSchema, protocols.TranslationSchema, i18n.Codes())
	if err != nil {
		t.Fatal(err)
	}
	docs, problems := v.LoadDir(protocols.FS)
	for _, p := range problems {
		t.Error(p.String())
	}
	if len(docs) < 5 {
		t.Fatalf("%d protocols shipped, want at least 5", len(docs))
	}
	kinds := map[protocol.Kind]int{}
	for _, d := range docs {
		kinds[d.Protocol.Kind]++
		for _, code := range i18n.Codes() {
			if c := d.Completeness(code); c.Ratio() != 1 {
				t.Errorf("%s: %s is %.0f%% translated", d.Protocol.ID, code, 100*c.Ratio())
			}
		}
	}
	for _, k := range protocol.Kinds {
		if kinds[k] == 0 {
			t.Errorf("no %s protocol shipped", k)
		}
	}
}
