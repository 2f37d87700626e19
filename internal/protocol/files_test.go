package protocol_test

import (
	"testing"
	"testing/fstest"

	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/protocols"
)

// Every shipped protocol written with Files and read back with LoadDir has the same content hash.
func TestFilesRoundTrip(t *testing.T) {
	t.Parallel()
	v, err := protocol.NewValidator(protocols.ProtocolSchema, protocols.TranslationSchema, i18n.Codes())
	if err != nil {
		t.Fatal(err)
	}
	docs, problems := v.LoadDir(protocols.FS)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	for _, doc := range docs {
		t.Run(doc.Protocol.ID, func(t *testing.T) {
			t.Parallel()
			files, err := doc.Files()
			if err != nil {
				t.Fatal(err)
			}
			fsys := fstest.MapFS{}
			for _, f := range files {
				fsys[f.Path] = &fstest.MapFile{Data: f.Content}
			}
			back, ps := v.LoadDir(fsys)
			if len(ps) > 0 || len(back) != 1 {
				t.Fatalf("problems reading the files back: %v", ps)
			}
			want, _ := doc.ContentHash()
			got, _ := back[0].ContentHash()
			if got != want {
				t.Errorf("content hash changed: %s -> %s", want, got)
			}
		})
	}
}
