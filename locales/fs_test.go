package locales_test

import (
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/locales"
)

var placeholder = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

// messages reads a locale's files as id -> all texts of the message (one, or one per plural form).
func messages(t *testing.T, code string) map[string][]string {
	t.Helper()
	files, err := i18n.MessageFiles(locales.FS, code)
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]any{}
	for _, file := range files { // <code>.yaml and console.<code>.yaml: one catalog
		b, err := fs.ReadFile(locales.FS, file)
		if err != nil {
			t.Fatal(err)
		}
		var part map[string]any
		if err := yaml.Unmarshal(b, &part); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for id, v := range part {
			if _, dup := raw[id]; dup {
				t.Errorf("%s: %s is defined twice for %s", file, id, code)
			}
			raw[id] = v
		}
	}
	out := map[string][]string{}
	for id, v := range raw {
		switch v := v.(type) {
		case string:
			out[id] = []string{v}
		case map[string]any:
			for _, form := range v {
				s, _ := form.(string)
				out[id] = append(out[id], s)
			}
		default:
			t.Errorf("%s.yaml: %s has an unexpected shape %T", code, id, v)
		}
	}
	return out
}

func placeholders(texts []string) []string {
	var names []string
	for _, s := range texts {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			if !slices.Contains(names, m[1]) {
				names = append(names, m[1])
			}
		}
	}
	sort.Strings(names)
	return names
}

// Every locale has exactly the source locale's message ids, no empty text, and the same placeholders.
func TestEveryLocaleHasExactlyTheSourceMessages(t *testing.T) {
	t.Parallel()
	source := messages(t, i18n.SourceLocale)
	for _, code := range i18n.Codes() {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			got := messages(t, code)
			for id, texts := range source {
				tr, ok := got[id]
				if !ok {
					t.Errorf("%s.yaml lacks %q", code, id)
					continue
				}
				for _, s := range tr {
					if s == "" {
						t.Errorf("%s.yaml: %q is empty", code, id)
					}
				}
				if want, have := placeholders(texts), placeholders(tr); !slices.Equal(want, have) && !(id == "duration.hours" || id == "duration.days") {
					t.Errorf("%s.yaml: %q uses placeholders %v, the source %v", code, id, have, want)
				}
			}
			for id := range got {
				if _, ok := source[id]; !ok {
					t.Errorf("%s.yaml has %q, which the source does not", code, id)
				}
			}
		})
	}
}

// The catalog loads every file and reports them complete.
func TestCatalogLoadsAllLocales(t *testing.T) {
	t.Parallel()
	c, err := i18n.New(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range c.Locales() {
		if got := c.Completeness(l.Code); got != 1 {
			t.Errorf("%s messages %.2f complete", l.Code, got)
		}
		if got := c.Plural(l.Code, "duration.hours", 24, nil); got == "duration.hours" || got == "" {
			t.Errorf("%s: plural message missing", l.Code)
		}
	}
}
